#!/usr/bin/env bash
# veil attest-service and veil attest-proxy as processes: start-up lines, a report on a
# quote through the proxy (the sample quote is not of the service's platform: the
# service answers SIGNATURE_INVALID and the verifier refuses it), a foreign caller
# (403), the service down (502), usage errors, key-file permissions, and SIGTERM.
# usage: attest_service_cli.sh VEIL SAMPLE_DIR
set -u
veil=$1 sample=$2
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fails=0
check() { if [[ $2 == "$3" ]]; then :; else echo "FAIL: $1 (got '$3', wanted '$2')"; fails=$((fails + 1)); fi; }
contains() { grep -q -- "$3" "$2" || { echo "FAIL: $1: no '$3' in $(cat "$2")"; fails=$((fails + 1)); }; }
port_of() { # waits for a start-up line with "port N" in $1
  for _ in $(seq 100); do
    p=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$1" | head -n1)
    [[ -n $p ]] && { echo "$p"; return 0; }
    sleep 0.1
  done
  return 1
}

"$veil" attest-service --help >/dev/null; check "service --help" 0 $?
"$veil" attest-proxy --help >/dev/null; check "proxy --help" 0 $?
"$veil" attest report --help >/dev/null; check "report --help" 0 $?
"$veil" attest-service --listen 127.0.0.1:0 2>/dev/null; check "service without --home" 2 $?
"$veil" attest-proxy --service http://127.0.0.1:1 2>/dev/null; check "proxy without the rest" 2 $?

"$veil" platform init --dir "$tmp/plat" >/dev/null || { echo "FAIL: platform init"; exit 1; }
echo "key-one" >"$tmp/keys"
chmod 644 "$tmp/keys"
"$veil" attest-service --listen 127.0.0.1:0 --home "$tmp/svc" --keys "$tmp/keys" \
  --collateral "$tmp/plat/provisioning-root/collateral.json" 2>"$tmp/err"
check "a readable key file is refused" 1 $?
contains "permission message" "$tmp/err" "keys"
chmod 600 "$tmp/keys"

"$veil" attest-service --listen 127.0.0.1:0 --home "$tmp/svc" --keys "$tmp/keys" \
  --collateral "$tmp/plat/provisioning-root/collateral.json" >"$tmp/svc.out" 2>"$tmp/svc.err" &
svc=$!
pids+=("$svc")
sport=$(port_of "$tmp/svc.out") || { echo "FAIL: service start-up: $(cat "$tmp/svc.err")"; exit 1; }
contains "service start-up line" "$tmp/svc.out" "report-signing root"
[[ $(stat -c %a "$tmp/svc/report-signing.key") == 600 ]]; check "signing key 0600" 0 $?

"$veil" attest-proxy --listen 127.0.0.1:0 --service "https://127.0.0.1:$sport" \
  --service-ca "$tmp/svc/tls.crt" --key-file "$tmp/keys" >"$tmp/proxy.out" 2>"$tmp/proxy.err" &
pids+=($!)
pport=$(port_of "$tmp/proxy.out") || { echo "FAIL: proxy start-up: $(cat "$tmp/proxy.err")"; exit 1; }

# Intel's sample quote with its PCK chain inside (certification data type 5): a real
# platform's quote, which the service (pinning the simulated authority) cannot verify.
python3 - "$sample" "$tmp/q5" <<'PY' || { echo "FAIL: making the type-5 quote"; exit 1; }
import struct, sys
d, out = sys.argv[1], sys.argv[2]
q = open(d + "/quote.dat", "rb").read()
o = 48 + 384 + 4 + 64 + 64 + 384 + 64
a = struct.unpack_from("<H", q, o)[0]
o += 2 + a
chain = open(d + "/pckCert.pem", "rb").read() + open(d + "/pckSignChain.pem", "rb").read()
sig = q[48 + 384 + 4:o] + struct.pack("<HI", 5, len(chain)) + chain
open(out, "wb").write(q[:48 + 384] + struct.pack("<I", len(sig)) + sig)
PY
"$veil" attest report "$sample/quote.dat" --proxy "http://127.0.0.1:$pport" \
  --root "$tmp/svc/report-root.crt" 2>"$tmp/err"
check "a quote the service cannot judge" 1 $?
contains "400" "$tmp/err" "HTTP 400"
"$veil" attest report "$tmp/q5" --proxy "http://127.0.0.1:$pport" \
  --root "$tmp/svc/report-root.crt" --nonce abc 2>"$tmp/err"
check "a quote of another platform is refused" 1 $?
contains "the service's verdict is named" "$tmp/err" "SIGNATURE_INVALID"
"$veil" attest report "$tmp/q5" --proxy "http://127.0.0.1:$pport" \
  --root "$tmp/svc/tls.crt" 2>"$tmp/err"
check "a report under another root is refused" 1 $?
contains "root message" "$tmp/err" "pinned report-signing root"

"$veil" attest-proxy --listen 127.0.0.1:0 --service "https://127.0.0.1:$sport" --allow 127.0.0.2 \
  --service-ca "$tmp/svc/tls.crt" --key-file "$tmp/keys" >"$tmp/proxy2.out" 2>&1 &
pids+=($!)
p2=$(port_of "$tmp/proxy2.out") || { echo "FAIL: proxy 2 start-up"; exit 1; }
"$veil" attest report "$sample/quote.dat" --proxy "http://127.0.0.1:$p2" \
  --root "$tmp/svc/report-root.crt" 2>"$tmp/err"
check "foreign caller refused" 1 $?
contains "403" "$tmp/err" "HTTP 403"

kill -TERM "$svc"
wait "$svc"
check "service stops on SIGTERM" 0 $?
"$veil" attest report "$sample/quote.dat" --proxy "http://127.0.0.1:$pport" \
  --root "$tmp/svc/report-root.crt" 2>"$tmp/err"
check "service down: refused" 1 $?
contains "502" "$tmp/err" "HTTP 502"

if [[ $fails -gt 0 ]]; then echo "attest_service_cli: $fails failure(s)"; exit 1; fi
echo "attest_service_cli: all checks passed"
