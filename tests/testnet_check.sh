#!/usr/bin/env bash
# veil testnet with four validators under a real CometBFT v0.38 (.deps/bin/cometbft,
# built by scripts/install-deps): init, start, every validator at the same height with
# the same app hash at each height, the designated validator holding the chain's key
# and the others obtaining it through their TDBEs (mutually attested TLS; each TDBE a
# member by a node join of its operator's staked account), confidential
# payments through several validators' TQEs, kill -9 of a member's node, TVE, CometBFT
# or TDBE under load (restarted,
# caught up, the others never stalled), a clean stop (nothing left running), a restart that
# resumes the chain, a full node added later that catches up by block sync, usage errors.
# Skipped (77), never passed, without the binary.
# usage: testnet_check.sh VEIL SOURCE_DIR
set -u
veil=$1 src=$2
cmt=$src/.deps/bin/cometbft
if [[ ! -x $cmt ]]; then echo "testnet_check: skipped: no $cmt (scripts/install-deps builds it)"; exit 77; fi
d=$(mktemp -d /tmp/veil-testnet-XXXXXX)
start_pid=
cleanup() {
  [[ -n $start_pid ]] && kill -TERM "$start_pid" 2>/dev/null && wait "$start_pid" 2>/dev/null
  [[ -n ${KEEP:-} ]] || rm -rf "$d"
}
trap cleanup EXIT
fail() { echo "testnet_check: $*"; for f in "$d"/net/v*/*.log "$d"/start.out; do [[ -f $f ]] && { echo "--- $f"; tail -n 8 "$f"; }; done; exit 1; }

"$veil" testnet --help >/dev/null || fail "testnet --help"
"$veil" testnet init --help >/dev/null || fail "init --help"
"$veil" testnet status --home "$d/none" 2>/dev/null && fail "status of no testnet succeeded"
"$veil" testnet init --home "$d/net" --validators 0 2>/dev/null; [[ $? == 2 ]] || fail "--validators 0 is not a usage error"

VEIL_COMETBFT=$cmt "$veil" testnet init --home "$d/net" --validators 4 >"$d/init.out" || fail "init: $(cat "$d/init.out")"
"$veil" testnet init --home "$d/net" --validators 4 2>/dev/null && fail "a second init over the same home succeeded"

start() {
  "$veil" testnet start --home "$d/net" >"$d/start.out" 2>&1 &
  start_pid=$!
}
# Waits until every validator is at height >= $1; prints the lowest height.
wait_all() {
  for _ in $(seq 1 300); do
    h=$("$veil" testnet status --home "$d/net" --json 2>/dev/null | python3 -c '
import json, sys
rows = json.load(sys.stdin)
hs = [int(r["height"]) for r in rows if "height" in r]
print(min(hs) if len(hs) == len(rows) else -1)' 2>/dev/null)
    [[ -n $h && $h -ge $1 ]] && { echo "$h"; return 0; }
    sleep 0.2
  done
  return 1
}
# The app hash of block $1 on every validator: one line each.
hashes() {
  python3 - "$d/net/testnet.json" "$1" <<'PY'
import json, sys, urllib.request
m = json.load(open(sys.argv[1]))
for v in m["validators"]:
    url = "http://127.0.0.1:%d/block?height=%s" % (v["rpc_port"], sys.argv[2])
    print(json.load(urllib.request.urlopen(url, timeout=3))["result"]["block"]["header"]["app_hash"])
PY
}

start
h=$(wait_all 4) || fail "the validators did not all reach height 4"
[[ $(hashes 3 | sort -u | wc -l) == 1 ]] || fail "app hashes differ at height 3: $(hashes 3)"
[[ $(hashes "$h" | sort -u | wc -l) == 1 ]] || fail "app hashes differ at height $h"
"$veil" testnet status --home "$d/net" >"$d/status.out" || fail "status"
[[ $(grep -c "height" "$d/status.out") == 4 ]] || fail "status: $(cat "$d/status.out")"
grep -q "does not hold it" "$d/net/v1/node.log" || fail "v1's node did not start without the key"
grep -q "does not hold it" "$d/net/v0/node.log" && fail "v0, the designated validator, has no key"
# Every other validator's TDBE fetches the key from a peer's and hands it to its TVE.
wait_keys() { # wait_keys N: N members report holding the chain's key
  for _ in $(seq 1 150); do
    "$veil" testnet status --home "$d/net" >"$d/status.out" 2>/dev/null
    [[ $(grep -c "holds the chain's key" "$d/status.out") == "$1" ]] && return 0
    sleep 0.2
  done
  return 1
}
wait_keys 4 || fail "not every validator obtained the chain's key: $(cat "$d/status.out")"
# status shows each member's TDBE and TQE identity, from their verified certificates.
[[ $(grep -c "tdbe mrenclave .* UpToDate" "$d/status.out") == 4 && $(grep -c "tqe  mrenclave .* UpToDate" "$d/status.out") == 4 ]] ||
  fail "status does not show every TDBE's and TQE's identity: $(cat "$d/status.out")"
for v in v1 v2 v3; do
  grep -q "handed the chain's key (epoch 0, commitment" "$d/net/$v/tdbe.log" || fail "$v's TDBE did not hand over the key"
  grep -q "holds the chain's key of epoch 0 now" "$d/net/$v/tve.log" || fail "$v's TVE did not take the key"
done
grep -q "handed the chain's key" "$d/net/v0/tdbe.log" && fail "v0, which drew the key, fetched one"
# A replayed certificate: v1's genuine TDBE certificate presented to v0's TDBE by a
# peer without its private key. TLS 1.3's CertificateVerify fails: nothing is served.
go=$(command -v go || echo /usr/local/go/bin/go)
if [[ -x $go ]]; then
  tdbe0=$(python3 -c 'import json,sys; print("127.0.0.1:%d" % json.load(open(sys.argv[1]))["validators"][0]["tdbe_port"])' "$d/net/testnet.json")
  "$go" run "$src/tests/support/tls_replay/main.go" "$tdbe0" "$d/net/v1/tdbe/tdbe-cert.der" >"$d/replay.out" 2>&1 ||
    fail "a replayed TDBE certificate was served: $(cat "$d/replay.out")"
  grep -q "refused" "$d/replay.out" || fail "replay: $(cat "$d/replay.out")"
fi
# Each TDBE bound its enclave key to its member's staked operator account by a node
# join: peers serve the key only to such members.
for v in v0 v1 v2 v3; do
  grep -q "node join committed at height [0-9]*: account [0-9a-f]\{64\} binds this TDBE's key" "$d/net/$v/tdbe.log" ||
    fail "$v's TDBE did not join its operator account"
  # Membership is proven against app hashes its enclave's light client verified, from
  # block 1 as the trust root.
  grep -q "light client started from the trusted header at height 1" "$d/net/$v/tdbe.log" ||
    fail "$v's TDBE light client did not start"
done

# Confidential txs through different validators' TQEs: alice (through v1) withdraws her
# genesis stake and pays bob; bob (through v2) sees it and pays alice back through v3;
# a fresh wallet of bob's through v0 finds the same, so every TVE stored the txs.
export VEIL_WALLET_PASSPHRASE=testnet-check VEIL_WALLET_KDF=interactive
W=$d/net/wallets
wallet_at() { # wallet_at NAME SEED MEMBER: a wallet FILE of SEED using MEMBER's RPC and TQE
  "$veil" wallet restore --wallet "$W/$1" --seed-hex - <"$W/$2.seed" >/dev/null || fail "restore $1"
  cp "$W/$3.config.json" "$W/$1.config.json"
}
pay_addr() { "$veil" wallet addresses --wallet "$W/$1" --json | sed -n 's/.*"payment_address": "\([^"]*\)".*/\1/p'; }
spendable() { "$veil" wallet balance --wallet "$W/$1" --json | sed -n 's/.*"spendable": "\([^"]*\)".*/\1/p'; }
wallet_at a1 alice v1
wallet_at b2 bob v2
"$veil" wallet sync --wallet "$W/a1" >/dev/null || fail "alice's sync through v1"
"$veil" wallet withdraw --wallet "$W/a1" >"$d/w.out" 2>&1 || fail "alice's withdraw through v1: $(cat "$d/w.out")"
"$veil" wallet send --wallet "$W/a1" --to "$(pay_addr b2)" --amount 3 >"$d/w.out" 2>&1 || fail "alice's payment through v1: $(cat "$d/w.out")"
"$veil" wallet sync --wallet "$W/b2" >/dev/null || fail "bob's sync through v2"
[[ $(spendable b2) == 3.00000000 ]] || fail "bob (through v2) sees $(spendable b2), not 3"
cp "$W/v3.config.json" "$W/b2.config.json"
"$veil" wallet send --wallet "$W/b2" --to "$(pay_addr a1)" --amount 1 >"$d/w.out" 2>&1 || fail "bob's payment through v3: $(cat "$d/w.out")"
"$veil" wallet sync --wallet "$W/b2" >/dev/null || fail "bob's sync through v3"
wallet_at b0 bob v0
"$veil" wallet sync --wallet "$W/b0" >/dev/null || fail "bob's fresh wallet's sync through v0"
[[ $(spendable b0) == "$(spendable b2)" && $(spendable b0) != 3.00000000 ]] ||
  fail "bob's fresh wallet through v0 sees $(spendable b0), his wallet through v3 $(spendable b2)"
h=$(wait_all 1)
[[ $(hashes "$h" | sort -u | wc -l) == 1 ]] || fail "app hashes differ at $h after confidential txs"
# CometBFT's headers verify under the light client the enclaves run: every one from
# height 1 on v0, and the latest by skipping with v1..v3 as witnesses.
rpc() { python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print("http://127.0.0.1:%d" % m["validators"][int(sys.argv[2])]["rpc_port"])' "$d/net/testnet.json" "$1"; }
b1=$(curl -s "$(rpc 0)/block?height=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["block_id"]["hash"])')
"$veil" lightclient verify --rpc "$(rpc 0)" --trusted-height 1 --trusted-hash "$b1" --height 0 --sequential \
  >"$d/lc.out" 2>&1 || fail "light client, sequential: $(cat "$d/lc.out")"
"$veil" lightclient verify --rpc "$(rpc 0)" --witness "$(rpc 1)" --witness "$(rpc 2)" --witness "$(rpc 3)" \
  --trusted-height 1 --trusted-hash "$b1" --height 0 --json >"$d/lc.out" 2>&1 || fail "light client, skipping: $(cat "$d/lc.out")"
grep -q '"verified":true' "$d/lc.out" && grep -q '"validators":4' "$d/lc.out" || fail "light client: $(cat "$d/lc.out")"

# kill -9 of one member's node, then another's TVE, then another's CometBFT, then a
# TDBE, under load (alice paying bob through v0 throughout): each is restarted whole by
# `start` and catches up; the others never stall; no committed payment is lost.
wallet_at a0 alice v0
"$veil" wallet sync --wallet "$W/a0" >/dev/null || fail "alice's sync through v0"
base=$(spendable b0)
(
  ok=0
  while [[ ! -f $d/load.stop ]]; do
    "$veil" wallet send --wallet "$W/a0" --to "$(pay_addr b0)" --amount 0.01 >>"$d/load.log" 2>&1 && ok=$((ok + 1))
    "$veil" wallet sync --wallet "$W/a0" >/dev/null 2>&1
  done
  echo "$ok" >"$d/load.ok"
) &
load_pid=$!
for victim in "v2/node --abci" "v3/tve --platform" "v1/cometbft" "v2/tdbe --platform"; do
  before=$(wait_all 1)
  pkill -KILL -f "$d/net/$victim" || fail "no process matched $victim"
  after=$(wait_all $((before + 4))) || fail "the testnet stalled after kill -9 of $victim"
  [[ $(hashes "$after" | sort -u | wc -l) == 1 ]] || fail "app hashes differ at $after after kill -9 of $victim"
done
touch "$d/load.stop"; wait "$load_pid"
ok=$(cat "$d/load.ok")
[[ $ok -ge 3 ]] || fail "only $ok payments committed under load: $(tail -n 5 "$d/load.log")"
# Every payment the wallet saw committed is in bob's balance, the same through v1, v2, v3.
for v in v1 v2 v3; do
  rm -f "$W/bl.$v"*
  wallet_at "bl.$v" bob "$v"
  "$veil" wallet sync --wallet "$W/bl.$v" >/dev/null || fail "bob's sync through $v after the kills"
done
want=$(python3 -c "print('%.8f' % ($base + $ok * 0.01))")
for v in v1 v2 v3; do
  [[ $(spendable "bl.$v") == "$want" ]] || fail "through $v bob has $(spendable "bl.$v"), not $want ($ok payments of 0.01 to $base)"
done
grep -q "v2's node exited (signal 9); restarting it" "$d/start.out" || fail "start did not report v2's node: $(cat "$d/start.out")"
grep -q "v3's TVE exited" "$d/start.out" || fail "start did not report v3's TVE"
grep -q "v1's CometBFT exited" "$d/start.out" || fail "start did not report v1's CometBFT"
grep -q "v2's TDBE exited" "$d/start.out" || fail "start did not report v2's TDBE"
h=$(wait_all 1)

kill -TERM "$start_pid"; wait "$start_pid"; rc=$?; start_pid=
[[ $rc == 0 ]] || fail "testnet start exited $rc on SIGTERM"
sleep 0.5
pgrep -f "$d/net" >/dev/null && fail "processes left running: $(pgrep -fa "$d/net")"

start
h2=$(wait_all $((h + 2))) || fail "the testnet did not resume after a restart"
[[ $(hashes "$h2" | sort -u | wc -l) == 1 ]] || fail "app hashes differ at height $h2 after a restart"
# A restarted TDBE keeps its enclave key: the binding on chain still names it.
for _ in $(seq 1 50); do grep -q "binds this TDBE's key (joined before)" "$d/net/v1/tdbe.log" && break; sleep 0.2; done
grep -q "binds this TDBE's key (joined before)" "$d/net/v1/tdbe.log" || fail "v1's restarted TDBE does not find its binding"
grep -q "light client resumed at height" "$d/net/v1/tdbe.log" || fail "v1's restarted TDBE did not resume its light client from its sealed state"

# A full node added to the running testnet at a height above 50 catches up by block
# sync and obtains the key through its TDBE.
wait_all 51 >/dev/null || fail "the testnet did not reach height 51"
"$veil" testnet add-node --home "$d/net" --validator >"$d/add.out" || fail "add-node: $(cat "$d/add.out")"
h3=$(wait_all $((h2 + 2))) || fail "the full node did not catch up"
grep -q "member v4 added: starting it" "$d/start.out" || fail "start did not start the added member: $(cat "$d/start.out")"
[[ $(hashes "$h3" | sort -u | wc -l) == 1 ]] || fail "the full node's app hash differs at height $h3"
grep -q "does not hold it" "$d/net/v4/node.log" || fail "the full node's node did not start without the key"
wait_keys 5 || fail "the full node did not obtain the chain's key: $(cat "$d/status.out")"
[[ -f $d/net/v4/operator.seed && ! -f $d/net/operators/spare0.seed ]] || fail "add-node did not give the full node a spare operator account"
# Served the key, so a member: its TDBE joined the spare account (the log line may
# follow the key's hand-off by a round).
for _ in $(seq 1 50); do grep -q "binds this TDBE's key" "$d/net/v4/tdbe.log" && break; sleep 0.2; done
grep -q "binds this TDBE's key and this node's validator key" "$d/net/v4/tdbe.log" || fail "the full node's TDBE did not join its operator account as a validator"
# The join named its consensus key: CometBFT takes the node into the validator set
# (power 1000 bonded / 100 = 10, beside the four genesis validators' 10) and it signs
# blocks from then on.
v4addr=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["address"])' "$d/net/v4/cometbft/config/priv_validator_key.json")
signed_by_v4() { # prints the height of a block on v0 that v4 signed, if any of the last 5
  python3 - "$d/net/testnet.json" "$v4addr" <<'PY'
import json, sys, urllib.request
m = json.load(open(sys.argv[1])); rpc = "http://127.0.0.1:%d" % m["validators"][0]["rpc_port"]
get = lambda p: json.load(urllib.request.urlopen(rpc + p, timeout=3))["result"]
vals = get("/validators?per_page=100")["validators"]
if not any(v["address"] == sys.argv[2] and v["voting_power"] == "10" for v in vals): sys.exit(1)
h = int(get("/status")["sync_info"]["latest_block_height"])
for k in range(h, h - 5, -1):
    sigs = get("/commit?height=%d" % k)["signed_header"]["commit"]["signatures"]
    if any(s["validator_address"] == sys.argv[2] and s["block_id_flag"] == 2 for s in sigs):
        print(len(vals), k); sys.exit(0)
sys.exit(1)
PY
}
for _ in $(seq 1 150); do signed=$(signed_by_v4) && break; sleep 0.2; done
[[ -n ${signed:-} && ${signed%% *} == 5 ]] || fail "the node joined as a validator is not in the set of 5 or signs no block"
# Across the change of the validator set, the light client still verifies the latest
# header from height 1, with the new validator's node as a witness.
"$veil" lightclient verify --rpc "$(rpc 0)" --witness "$(rpc 4)" --trusted-height 1 --trusted-hash "$b1" \
  --height 0 --json >"$d/lc.out" 2>&1 || fail "light client across the set change: $(cat "$d/lc.out")"
grep -q '"validators":5' "$d/lc.out" || fail "light client: not the set of 5: $(cat "$d/lc.out")"
# The full node replayed the confidential txs with that key: a wallet through its TQE
# finds bob's payments.
wallet_at b4 bob v4
"$veil" wallet sync --wallet "$W/b4" >/dev/null || fail "bob's sync through the full node"
[[ $(spendable b4) == "$want" ]] || fail "through the full node bob sees $(spendable b4), not $want"
# It validates new confidential txs: alice pays bob through the full node's TQE (its
# TVE encrypts), every member commits it, and bob sees it through the full node.
wallet_at a4 alice v4
"$veil" wallet sync --wallet "$W/a4" >/dev/null || fail "alice's sync through the full node"
"$veil" wallet send --wallet "$W/a4" --to "$(pay_addr b4)" --amount 0.5 >"$d/w.out" 2>&1 || fail "alice's payment through the full node: $(cat "$d/w.out")"
"$veil" wallet sync --wallet "$W/b4" >/dev/null || fail "bob's second sync through the full node"
want4=$(python3 -c "print('%.8f' % ($want + 0.5))")
[[ $(spendable b4) == "$want4" ]] || fail "through the full node bob sees $(spendable b4) after alice's payment through it, not $want4"
h4=$(wait_all 1)
[[ $(hashes "$h4" | sort -u | wc -l) == 1 ]] || fail "app hashes differ at $h4 after a payment through the full node"
"$veil" testnet status --home "$d/net" | grep -q "power 10  full node" || fail "status does not show the added node's voting power: $("$veil" testnet status --home "$d/net")"
grep -q "CONSENSUS FAILURE\|panic" "$d"/net/v*/cometbft.log && fail "CometBFT logged a failure"
echo "testnet_check: 4 validators under CometBFT $("$cmt" version) shared the chain's key through their TDBEs (each a member by a node join), committed confidential txs sent through three validators' TQEs and agreed on every app hash to height $h2, across a restart; a full node added while running at height above 50 joined (as a validator: in the set of ${signed%% *}, signing block ${signed##* }), obtained the key, caught up by block sync and took a payment through its own TQE, every member at height $h4 or above with one app hash"
