/*
 * Exit codes shared by every tool (skarnet convention).  Each man page
 * lists them under EXIT STATUS; the tests assert them.
 */
#ifndef EXITCODE_H
#define EXITCODE_H

#define EXIT_OK		0	/* everything done */
#define EXIT_PARTIAL	1	/* done, but some entries failed; each reported */
#define EXIT_USAGE	100	/* usage, bad operands, unknown or incompatible repository */
#define EXIT_PERM	100	/* permanent error: same code as usage */
#define EXIT_TEMP	111	/* temporary or system failure: I/O, network, ENOMEM, lock */

#endif
