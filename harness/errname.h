/* errname.h -- errno values by their symbolic names ("EADDRINUSE"), for
 * records and reports that must read the same on every platform. libc only. */
#ifndef PC_ERRNAME_H
#define PC_ERRNAME_H

/* "EADDRINUSE" for EADDRINUSE, "0" for 0, "E<number>" when unknown. The
 * returned pointer is static for known values, else a thread-local buffer. */
const char *pc_errno_name(int err);
/* The same for known values only, else NULL: no formatting, no buffer, so
 * it is async-signal-safe (the preload probe names errno in its hooks). */
const char *pc_errno_known(int err);
/* The inverse: "EADDRINUSE" (any case) -> EADDRINUSE, "0" -> 0, -1 if unknown. */
int pc_errno_parse(const char *name);

#endif
