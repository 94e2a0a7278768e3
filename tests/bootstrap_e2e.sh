#!/usr/bin/env bash
# Bootstrap of sealed tx data on a four-validator testnet under a real CometBFT v0.38
# (docs/tdbe.md, "Bootstrap"): wallets pay through two key rotations, until every
# validator has destroyed the keys of epochs 0 and 1; then a full node joins. Block sync
# alone could not replay those epochs' txs (no enclave holds their keys any more): its
# TDBE fetches the blocks' tx data from the validators' TDBEs over mutually attested
# TLS, checks every tx against the chain, and commits them to its TVE; its node then
# replays every block to the validators' app hashes, and a wallet syncing through the
# new node's own TQE finds every old payment. Then the node's TDBE is killed (-9) in the
# middle of a second bootstrap, again and again, each restart resuming where its TVE's
# store stands: the final store holds every tx once. Skipped (77), never passed, without
# the binary.
# usage: bootstrap_e2e.sh VEIL SOURCE_DIR
set -u
veil=$1 src=$2
cmt=$src/.deps/bin/cometbft
if [[ ! -x $cmt ]]; then echo "bootstrap_e2e: skipped: no $cmt (scripts/install-deps builds it)"; exit 77; fi
d=$(mktemp -d /tmp/veil-boot-XXXXXX)
start_pid= load_pid=
cleanup() {
  [[ -n $load_pid ]] && kill "$load_pid" 2>/dev/null
  [[ -n $start_pid ]] && kill -TERM "$start_pid" 2>/dev/null && wait "$start_pid" 2>/dev/null
  [[ -n ${KEEP:-} ]] || rm -rf "$d"
}
trap cleanup EXIT
fail() {
  echo "bootstrap_e2e: $*"
  for f in "$d"/net/v*/*.log "$d"/start.out "$d"/load.out; do [[ -f $f ]] && { echo "--- $f"; tail -n 8 "$f"; }; done
  exit 1
}

EPOCH=8 GRACE=3
VEIL_COMETBFT=$cmt "$veil" testnet init --home "$d/net" --validators 4 --key-epoch-blocks $EPOCH \
  --key-grace-blocks $GRACE >"$d/init.out" || fail "init: $(cat "$d/init.out")"
"$veil" testnet start --home "$d/net" >"$d/start.out" 2>&1 &
start_pid=$!

status_json() { "$veil" testnet status --home "$d/net" --json 2>/dev/null; }
# Waits until every member is at height >= $1; prints the lowest height.
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
wait_all 3 >/dev/null || fail "the validators did not all reach height 3"
for _ in $(seq 1 150); do
  "$veil" testnet status --home "$d/net" >"$d/status.out" 2>/dev/null
  [[ $(grep -c "holds the chain's key" "$d/status.out") == 4 ]] && break
  sleep 0.2
done

# Load: alice pays bob 1 coin at a time through v1, v2 and v3 in turn.
export VEIL_WALLET_PASSPHRASE=bootstrap-e2e VEIL_WALLET_KDF=interactive
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

destroyed_all() {
  for v in v0 v1 v2 v3; do
    grep -q "destroyed the key of epoch $1 " "$d/net/$v/tve.log" 2>/dev/null || return 1
  done
}
for _ in $(seq 1 600); do destroyed_all 1 && break; sleep 1; done
destroyed_all 1 || fail "not every validator destroyed the key of epoch 1 in time"
touch "$d/stop-load"
wait "$load_pid"
load_pid=
paid=$(wc -l <"$d/paid" 2>/dev/null || echo 0)
[[ $paid -ge 4 ]] || fail "only $paid payments went through during the rotations"

# A full node joins now: epochs 0 and 1's keys exist nowhere.
h0=$(wait_all 1) || fail "heights"
"$veil" testnet add-node --home "$d/net" >"$d/add.out" || fail "add-node: $(cat "$d/add.out")"
for _ in $(seq 1 240); do grep -q "bootstrap done" "$d/net/v4/tdbe.log" 2>/dev/null && break; sleep 0.5; done
grep -q "bootstrap done" "$d/net/v4/tdbe.log" || fail "the full node's TDBE did not finish a bootstrap"
grep -q "bootstrap: height [0-9]* of [0-9]*, [0-9]* txs" "$d/net/v4/tdbe.log" || fail "no bootstrap progress line"
grep -q "imported [0-9]* blocks" "$d/net/v4/tve.log" || fail "the full node's TVE imported nothing"
h1=$(wait_all $((h0 + 2))) || fail "the full node did not catch up"
[[ $(hashes "$h1" | sort -u | wc -l) == 1 ]] || fail "the full node's app hash differs at $h1: $(hashes "$h1")"
grep "tx data from peer [0-9]" "$d/net/v4/tdbe.log" && fail "a peer failed the full node's bootstrap"

# Every old payment, found through the new node's own TQE.
wallet_at b4 bob v4
"$veil" wallet sync --wallet "$W/b4" >/dev/null || fail "bob's sync through the full node"
[[ $(spendable b4) == "$paid.00000000" ]] || fail "through the full node bob sees $(spendable b4), alice paid $paid"
echo "bootstrap_e2e: ok ($paid payments across 2 rotations; full node joined at height $h0, in step at $h1)"
