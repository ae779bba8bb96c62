#!/bin/sh
# Writes docs/ulak.md, the reference of the ulak command, from the help
# texts compiled into it, so that the page and `ulak help` never differ
# (tests/integration/test_help.py checks that they do not).
#   sh scripts/ulak-doc.sh BUILD_DIR > docs/ulak.md
set -eu
ulak=${1:-build}/ulak
[ -x "$ulak" ] || { echo "usage: $0 BUILD_DIR (no $ulak)" >&2; exit 2; }
cmds="init conf map aliases check start stop reload status queue sendmail passwd dkim spf dmarc"

cat <<'MD'
# The `ulak` command

`ulak` is the one command an administrator of ulak needs. It writes a new
instance (`init`), shows and edits `main.cf` (`conf`, as `postconf`),
builds and queries lookup tables (`map`, as `postmap`; `aliases`, as
`postalias`/`newaliases`), checks an instance (`check`) and starts, stops
and watches its daemons (`start`, `stop`, `reload`, `status`).

This page holds the same text as `ulak help COMMAND` (it is generated from
it by `scripts/ulak-doc.sh`), after an overview.

## Overview

### A first instance

```
ulak init ./run                      # writes ./run, prints the demo password
ulak -c ./run check                  # silent when all is well
ulak -c ./run start -f               # runs in the foreground, logs to stderr
```

`ulak init` writes everything inside the one folder: `main.cf`,
`master.cf`, `aliases` (+ `aliases.db`), `users` (the mail users, in
passwd(5) layout with yescrypt hashes), `home/USER/Maildir/`, `queue/`,
`log/`, `data/` and `tls/` (a self-signed certificate for `mail.DOMAIN`).
Its listeners are on 127.0.0.1 at BASE + the usual port (BASE 2000 by
default: SMTP 2025, submission 2587, submissions 2465, POP3 2110, IMAP
2143, POP3S 2995, IMAPS 2993). The folder can be moved only by running
`ulak init` again, as every path in it is absolute.

### Which instance a command works on

Every command but `init` works on the instance folder named by `-c DIR`
(before or after the command name: `ulak -c ./run check` and `ulak check
-c ./run` are the same), else by the environment variable
`ULAK_CONFIG_DIR`, else `/etc/ulak`.

### Messages and exit statuses

Messages go to stderr as `ulak COMMAND: text`; warnings read `ulak
COMMAND: warning: text`. A problem in a file names the file and line
(`/etc/ulak/main.cf, line 12: ...`). Exit status 0 means success, 1
failure, 2 a usage error (a bad option or argument). Queries (`map -q`,
`aliases -q`) exit 1 when the key is not found and 2 when the table cannot
be read. `status` exits 1 when the system is not running.

### Where the daemons are

`ulak start` runs the `master` daemon from the first of: the folder
`daemon_directory` names when `main.cf` sets it; `../libexec/ulak` next to
the `ulak` executable (an installed tree: `PREFIX/bin/ulak`,
`PREFIX/libexec/ulak/master`); the folder of the `ulak` executable itself
(a Meson build folder, where every executable sits side by side). Master
uses the same lookup (`src/global/daemon_dir.h`) for the other daemons.
`ulak start` refuses when `$queue_directory/pid/master.pid` names a live
process; `stop` sends it SIGTERM and waits until it is gone, `reload`
sends SIGHUP.

### sendmail, mailq, newaliases

When `ulak` is called by the name `sendmail`, `mailq` or `newaliases`
(`make install` makes these links), it runs `ulak sendmail`, `ulak queue`
or `ulak aliases`. `sendmail` writes into `maildrop/` for pickup
(docs/sendmail.md). `queue` lists and manages the queue while the system
runs (docs/qmgr.md).

## ulak

```
MD
"$ulak" --help
echo '```'
for c in $cmds; do
	echo
	echo "## ulak $c"
	echo
	echo '```'
	"$ulak" help "$c"
	echo '```'
done
