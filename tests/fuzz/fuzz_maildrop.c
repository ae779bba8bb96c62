/*
 * libFuzzer target for the maildrop envelope reader (src/global/maildrop.c):
 * pickup reads files any local user wrote.  The input is put in a memfd
 * and read as pickup reads a maildrop file; a file accepted must have a
 * sender, at least one recipient and a content offset inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "attr.h"
#include "file.h"
#include "maildrop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct maildrop_env env;
	const char *error;
	int fd = memfd_create("maildrop", 0);

	if (fd < 0)
		abort();
	if (file_write_full(fd, data, size) < 0 || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	memset(&env, 0, sizeof(env));
	attr_list_init(&env.attrs);
	if (maildrop_read_envelope(fd, &env, &error) == 0) {
		if (env.sender == NULL || env.n_rcpts == 0 ||
		    env.content_offset > size)
			abort();
	} else if (error == NULL) {
		abort();
	}
	attr_list_release(&env.attrs);
	close(fd);
	return 0;
}
