/*
 * libFuzzer target for the SFTP reply decoder: the input is a byte
 * stream as it would arrive from a server; every framed packet is decoded
 * and walked the way mount-remote walks it.
 */
#include <stddef.h>
#include <stdint.h>

#include "sftp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sftp_reply r;
	struct sftp_name nm;
	struct sftp_limits lim;
	struct sftp_statvfs sv;
	const unsigned char *n, *d;
	size_t off = 0, total, nl, dl;
	int rc;

	while ((rc = sftp_frame(data + off, size - off, SFTP_MAX_PACKET,
	    &total)) == 1) {
		if (sftp_parse(data + off + 4, total - 4, &r) == 0) {
			switch (r.type) {
			case SSH_FXP_NAME:
				while (sftp_name_next(&r, &nm) == 1)
					;
				break;
			case SSH_FXP_VERSION:
				while (sftp_ext_next(&r, &n, &nl, &d, &dl) == 1)
					;
				break;
			case SSH_FXP_EXTENDED_REPLY:
				(void)sftp_parse_limits(&r, &lim);
				(void)sftp_parse_statvfs(&r, &sv);
				break;
			default:
				(void)sftp_errno(r.code);
			}
		}
		off += total;
	}
	return 0;
}
