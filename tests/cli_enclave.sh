#!/usr/bin/env bash
# `veil enclave` end to end: keygen, sign, info, verify, and their refusals.
# usage: cli_enclave.sh VEIL ENCLAVE_DIR
set -u
veil=$1 enclaves=$2
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
fails=0 passes=0
check() { # check "what" expected_rc actual_rc
  if [[ $2 == "$3" ]]; then passes=$((passes + 1)); else echo "FAIL: $1 (exit $3, wanted $2)"; fails=$((fails + 1)); fi
}
contains() { # contains "what" file pattern
  if grep -q -- "$3" "$2"; then passes=$((passes + 1)); else echo "FAIL: $1: '$3' not in: $(cat "$2")"; fails=$((fails + 1)); fi
}

"$veil" enclave keygen --out "$tmp/k" >"$tmp/out" 2>&1; check "keygen" 0 $?
mrsigner=$(awk '/^mrsigner/ {print $2}' "$tmp/out")
[[ ${#mrsigner} == 64 ]]; check "keygen prints mrsigner" 0 $?
[[ $(stat -c %a "$tmp/k") == 600 ]]; check "signer key is 0600" 0 $?
"$veil" enclave keygen --out "$tmp/k" 2>"$tmp/err"; check "keygen refuses to overwrite" 1 $?
contains "overwrite message" "$tmp/err" "exists"

"$veil" enclave sign --key "$tmp/k" --prodid 3 --svn 4 --debug "$enclaves/test_enclave.so" --out "$tmp/s.so"
check "sign" 0 $?
"$veil" enclave info "$tmp/s.so" >"$tmp/info"; check "info" 0 $?
contains "info prodid" "$tmp/info" "^prodid *3$"
contains "info svn" "$tmp/info" "^svn *4$"
contains "info debug" "$tmp/info" "^debug *yes$"
contains "info mrsigner = keygen's" "$tmp/info" "^mrsigner *$mrsigner$"
"$veil" enclave info --json "$tmp/s.so" >"$tmp/json"; check "info --json" 0 $?
contains "json fields" "$tmp/json" "\"prodid\":3,\"svn\":4,\"debug\":true}"
contains "json mrsigner" "$tmp/json" "\"mrsigner\":\"$mrsigner\""
"$veil" enclave verify "$tmp/s.so" >/dev/null; check "verify good image" 0 $?

# Tampering: one byte of the image, one byte of the signature structure.
cp "$tmp/s.so" "$tmp/t.so"
printf '\x42' | dd of="$tmp/t.so" bs=1 seek=4096 conv=notrunc status=none
"$veil" enclave verify "$tmp/t.so" 2>"$tmp/err"; check "verify tampered image" 1 $?
contains "tamper message" "$tmp/err" "measurement does not match"
cp "$tmp/s.so" "$tmp/t2.so"
size=$(stat -c %s "$tmp/t2.so")
printf '\x09' | dd of="$tmp/t2.so" bs=1 seek=$((size - 256 + 59)) conv=notrunc status=none
"$veil" enclave verify "$tmp/t2.so" 2>"$tmp/err"; check "verify altered SVN" 1 $?
contains "signature message" "$tmp/err" "not validly signed"
"$veil" enclave verify "$enclaves/test_enclave.so" 2>"$tmp/err"; check "verify unsigned" 1 $?
contains "unsigned message" "$tmp/err" "not a signed Veil enclave"
"$veil" enclave verify "$tmp/nonexistent" 2>"$tmp/err"; check "verify missing file" 1 $?
contains "missing message" "$tmp/err" "not found"

# Usage errors and refusals.
"$veil" enclave sign --key "$tmp/k" --prodid 3 "$enclaves/test_enclave.so" --out "$tmp/x" 2>/dev/null
check "sign without --svn" 2 $?
"$veil" enclave sign --key "$tmp/k" --prodid 70000 --svn 1 "$enclaves/test_enclave.so" --out "$tmp/x" 2>/dev/null
check "sign with prodid out of range" 2 $?
"$veil" enclave sign --key "$tmp/k" --prodid 1 --svn 1 "$tmp/s.so" --out "$tmp/x" 2>"$tmp/err"
check "sign an already signed image" 1 $?
chmod 644 "$tmp/k"
"$veil" enclave sign --key "$tmp/k" --prodid 1 --svn 1 "$enclaves/test_enclave.so" --out "$tmp/x" 2>"$tmp/err"
check "sign with a world-readable key" 1 $?
contains "permission message" "$tmp/err" "chmod 600"
# Only enclave images are signed, and nothing is overwritten without --force.
chmod 600 "$tmp/k"
"$veil" enclave sign --key "$tmp/k" --prodid 1 --svn 1 /etc/passwd --out "$tmp/p" 2>"$tmp/err"
check "sign a file that is not an enclave image" 1 $?
contains "not-an-image message" "$tmp/err" "not an enclave image"
[[ ! -e $tmp/p ]]; check "nothing written for it" 0 $?
cp "$tmp/s.so" "$tmp/keep.so"
"$veil" enclave sign --key "$tmp/k" --prodid 3 --svn 5 "$enclaves/test_enclave.so" --out "$tmp/s.so" 2>"$tmp/err"
check "sign over an existing --out" 1 $?
contains "exists message" "$tmp/err" "force"
cmp -s "$tmp/s.so" "$tmp/keep.so"; check "the existing file is unchanged" 0 $?
"$veil" enclave sign --key "$tmp/k" --prodid 3 --svn 5 "$enclaves/test_enclave.so" --out "$tmp/s.so" --force
check "sign --force replaces it" 0 $?

# Platforms are created by 'platform init' only: a mistyped --platform is refused, not made.
"$veil" tve --listen "ipc://$tmp/t.sock" --home "$tmp/tve" --platform "$tmp/no-such-platform" 2>"$tmp/err"
check "tve with a mistyped platform directory" 1 $?
contains "mistyped platform message" "$tmp/err" "not a platform directory"
[[ ! -e $tmp/no-such-platform ]]; check "no platform was created" 0 $?
"$veil" platform init --dir "$tmp/plat" --root-ca-dir "$tmp/root" >/dev/null; check "platform init" 0 $?
"$veil" platform init --dir "$tmp/plat" --root-ca-dir "$tmp/root" >"$tmp/out"; check "platform init again" 0 $?
contains "nothing changed" "$tmp/out" "already provisioned"
rm "$tmp/plat/root_secret"
"$veil" platform init --dir "$tmp/plat" --root-ca-dir "$tmp/root" >/dev/null 2>"$tmp/err"
check "platform init after its root secret was lost" 1 $?
contains "lost root secret message" "$tmp/err" "cannot be recovered"

# Operators' basics: a pid file once serving (gone after a stop), log lines with a UTC
# time and a level, and `veil version`.
"$veil" platform init --dir "$tmp/plat2" --root-ca-dir "$tmp/root2" >/dev/null
"$veil" tve --listen "ipc://$tmp/op.sock" --home "$tmp/op-tve" --platform "$tmp/plat2" \
  --pid-file "$tmp/tve.pid" --log-level info --metrics 127.0.0.1:0 >/dev/null 2>"$tmp/tve.err" &
tpid=$!
for _ in $(seq 1 100); do [[ -s $tmp/tve.pid ]] && break; kill -0 $tpid 2>/dev/null || break; sleep 0.1; done
[[ $(cat "$tmp/tve.pid" 2>/dev/null) == "$tpid" ]]; check "--pid-file holds the daemon's pid" 0 $?
murl=$(grep -o 'metrics on http://[0-9.:]*/metrics' "$tmp/tve.err" | cut -d' ' -f3)
python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
  "$murl" >"$tmp/metrics" 2>&1
check "GET /metrics answers ($murl)" 0 $?
grep -q '^# TYPE veil_tve_requests_total counter$' "$tmp/metrics" &&
  grep -Eq '^veil_tve_store_bytes [1-9][0-9]*$' "$tmp/metrics" &&
  grep -Eq '^veil_tve_last_height 0$' "$tmp/metrics"
check "the TVE's metrics in Prometheus' text format" 0 $?
kill -TERM $tpid; wait $tpid; check "the daemon stops on SIGTERM" 0 $?
[[ ! -e $tmp/tve.pid ]]; check "the pid file is removed at a stop" 0 $?
grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z INFO  veil tve: stopped$' "$tmp/tve.err"
check "log lines carry a UTC time, a level and the program" 0 $?
"$veil" tve --listen "ipc://$tmp/op.sock" --home "$tmp/op-tve" --log-level chatty 2>/dev/null
check "an unknown log level is a usage error" 2 $?
"$veil" version >"$tmp/ver"; check "veil version" 0 $?
grep -Eq '^veil [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/ver" && grep -q "tve  mrenclave [0-9a-f]\{64\}" "$tmp/ver"
check "version names itself and its enclave images" 0 $?
[[ $("$veil" --version | head -n 1) == $(head -n 1 "$tmp/ver") ]]; check "--version agrees" 0 $?

"$veil" enclave frobnicate 2>/dev/null; check "unknown subcommand" 2 $?
for sub in keygen sign info verify; do
  "$veil" enclave $sub --help >/dev/null; check "enclave $sub --help" 0 $?
done
"$veil" --help >/dev/null; check "veil --help" 0 $?
"$veil" platform init --help >/dev/null; check "platform init --help" 0 $?

echo "$passes passed, $fails failed"
[[ $fails == 0 ]]
