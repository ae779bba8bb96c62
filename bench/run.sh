#!/bin/sh
# make bench: ulak beside the reference peers, on loopback only.
cd "$(dirname "$0")/.." || exit 1
exec /usr/bin/python3 bench/bench.py --build "$(pwd)/build" "$@"
