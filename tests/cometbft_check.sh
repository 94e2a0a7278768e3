#!/usr/bin/env bash
# The node under a real CometBFT v0.38 (.deps/bin/cometbft, built by scripts/install-deps),
# on a home `veil devchain init` wrote (so its files must be CometBFT's): the handshake,
# InitChain with Veil's genesis, blocks with an app hash both sides agree on, and a
# restart of all that resumes the chain. Without the CometBFT
# binary the test reports itself skipped (77), never passed.
# usage: cometbft_check.sh VEIL SOURCE_DIR
set -u
veil=$1 src=$2
cmt=$src/.deps/bin/cometbft
if [[ ! -x $cmt ]]; then echo "cometbft_check: skipped: no $cmt (scripts/install-deps builds it)"; exit 77; fi
d=$(mktemp -d /tmp/veil-cometbft-XXXXXX)
pids=()
# Stops in the operator's order: CometBFT first, then the node, then the TVE.
stop_all() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null
    wait "${pids[i]}" 2>/dev/null
  done
  pids=()
}
trap 'stop_all; [[ -n ${KEEP:-} ]] || rm -rf "$d"' EXIT
fail() { echo "cometbft_check: $*"; for f in "$d"/*.log; do echo "--- $f"; tail -n 15 "$f"; done; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rpc=$(free_port) p2p=$(free_port)

"$veil" platform init --dir "$d/platform" >/dev/null || fail "platform init"
# The home is the dev chain's (`veil devchain init`): its genesis.json, validator key
# and signing state are CometBFT's, with docs/node.md's example genesis as app_state.
python3 - "$d" <<'PY' || fail "app_state"
import json, sys
json.dump({
    "params": {"fee_rule": "exact", "fee_base": "1000", "fee_per_byte": "1",
               "unbonding_period": "86400", "key_epoch_blocks": "10000",
               "max_validators": 50, "accepted_enclaves": [
                   {"mrsigner": "53" * 32, "prodid": 1, "min_svn": 1},
                   {"mrenclave": "4d" * 32}]},
    "accounts": [{"address": "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
                  "bonded": "500", "unbonded": "1000", "unbonded_from": "1700000000",
                  "nonce": "0", "jailed_until": "0"}],
    "outputs": []}, open(f"{sys.argv[1]}/app_state.json", "w"))
PY
"$veil" devchain init --home "$d/cmt" --chain-id veil-cometbft-test \
  --app-state "$d/app_state.json" >/dev/null || fail "devchain init"

start() {
  "$veil" tve --listen "ipc://$d/tve.sock" --home "$d/tve" --platform "$d/platform" >>"$d/tve.log" 2>&1 &
  pids+=($!)
  "$veil" node --home "$d/node" --abci "unix://$d/abci.sock" --tve "ipc://$d/tve.sock" >>"$d/node.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do [[ -S $d/abci.sock ]] && break; sleep 0.1; done
  "$cmt" start --home "$d/cmt" --proxy_app "unix://$d/abci.sock" \
    --rpc.laddr "tcp://127.0.0.1:$rpc" --p2p.laddr "tcp://127.0.0.1:$p2p" >>"$d/cmt.log" 2>&1 &
  pids+=($!)
}
status() { python3 -c 'import json,sys,urllib.request; j=json.load(urllib.request.urlopen(sys.argv[1], timeout=2))["result"]["sync_info"]; print(j["latest_block_height"], j["latest_app_hash"])' "http://127.0.0.1:$rpc/status" 2>/dev/null; }
wait_height() {
  for _ in $(seq 1 600); do
    s=$(status) && [[ ${s%% *} -ge $1 ]] && { echo "$s"; return 0; }
    sleep 0.1
  done
  return 1
}

start
s=$(wait_height 5) || fail "CometBFT did not reach height 5"
h=${s%% *} app=${s#* }
grep -q "block $h: .*app hash $(tr 'A-F' 'a-f' <<<"${app:0:16}")" "$d/node.log" ||
  fail "CometBFT's app hash at $h ($app) is not the node's"
info=$(python3 -c 'import json,sys,urllib.request; r=json.load(urllib.request.urlopen(sys.argv[1], timeout=2))["result"]["response"]; print(r["data"], r["last_block_height"])' "http://127.0.0.1:$rpc/abci_info")
[[ ${info%% *} == veil ]] || fail "abci_info: $info"

# Both stop and start again: CometBFT's handshake (Info) resumes where they were.
stop_all
start
s2=$(wait_height $((h + 3))) || fail "the chain did not resume after a restart"
grep -q "CONSENSUS FAILURE\|panic\|application crash\|exception" "$d/cmt.log" && fail "CometBFT logged a failure of the app"
echo "cometbft_check: CometBFT $("$cmt" version) drove the node to height ${s2%% *}, app hashes agreeing, across a restart"
