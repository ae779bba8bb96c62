/*
 * libFuzzer target: the queue file reader on arbitrary bytes.  The input
 * is put in a memfd so the real code path (read, fstat, pread) runs; every
 * accepted file is walked completely (fields, recipients, content).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "file.h"
#include "queue_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct queue_file *qf;
	const char *err;
	char chunk[97];
	uint64_t off = 0;
	int copy;

	if (fd < 0)
		fd = memfd_create("fuzz_queue_file", 0);
	if (fd < 0 || ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0 ||
	    file_write_full(fd, data, size) < 0)
		return 0;
	/* queue_file_open_fd takes the descriptor over; give it a copy. */
	copy = dup(fd);
	if (copy < 0)
		return 0;
	qf = queue_file_open_fd(copy, "incoming/1GA4GC208J03NQK8N", true, &err);
	if (qf == NULL)
		return 0;
	for (int f = 0; f < QUEUE_FIELD_COUNT; f++) {
		const char *v = queue_file_get(qf, (enum queue_field)f);

		if (v != NULL)
			(void)strlen(v);
	}
	for (size_t i = 0; i < queue_file_rcpt_count(qf); i++) {
		const struct queue_rcpt *r = queue_file_rcpt(qf, i);

		(void)strlen(r->address);
		(void)queue_notify_str(r->notify);
	}
	if (queue_file_rcpt_count(qf) > 0)
		(void)queue_file_set_mark(qf, 0, QUEUE_RCPT_DELIVERED, &err);
	for (;;) {
		size_t got;

		if (queue_file_read_content(qf, off, chunk, sizeof(chunk), &got,
		    &err) < 0 || got == 0)
			break;
		off += got;
	}
	if (off != queue_file_content_length(qf))
		__builtin_trap();
	queue_file_close(qf);
	return 0;
}
