/*
 * cfline - the line structure main.cf and master.cf share (the Postfix
 * convention): blank lines and lines whose first non-space byte is "#"
 * are skipped, a line that starts with white space continues the logical
 * line before it, and white space around each line does not count.
 *
 * The text is a file an administrator wrote, distrusted only as far as
 * this goes: a NUL byte in a line is an error, never read as an end.
 * What a logical line means is left to config.c and mastercf.c.
 */
#ifndef ULAK_CFLINE_H
#define ULAK_CFLINE_H

#include <stdbool.h>
#include <stddef.h>

/* A reader over TEXT[0..LEN); the text must outlive it. */
struct cfline_reader {
	const char *text;
	size_t len;
	size_t pos;
	const char *filename;	/* for error texts */
	int line;		/* number of the last line read, 1-based */
};

/* One line that counts. */
struct cfline {
	const char *s;		/* the trimmed line (not NUL-terminated) */
	size_t len;		/* > 0 */
	int line;		/* its number in the file */
	bool continuation;	/* began with white space */
};

/* The white space of these files: SP, HT, CR, FF, VT. */
bool cfline_space(char c);

/*
 * S[0..N) quoted for an error text: at most 60 bytes, escaped as log
 * lines escape, in double quotes, "..." when cut.  The text lives in
 * err_fmt's storage (see err.h).
 */
const char *cfline_quote(const char *s, size_t n);

/* Start reading TEXT[0..LEN), naming FILENAME in errors. */
void cfline_init(struct cfline_reader *r, const char *text, size_t len,
    const char *filename);

/*
 * The next line that is neither blank nor a comment into *OUT: 1, or 0
 * at the end of the text, or -1 with *error_r ("FILE, line N: NUL byte in
 * line").
 */
int cfline_next(struct cfline_reader *r, struct cfline *out,
    const char **error_r);

#endif
