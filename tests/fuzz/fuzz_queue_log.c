/*
 * libFuzzer target: the reader of bounce/ID and defer/ID logs
 * (queue_log_read) on arbitrary bytes, through a memfd so that the real
 * file path runs; every entry read is walked.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "file.h"
#include "queue_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct queue_log log;
	const char *err;
	size_t total = 0;

	if (fd < 0) {
		fd = memfd_create("fuzz_queue_log", 0);
		if (fd < 0)
			return 0;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0 ||
	    file_write_full(fd, data, size) < 0)
		return 0;
	if (queue_log_read(path, &log, NULL, &err) == 0) {
		for (size_t i = 0; i < log.n; i++)
			total += strlen(log.v[i].address) +
			    strlen(log.v[i].action) + strlen(log.v[i].dsn) +
			    strlen(log.v[i].reason) + log.v[i].rcpt;
		if (log.n > 0 && queue_log_last(&log, log.v[0].rcpt) == NULL)
			__builtin_trap();
	}
	queue_log_release(&log);
	(void)total;
	return 0;
}
