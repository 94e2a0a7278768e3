#!/usr/bin/env bash
# make install's layout: veil and veil-enclave in bin/, the production enclave images in
# the configured directory (no test image), and an installed veil finds its images there.
# usage: install.sh BUILD_DIR VEIL_ENCLAVE_INSTALL_DIR
set -u
build=$1 enclave_dir=$2
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
fails=0 passes=0
check() { if [[ $2 == "$3" ]]; then passes=$((passes + 1)); else echo "FAIL: $1 (got $3, wanted $2)"; fails=$((fails + 1)); fi; }

DESTDIR="$tmp" cmake --install "$build" >"$tmp/install.log" 2>&1; check "cmake --install" 0 $?
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
bin="$tmp$prefix/bin"
imgs="$tmp$enclave_dir"
[[ -x $bin/veil && -x $bin/veil-enclave ]]; check "veil and veil-enclave in bin/" 0 $?
[[ -f $imgs/veil_tve_enclave.signed.so && -f $imgs/veil_tqe_enclave.signed.so ]]
check "the production images in the enclave directory" 0 $?
ls "$imgs" | grep -q test; check "no test image installed" 1 $?
# The installed veil looks in the configured directory (absent here: DESTDIR) ...
"$bin/veil" version >"$tmp/v1" 2>&1
grep -q "enclave images: $enclave_dir" "$tmp/v1"; check "an installed veil looks in the configured directory" 0 $?
# ... and $VEIL_ENCLAVE_DIR points it elsewhere: the same images as the build's.
VEIL_ENCLAVE_DIR="$imgs" "$bin/veil" version --json >"$tmp/v2"; check "veil version with VEIL_ENCLAVE_DIR" 0 $?
"$build/veil" version --json >"$tmp/v3"
want=$(grep -o '"mrenclave": "[0-9a-f]*"' "$tmp/v3" | head -n 1)
[[ -n $want ]] && grep -q "$want" "$tmp/v2"; check "the installed TVE image is the build's" 0 $?
echo "$passes passed, $fails failed"
[[ $fails == 0 ]]
