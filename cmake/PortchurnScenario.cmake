# PortchurnScenario.cmake -- every case of a portchurn scenario as a CTest test.
#
#   include(PortchurnScenario)
#   portchurn_add_scenario(FILE
#       [PREFIX name]            test names "<name>: <case>" (default: FILE's name, no .ini)
#       [NETNS auto|on|off]      portchurn run --netns (default auto)
#       [CYCLES n]               override the scenario's cycles
#       [TIMEOUT seconds]        per case (default 300)
#       [LABELS label ...]       more labels for every case
#       [PORTCHURN target|path]  the portchurn to run (default: the portchurn target,
#                                else portchurn on PATH)
#       [ARGS arg ...])          more arguments for portchurn run
#
# The cases are only known once portchurn exists (it expands the matrix), so,
# as gtest_discover_tests does, a build step runs `portchurn list FILE` and
# writes a CTest script that a TEST_INCLUDE_FILES entry reads when ctest
# runs; until then a "<name>_NOT_BUILT" test fails and says so. The step
# runs again when portchurn or FILE changes.
#
# Each case runs `portchurn run FILE --case <its name> --out <dir>` with
# chart scripts but no gnuplot rendering (a test stays fast); its reports go
# to <build>/portchurn-tests/<name>/<n>/. Labels: "portchurn", the name, and
# each key=value of the case's name ("old=none", "signal=KILL"), so
# `ctest -L signal=KILL` picks cases. Cases may run in parallel (ctest -j):
# every run takes a private network namespace where the machine allows it,
# with ports and TIME_WAIT of its own. A scenario with a fixed port gets
# RESOURCE_LOCK portchurn_port_<port>, unless NETNS is on (then every run is
# in its own namespace, and the port is free in each).

cmake_minimum_required(VERSION 3.18)

set(_PORTCHURN_SCENARIO_MODULE "${CMAKE_CURRENT_LIST_FILE}")

# ---- build-time discovery (this file run with cmake -P) ----

# The fixed port of a scenario file, or 0: "port = N" in its [scenario]
# section (port cannot be in [matrix]).
function(_portchurn_fixed_port file out)
  file(STRINGS "${file}" lines)
  set(section "")
  set(port 0)
  foreach(line IN LISTS lines)
    if(line MATCHES "^[ \t]*\\[([^]]*)\\]")
      string(STRIP "${CMAKE_MATCH_1}" section)
    elseif(section STREQUAL "scenario" AND line MATCHES "^[ \t]*port[ \t]*[=:][ \t]*([0-9]+)")
      set(port "${CMAKE_MATCH_1}")
    endif()
  endforeach()
  set(${out} "${port}" PARENT_SCOPE)
endfunction()

function(_portchurn_discover)
  execute_process(COMMAND "${PORTCHURN}" list "${SCENARIO}"
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "portchurn list ${SCENARIO} failed (${rc}): ${err}")
  endif()
  _portchurn_fixed_port("${SCENARIO}" port)
  string(REPLACE "\n" ";" names "${out}")
  set(script "# Written by PortchurnScenario.cmake from `portchurn list ${SCENARIO}`.\n")
  set(n 0)
  foreach(name IN LISTS names)
    if(name STREQUAL "")
      continue()
    endif()
    if(name MATCHES "\\]==\\]")
      message(FATAL_ERROR "case name cannot be quoted for CTest: ${name}")
    endif()
    math(EXPR n "${n} + 1")
    # --case takes a shell pattern: the name's own * ? [ \ are escaped.
    string(REGEX REPLACE "([][*?\\\\])" "\\\\\\1" glob "${name}")
    string(REPLACE " " ";" labels "portchurn;${PREFIX};${LABELS};${name}")
    list(REMOVE_ITEM labels "")
    set(test "${PREFIX}: ${name}")
    string(APPEND script
      "add_test([==[${test}]==] [==[${PORTCHURN}]==] run [==[${SCENARIO}]==] --case [==[${glob}]==]"
      " --out [==[${OUTDIR}/${n}]==] --quiet --charts scripts --netns ${NETNS} ${ARGS})\n"
      "set_tests_properties([==[${test}]==] PROPERTIES LABELS [==[${labels}]==]"
      " TIMEOUT ${TIMEOUT} WORKING_DIRECTORY [==[${WORKDIR}]==]")
    if(NOT port EQUAL 0 AND NOT NETNS STREQUAL "on")
      string(APPEND script " RESOURCE_LOCK portchurn_port_${port}")
    endif()
    string(APPEND script ")\n")
  endforeach()
  if(n EQUAL 0)
    message(FATAL_ERROR "portchurn list ${SCENARIO} listed no case")
  endif()
  file(WRITE "${OUT}.tmp" "${script}")
  file(RENAME "${OUT}.tmp" "${OUT}")
