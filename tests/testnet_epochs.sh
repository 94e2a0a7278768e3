#!/usr/bin/env bash
# Key epochs on a four-validator testnet under a real CometBFT v0.38 (docs/key-epochs.md):
# three rotations while a wallet pays through several validators' TQEs throughout. Each
# next key is drawn by a block's proposer and committed on chain; every other validator's
# TDBE fetches it from a peer over mutually attested TLS before it is used; every
# validator destroys each old key after the grace period; app hashes stay identical; no
# committed payment is lost. Skipped (77), never passed, without the binary.
# usage: testnet_epochs.sh VEIL SOURCE_DIR
set -u
veil=$1 src=$2
cmt=$src/.deps/bin/cometbft
if [[ ! -x $cmt ]]; then echo "testnet_epochs: skipped: no $cmt (scripts/install-deps builds it)"; exit 77; fi
d=$(mktemp -d /tmp/veil-epochs-XXXXXX)
start_pid= load_pid=
cleanup() {
  [[ -n $load_pid ]] && kill "$load_pid" 2>/dev/null
  [[ -n $start_pid ]] && kill -TERM "$start_pid" 2>/dev/null && wait "$start_pid" 2>/dev/null
  [[ -n ${KEEP:-} ]] || rm -rf "$d"
}
trap cleanup EXIT
fail() {
  echo "testnet_epochs: $*"
  for f in "$d"/net/v*/*.log "$d"/start.out "$d"/load.out; do [[ -f $f ]] && { echo "--- $f"; tail -n 8 "$f"; }; done
  exit 1
}

EPOCH=16 GRACE=6
VEIL_COMETBFT=$cmt "$veil" testnet init --home "$d/net" --validators 4 --key-epoch-blocks $EPOCH \
  --key-grace-blocks $GRACE >"$d/init.out" || fail "init: $(cat "$d/init.out")"
"$veil" testnet init --home "$d/x" --key-epoch-blocks 4 --key-grace-blocks 5 2>/dev/null
[[ $? == 2 ]] || fail "a grace period longer than an epoch is not a usage error"
"$veil" testnet start --home "$d/net" >"$d/start.out" 2>&1 &
start_pid=$!

status_json() { "$veil" testnet status --home "$d/net" --json 2>/dev/null; }
# Waits until every validator is at height >= $1; prints the lowest height.
wait_all() {
  for _ in $(seq 1 "${2:-300}"); do
    h=$(status_json | python3 -c '
import json, sys
rows = json.load(sys.stdin)
hs = [int(r["height"]) for r in rows if "height" in r]
print(min(hs) if len(hs) == len(rows) else -1)' 2>/dev/null)
    [[ -n $h && $h -ge $1 ]] && { echo "$h"; return 0; }
    sleep 0.5
  done
  return 1
}
hashes() {
  python3 - "$d/net/testnet.json" "$1" <<'PY'
import json, sys, urllib.request
m = json.load(open(sys.argv[1]))
for v in m["validators"]:
    url = "http://127.0.0.1:%d/block?height=%s" % (v["rpc_port"], sys.argv[2])
    print(json.load(urllib.request.urlopen(url, timeout=3))["result"]["block"]["header"]["app_hash"])
PY
}
# The chain's record of key epoch $1 as v0's node answers it: "start_height commitment".
epoch_record() {
  local port
  port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["validators"][0]["rpc_port"])' "$d/net/testnet.json")
  python3 "$src/tests/support/key_epoch_record.py" "$port" "$1"
}

wait_all 3 >/dev/null || fail "the validators did not all reach height 3"
# Every validator holds the genesis key before the wallets start.
for _ in $(seq 1 150); do
  "$veil" testnet status --home "$d/net" >"$d/status.out" 2>/dev/null
  [[ $(grep -c "holds the chain's key" "$d/status.out") == 4 ]] && break
  sleep 0.2
done
[[ $(grep -c "holds the chain's key" "$d/status.out") == 4 ]] || fail "not every validator holds the genesis key"

# Load: alice withdraws her genesis stake, then pays bob 1 coin at a time through v1, v2
# and v3 in turn until told to stop; each payment the wallet saw committed is counted.
export VEIL_WALLET_PASSPHRASE=testnet-epochs VEIL_WALLET_KDF=interactive
W=$d/net/wallets
wallet_at() {
  "$veil" wallet restore --wallet "$W/$1" --seed-hex - <"$W/$2.seed" >/dev/null || fail "restore $1"
  cp "$W/$3.config.json" "$W/$1.config.json"
}
pay_addr() { "$veil" wallet addresses --wallet "$W/$1" --json | sed -n 's/.*"payment_address": "\([^"]*\)".*/\1/p'; }
spendable() { "$veil" wallet balance --wallet "$W/$1" --json | sed -n 's/.*"spendable": "\([^"]*\)".*/\1/p'; }
wallet_at a alice v1
wallet_at b bob v2
"$veil" wallet sync --wallet "$W/a" >/dev/null || fail "alice's sync"
"$veil" wallet withdraw --wallet "$W/a" >"$d/w.out" 2>&1 || fail "alice's withdraw: $(cat "$d/w.out")"
bob=$(pay_addr b)
(
  i=0
  while [[ ! -f $d/stop-load ]]; do
    v=v$((1 + i % 3))
    cp "$W/$v.config.json" "$W/a.config.json"
    if "$veil" wallet send --wallet "$W/a" --to "$bob" --amount 1 >>"$d/load.out" 2>&1; then
      echo ok >>"$d/paid"
    else
      echo "send through $v failed" >>"$d/load.out"
      sleep 1
    fi
    i=$((i + 1))
  done
) &
load_pid=$!

# Three rotations: every validator destroys the keys of epochs 0, 1 and 2.
destroyed_all() {
  for v in v0 v1 v2 v3; do
    grep -q "destroyed the key of epoch $1 " "$d/net/$v/tve.log" 2>/dev/null || return 1
  done
}
for _ in $(seq 1 600); do destroyed_all 2 && break; sleep 1; done
destroyed_all 2 || fail "not every validator destroyed the key of epoch 2 in time"
touch "$d/stop-load"
wait "$load_pid"
load_pid=

for e in 0 1 2; do
  destroyed_all "$e" || fail "a validator did not destroy the key of epoch $e"
done
for e in 1 2 3; do
  rec=$(epoch_record "$e") || fail "no key-epoch record $e on chain"
  commitment=${rec#* }
  [[ ${#commitment} == 64 ]] || fail "key epoch $e on chain has no commitment: $rec"
  # Drawn in one validator's TVE; every other one fetched it through its TDBE.
  drew=$(grep -l "drew the key of epoch $e (commitment ${commitment:0:16}" "$d"/net/v*/node.log | wc -l)
  [[ $drew == 1 ]] || fail "epoch $e's committed key was drawn by $drew validators"
  fetched=$(grep -l "handed the chain's key (epoch $e, commitment $commitment)" "$d"/net/v*/tdbe.log | wc -l)
  [[ $fetched == 3 ]] || fail "epoch $e's key reached $fetched other validators through their TDBEs, not 3"
done
# No validator ever failed a block for want of a key.
grep -l "does not hold the key of epoch" "$d"/net/v*/node.log && fail "a validator stopped for want of a key"

# Every validator holds only the current epoch's key now (and the next's, if drawn).
status_json | python3 -c '
import json, sys
rows = json.load(sys.stdin)
for r in rows:
    t = r["tve"]
    assert t["key_epoch"] >= 3, r
    assert all(e >= t["destroyed_below"] for e in t["held_epochs"]), r
    assert t["destroyed_below"] >= 3, r
' || fail "a TVE still holds a destroyed epoch's key: $(status_json)"

h=$(wait_all 1) || fail "heights"
[[ $(hashes "$h" | sort -u | wc -l) == 1 ]] || fail "app hashes differ at $h: $(hashes "$h")"
paid=$(wc -l <"$d/paid" 2>/dev/null || echo 0)
[[ $paid -ge 6 ]] || fail "only $paid payments went through during the rotations"
# Nothing committed was lost: bob (through v0) holds exactly what alice's wallet saw
# committed, including payments encrypted under keys since destroyed.
wallet_at b0 bob v0
"$veil" wallet sync --wallet "$W/b0" >/dev/null || fail "bob's sync through v0"
[[ $(spendable b0) == "$paid.00000000" ]] || fail "bob holds $(spendable b0), alice paid $paid"
echo "testnet_epochs: ok ($paid payments across 3 rotations, up to height $h)"
