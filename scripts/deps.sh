#!/bin/sh
# Installs the Debian packages ulak needs for one purpose, only those missing.
#   deps.sh run|check|bench|fuzz
# As root it runs apt-get; otherwise it prints the exact command to run.
set -u
build="meson ninja-build pkg-config gcc libc6-dev libevent-dev libssl-dev liblmdb-dev
	libpcre2-dev libunbound-dev libcrypt-dev zlib1g-dev openssl"
check="$build libcmocka-dev python3 python3-pytest python3-dnslib swaks lmdb-utils fail2ban mutt python3-spf python3-yaml publicsuffix python3-dkim opendkim opendkim-tools libmail-dkim-perl postfix python3-dnspython python3-cryptography"
bench="$build postfix dovecot-pop3d dovecot-imapd"
fuzz="$build clang libclang-rt-dev"
case "${1:-run}" in
run) want="$build publicsuffix" ;;
check) want=$check ;;
bench) want=$bench ;;
fuzz) want=$fuzz ;;
*) echo "usage: deps.sh run|check|bench|fuzz" >&2; exit 2 ;;
esac
missing=""
for p in $want; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case "$s" in *"install ok installed"*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0
cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" != 0 ]; then
	echo "ulak needs these Debian packages; run as root:" >&2
	echo "  apt-get update && $cmd" >&2
	exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# postfix asks questions at install time; answer them up front.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null
apt-get update -qq || exit 1
apt-get install -y -qq --no-install-recommends $missing || exit 1
