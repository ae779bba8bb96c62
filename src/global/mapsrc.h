/*
 * mapsrc - reader of the text format shared by Postfix table sources
 * (postmap(1): "key value"), aliases(5) and regexp_table(5):
 *
 *   - a line whose first non-blank character is '#' is a comment;
 *   - lines holding only white space are ignored;
 *   - a line starting with white space (space or tab) continues the
 *     previous logical line: the newline is dropped, the continuation's
 *     leading white space kept, so words stay separated;
 *   - trailing white space (also a CR of CRLF files) is removed;
 *   - a NUL byte, a continuation with no line before it, or a logical line
 *     over MAPSRC_LINE_MAX bytes is an error.
 *
 * "key value" entries: the key is everything up to the first white space
 * (no quoting, as in Postfix), the value the rest with surrounding white
 * space removed; a line without a value is an error.
 *
 * Errors read "NAME, line N: text" (N: where the logical line starts).
 * Sources are streamed: a file of any size is read a line at a time.
 * The input is distrusted: it may be any bytes.
 */
#ifndef ULAK_MAPSRC_H
#define ULAK_MAPSRC_H

#include <stddef.h>

#define MAPSRC_LINE_MAX (64U * 1024 * 1024)

struct mapsrc;

/* Open the file PATH.  NULL with *error_r when it cannot be opened. */
struct mapsrc *mapsrc_open(const char *path, const char **error_r);
/*
 * Read from memory: TEXT[0..LEN) (may hold any bytes; not copied, must
 * outlive the reader).  NAME is used in error texts.  Never fails.
 */
struct mapsrc *mapsrc_open_text(const char *name, const char *text,
    size_t len);
/* The file name or NAME the reader was opened with. */
const char *mapsrc_name(const struct mapsrc *src);
/*
 * Next logical line: 1 with *line_r (NUL-terminated, owned by SRC, valid
 * until the next read), its length and the line number where it starts;
 * 0 at the end; -1 with *error_r on a read or syntax error.
 */
int mapsrc_read_line(struct mapsrc *src, char **line_r, size_t *len_r,
    unsigned long *lineno_r, const char **error_r);
/*
 * Next "key value" entry: 1 with *key_r and *value_r (owned by SRC, valid
 * until the next read; the key is not case-folded), 0 at the end, -1 with
 * *error_r ("NAME, line N: expected format: key whitespace value").
 */
int mapsrc_read_entry(struct mapsrc *src, char **key_r, char **value_r,
    unsigned long *lineno_r, const char **error_r);
/* Close the reader (and its file).  NULL is allowed. */
void mapsrc_close(struct mapsrc *src);

#endif
