#!/bin/sh
# Creates the unprivileged system user the daemons run as (mail_owner,
# default "ulak") when it is missing.  Needs root; does nothing otherwise.
user=${1:-ulak}
[ "$(id -u)" = 0 ] || exit 0
id "$user" >/dev/null 2>&1 && exit 0
useradd --system --no-create-home --home-dir /nonexistent \
	--shell /usr/sbin/nologin --user-group "$user" && echo "created system user $user"