endfunction()

if(CMAKE_SCRIPT_MODE_FILE AND _PORTCHURN_DISCOVER)
  _portchurn_discover()
  return()
endif()

# ---- configure time ----

function(portchurn_add_scenario file)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "PREFIX;NETNS;CYCLES;TIMEOUT;PORTCHURN"
                        "LABELS;ARGS")
  get_filename_component(scenario "${file}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  if(NOT EXISTS "${scenario}")
    message(FATAL_ERROR "portchurn_add_scenario: ${scenario} does not exist")
  endif()
  get_filename_component(stem "${scenario}" NAME_WE)
  if(NOT ARG_PREFIX)
    set(ARG_PREFIX "${stem}")
  endif()
  if(NOT ARG_NETNS)
    set(ARG_NETNS auto)
  endif()
  if(NOT ARG_NETNS MATCHES "^(auto|on|off)$")
    message(FATAL_ERROR "portchurn_add_scenario: NETNS is auto, on or off, not ${ARG_NETNS}")
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  if(ARG_CYCLES)
    list(APPEND ARG_ARGS --cycles ${ARG_CYCLES})
  endif()
  if(NOT ARG_PORTCHURN)
    set(ARG_PORTCHURN portchurn)
  endif()
  if(TARGET ${ARG_PORTCHURN})
    set(exe "$<TARGET_FILE:${ARG_PORTCHURN}>")
    set(depends ${ARG_PORTCHURN})
  else()
    find_program(_portchurn_exe NAMES ${ARG_PORTCHURN} REQUIRED)
    set(exe "${_portchurn_exe}")
    set(depends "${_portchurn_exe}")
  endif()

  string(MAKE_C_IDENTIFIER "${ARG_PREFIX}" id)
  set(tests "${CMAKE_CURRENT_BINARY_DIR}/portchurn_${id}_tests.cmake")
  set(include "${CMAKE_CURRENT_BINARY_DIR}/portchurn_${id}_include.cmake")
  string(REPLACE ";" " " args "${ARG_ARGS}")
  add_custom_command(
    OUTPUT "${tests}"
    COMMAND "${CMAKE_COMMAND}" -D_PORTCHURN_DISCOVER=1 "-DPORTCHURN=${exe}"
            "-DSCENARIO=${scenario}" "-DPREFIX=${ARG_PREFIX}" "-DNETNS=${ARG_NETNS}"
            "-DTIMEOUT=${ARG_TIMEOUT}" "-DLABELS=${ARG_LABELS}" "-DARGS=${args}"
            "-DOUTDIR=${CMAKE_CURRENT_BINARY_DIR}/portchurn-tests/${id}"
            "-DWORKDIR=${CMAKE_CURRENT_BINARY_DIR}" "-DOUT=${tests}"
            -P "${_PORTCHURN_SCENARIO_MODULE}"
    DEPENDS ${depends} "${scenario}" "${_PORTCHURN_SCENARIO_MODULE}"
    COMMENT "Listing the cases of ${file} for CTest"
    VERBATIM)
  add_custom_target(portchurn_scenario_${id} ALL DEPENDS "${tests}")
  file(WRITE "${include}"
    "if(EXISTS [==[${tests}]==])\n"
    "  include([==[${tests}]==])\n"
    "else()\n"
    "  add_test([==[${ARG_PREFIX}_NOT_BUILT]==] [==[${ARG_PREFIX}_NOT_BUILT]==])\n"
    "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${include}")
endfunction()
