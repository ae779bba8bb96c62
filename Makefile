# ulak — top-level wrapper around Meson/Ninja.  The two set-up commands are
# `make run` and `make check`; see README.md.

PREFIX ?= /usr/local
comma := ,
FUZZ_SECONDS ?= 60
SOURCES_STAMP = find src tests/unit tests/fuzz -name '*.c' 2>/dev/null | LC_ALL=C sort | md5sum

# setup DIR, meson options...: (re)configure when missing or when the set of
# source files changed (meson.build collects sources per folder).
define meson_setup
	@list=$$($(SOURCES_STAMP)); \
	if [ ! -f $(1)/build.ninja ]; then \
		meson setup $(1) $(2) || exit 1; echo "$$list" > $(1)/.sources; \
	elif [ "$$(cat $(1)/.sources 2>/dev/null)" != "$$list" ]; then \
		meson setup --reconfigure $(1) $(2) || exit 1; echo "$$list" > $(1)/.sources; \
	fi
endef

.PHONY: all build run check deps deps-check install bench fuzz format clean

all: build

build:
	$(call meson_setup,build,--buildtype=release -Dwerror=true -Db_pie=true)
	ninja -C build

deps:
	@sh scripts/deps.sh run
	@sh scripts/mkuser.sh ulak

deps-check:
	@sh scripts/deps.sh check
	@sh scripts/mkuser.sh ulak

run: deps build
	@if [ ! -d run ]; then ./build/ulak init ./run || exit 1; fi
	./build/ulak -c ./run start -f

check: deps-check build
	$(call meson_setup,build-check,--buildtype=debug -Dwerror=true -Db_sanitize=address$(comma)undefined -Db_lundef=false)
	ninja -C build-check
	@sh tests/run-all.sh build-check

install: build
	@case "$(PREFIX)" in /*) ;; *) echo "PREFIX must be an absolute path" >&2; exit 1 ;; esac
	meson setup --reconfigure build-install --buildtype=release -Dwerror=true --prefix="$(PREFIX)" >/dev/null 2>&1 || \
		meson setup build-install --buildtype=release -Dwerror=true --prefix="$(PREFIX)"
	ninja -C build-install install
	@sh scripts/mkuser.sh ulak
	ln -sf ulak "$(PREFIX)/bin/sendmail"
	ln -sf ulak "$(PREFIX)/bin/mailq"
	ln -sf ulak "$(PREFIX)/bin/newaliases"

bench: build
	@sh scripts/deps.sh bench
	@sh bench/run.sh

fuzz:
	@sh scripts/deps.sh fuzz
	$(call meson_setup,build-fuzz,--buildtype=debug -Dfuzz=true -Db_sanitize=address$(comma)undefined -Db_lundef=false --native-file scripts/clang.ini)
	ninja -C build-fuzz $$(sh scripts/list-sources.sh --fuzz | sed 's,.*/,,; s,\.c$$,,')
	@sh tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

format:
	clang-format -i $$(find src tests -name '*.[ch]')

clean:
	rm -rf build build-check build-fuzz build-install
