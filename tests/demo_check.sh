#!/usr/bin/env bash
# make demo's story, as a newcomer reads it: the scenario completes across key
# rotations, the output names the devnet's home and port, says when that home is
# removed, and ends with what to do next. usage: demo_check.sh SOURCE_DIR BUILD_DIR
set -u
src=$1 build=$2
out=$(mktemp) && trap 'rm -f "$out"' EXIT
"$src/scripts/demo" "$build" >"$out" 2>&1
rc=$?
fails=0
need() { grep -q -- "$1" "$out" || { echo "FAIL: the demo's output lacks: $1"; fails=1; }; }
[[ $rc == 0 ]] || { echo "FAIL: the demo exited $rc"; tail -n 30 "$out"; exit 1; }
need "demo: devnet home .*RPC on 127.0.0.1:"
need "demo finished: every step committed"
# The key rotated during the scenario, and the epoch-0 key was destroyed.
need "drew the key of epoch 1 "
need "destroyed the key of epoch 0 "
need "What next:"
need "demo: removed "
[[ $fails == 0 ]] && echo "demo: story complete"
exit $fails
