#!/bin/sh
# Runs every libFuzzer target built in BUILD_DIR for SECONDS each, starting
# from its committed seed corpus (tests/fuzz/corpus/<target>/).  New inputs
# go to a scratch folder, so the committed corpus stays small.  A crash
# leaves its input in tests/fuzz/artifacts/ and fails the run.
set -u
build=${1:-build-fuzz}
secs=${2:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
mkdir -p tests/fuzz/artifacts
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export ASAN_OPTIONS="detect_leaks=1"
fail=0 n=0
for src in $(sh scripts/list-sources.sh --fuzz); do
	name=$(basename "$src" .c)
	exe="$build/$name"
	[ -x "$exe" ] || { echo "fuzz: $name not built" >&2; fail=1; continue; }
	mkdir -p "$scratch/$name"
	[ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$scratch/$name/"
	echo "fuzz: $name for ${secs}s"
	if ! "$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix="tests/fuzz/artifacts/$name-" "$scratch/$name" \
	    >"$scratch/$name.log" 2>&1; then
		echo "fuzz: $name FAILED"; tail -40 "$scratch/$name.log"; fail=1
	else
		tail -1 "$scratch/$name.log"
	fi
	n=$((n + 1))
done
echo "fuzz: $n targets, $([ $fail = 0 ] && echo 'no crash' || echo 'FAILURES')"
exit $fail
