#!/bin/sh
# Runs every unit test (cmocka) and integration test (pytest) against the
# build in BUILD_DIR and ends with one line: "N passed, N failed".
set -u
build=${1:-build-check}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
build=$(cd "$build" && pwd) || exit 1
export ULAK_BUILD_DIR="$build" ULAK_SOURCE_DIR="$top"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
passed=0 failed=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

for src in $(sh scripts/list-sources.sh --tests); do
	name=$(basename "$src" .c)
	exe="$build/$name"
	if [ ! -x "$exe" ]; then
		echo "MISSING $name (not built)"; failed=$((failed + 1)); continue
	fi
	"$exe" >"$log/$name.out" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log/$name.out" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log/$name.out" | tail -1)
	p=${p:-0} f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi  # crashed or sanitizer abort
	passed=$((passed + p)) failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		echo "FAIL unit $name"; cat "$log/$name.out"
	else
		echo "ok   unit $name ($p)"
	fi
done

if ls tests/integration/test_*.py >/dev/null 2>&1; then
	/usr/bin/python3 -m pytest -q -rfE -p no:cacheprovider \
		--junitxml="$log/pytest.xml" tests/integration
	rc=$?
	if [ -f "$log/pytest.xml" ]; then
		set -- $(/usr/bin/python3 - "$log/pytest.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
suites = [r] if r.tag == 'testsuite' else list(r)
t = sum(int(s.get('tests', 0)) for s in suites)
f = sum(int(s.get('failures', 0)) + int(s.get('errors', 0)) for s in suites)
sk = sum(int(s.get('skipped', 0)) for s in suites)
print(t - f - sk, f)
PY
		)
		passed=$((passed + $1)) failed=$((failed + $2))
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ] && [ "$2" -eq 0 ]; then failed=$((failed + 1)); fi
	elif [ "$rc" -ne 5 ]; then
		failed=$((failed + 1))
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
