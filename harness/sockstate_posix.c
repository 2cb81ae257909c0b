/* sockstate_posix.c -- sockstate.h where there is no Linux backend: the
 * census and the holders are reported as unavailable, never guessed. */
#include "sockstate.h"

#include <errno.h>

int pc_sockstate_census(int port, struct pc_census *out)
{
	(void)port;
	out->known = false;
	return -ENOSYS;
}

int pc_sockstate_listeners(int port, struct pc_holder *out, int max, int *n, bool *incomplete)
{
	(void)port, (void)out, (void)max;
	*n = 0;
	*incomplete = true;
	return -ENOSYS;
}

const char *pc_sockstate_backend(void)
{
	return "none";
}
