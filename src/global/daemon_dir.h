/*
 * daemon_dir - where the daemon executables (master, smtpd, ...) live.
 *
 * The one lookup shared by `ulak start` and by master when it starts the
 * other daemons, so that an installed tree and a meson build folder both
 * work without any setting:
 *
 *   1. daemon_directory, when main.cf sets it;
 *   2. <folder of the running executable>/../libexec/ulak, when it holds
 *      the probe executable ("master"): the installed layout
 *      (PREFIX/bin/ulak, PREFIX/libexec/ulak/master);
 *   3. the executable's own folder, when it holds the probe: the meson
 *      build folder puts every executable side by side.
 */
#ifndef ULAK_DAEMON_DIR_H
#define ULAK_DAEMON_DIR_H

struct buf;

/* The executable every daemon folder holds; used as the probe. */
#define DAEMON_DIR_PROBE "master"

/*
 * Put the daemon folder into OUT (its contents are replaced).  CONFIGURED
 * is the expanded daemon_directory value, or NULL/"" when main.cf does not
 * set it; when given it is returned as is.  When neither candidate holds
 * the probe, OUT gets the most likely one (the libexec folder when the
 * executable sits in a "bin" folder, else its own folder) and 0 is still
 * returned: the caller decides whether a missing daemon is an error.
 * -1 with *error_r only when the running executable cannot be found
 * (/proc not mounted).  Never exits.
 */
int daemon_dir_find(const char *configured, struct buf *out,
    const char **error_r);

/* As daemon_dir_find, with the executable's path given (for tests). */
int daemon_dir_find_from(const char *exe_path, const char *configured,
    struct buf *out, const char **error_r);

#endif
