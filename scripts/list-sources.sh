#!/bin/sh
# Lists source files for meson.build, relative to the project root, sorted.
#   list-sources.sh DIR        every .c file in DIR
#   list-sources.sh --daemons  every folder under src/ that is a daemon
#   list-sources.sh --tests    every tests/unit/test_*.c
#   list-sources.sh --fuzz     every tests/fuzz/fuzz_*.c
cd "$(dirname "$0")/.." || exit 1
case "$1" in
--daemons)
	for d in src/*/; do
		d=${d%/}; d=${d#src/}
		case "$d" in lib|global|ulak) continue ;; esac
		ls src/"$d"/*.c >/dev/null 2>&1 && echo "$d"
	done ;;
--tests) ls tests/unit/test_*.c 2>/dev/null | LC_ALL=C sort ;;
--fuzz) ls tests/fuzz/fuzz_*.c 2>/dev/null | LC_ALL=C sort ;;
*) ls "$1"/*.c 2>/dev/null | LC_ALL=C sort ;;
esac
exit 0
