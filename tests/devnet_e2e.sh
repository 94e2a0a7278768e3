#!/usr/bin/env bash
# End to end: a devnet (platform, TVE, node, dev chain over CometBFT's four ABCI
# connections) runs the demo scenario; stops cleanly; restarts and continues the
# chain; survives kill -9 of the node and of the TVE with heights and app hashes
# agreeing afterwards.
# usage: devnet_e2e.sh VEIL SCENARIO   (SCENARIO: scripts/demo-scenario)
set -u
veil=$1 scenario=$2
home=$(mktemp -d /tmp/veil-e2e-XXXXXX)
pid=
fails=0 passes=0
cleanup() {
  [[ -n $pid ]] && kill -INT "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  pkill -9 -f -- "--home $home/" 2>/dev/null
  rm -rf "$home"
}
trap cleanup EXIT
check() { if [[ $2 == "$3" ]]; then passes=$((passes + 1)); else echo "FAIL: $1 (got $3, wanted $2)"; fails=$((fails + 1)); fi; }

# Ports below the kernel's ephemeral range (32768 and up), which no outgoing connection
# can hold as its source port, from a random start: two runs on one machine pick
# different ones. The TQE listens on the RPC port + 13.
free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=
base=$((20000 + RANDOM % 12000))
for p in $(seq "$base" $((base + 200))); do
  if free "$p" && free $((p + 13)); then port=$p; break; fi
done
[[ -n $port ]] || { echo "no free port pair near $base"; exit 1; }

start() {
  # Core dumps allowed by the shell: each veil process must turn them off itself.
  (ulimit -c unlimited 2>/dev/null; exec "$veil" devnet --home "$home" --rpc-port "$port") \
    >"$home/out.$1" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
    grep -q "^devnet running" "$home/out.$1" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "devnet did not start:"; cat "$home/out.$1"; return 1
}
stop() { kill -INT "$pid"; wait "$pid"; local rc=$?; pid=; return $rc; }

# Heights of the chain and of the TVE; they agree once the TVE committed the tip.
agree() {
  local out chain tve
  for _ in $(seq 1 50); do
    out=$("$veil" devnet status --home "$home" --json 2>/dev/null) || { sleep 0.2; continue; }
    chain=$(grep -o '"height": "[0-9]*"' <<<"$out" | grep -o '[0-9]*')
    tve=$(grep -o '"last_height": [0-9]*' <<<"$out" | grep -o '[0-9]*$')
    if [[ -n $chain && $chain == "$tve" ]]; then echo "$chain"; return 0; fi
    sleep 0.2
  done
  echo "status never agreed: $out" >&2
  return 1
}

start 1 || exit 1

# Item 14 of the attack review: no core-dump protection for secrets. Every process of
# the devnet (TVE, node, dev chain, TQE, the supervisor) has a core size limit of 0.
n=0
for p in $pid $(pgrep -f -- "--home $home/"); do
  n=$((n + 1))
  lim=$(awk '/^Max core file size/ {print $5 " " $6}' "/proc/$p/limits")
  check "item14: no core dumps for pid $p ($(tr '\0' ' ' <"/proc/$p/cmdline" | cut -c1-40))" "0 0" "$lim"
done
[[ $n -ge 5 ]]; check "item14: found the devnet's processes" 0 $?

# A second devnet on the same home is refused before it touches anything: the running
# one keeps its sockets, its configuration and its chain.
cp "$home/devnet.json" "$home/devnet.json.before"
"$veil" devnet --home "$home" --rpc-port "$port" >"$home/second.out" 2>&1
check "a second devnet on a home in use exits 1" 1 $?
grep -q "in use by another process" "$home/second.out"; check "it says the home is in use" 0 $?
[[ -S $home/run/tve.sock && -S $home/run/abci.sock ]]; check "the running devnet keeps its sockets" 0 $?
cmp -s "$home/devnet.json" "$home/devnet.json.before"; check "and its devnet.json" 0 $?
agree >/dev/null; check "and keeps running" 0 $?
# Every devnet draws its own chain id (a wallet bound to one refuses any other).
cid=$("$veil" devnet status --home "$home" --json | grep -o '"chain_id": "[^"]*"' | head -n 1 | cut -d'"' -f4)
[[ $cid =~ ^veil-devnet-[0-9a-f]{8}$ ]]; check "the chain id is this devnet's own ($cid)" 0 $?

# Item 6 of the attack review: a lying RPC made a wallet pay 2.5 coins of fee on a 0.01
# send. Through an RPC that inflates the fee schedule, alice's withdraw is refused with
# VEIL_ERR_WALLET_FEE before the TQE or the node sees anything, and nothing is broadcast.
W="$home/wallets"
export VEIL_WALLET_KDF=interactive VEIL_WALLET_PASSPHRASE=e2e
"$veil" wallet restore --wallet "$W/e2e-alice.wallet" --seed-hex - <"$W/alice.seed" >/dev/null
check "item6: wallet restored" 0 $?
cp "$W/devnet.config.json" "$W/e2e-alice.wallet.config.json"
liar=
for p in $(seq $((port + 20)) $((port + 60))); do free "$p" && { liar=$p; break; }; done
python3 "$(dirname "$0")/support/lying_rpc.py" --upstream "http://127.0.0.1:$port" \
  --port "$liar" --log "$home/liar.log" --lifetime 60 &
liar_pid=$!
for _ in $(seq 1 50); do free "$liar" || break; sleep 0.1; done
"$veil" wallet withdraw --wallet "$W/e2e-alice.wallet" --rpc "http://127.0.0.1:$liar" --json \
  >"$home/liar.out" 2>"$home/liar.err"
check "item6: a lying fee schedule is refused (exit 1)" 1 $?
grep -q '"code": 945' "$home/liar.out"; check "item6: refused with VEIL_ERR_WALLET_FEE" 0 $?
grep -q "max-fee 0.01" "$home/liar.err"; check "item6: the error names the ceiling" 0 $?
grep -q "%22/params%22" "$home/liar.log"; check "item6: the fee schedule came from the liar" 0 $?
grep -q "broadcast" "$home/liar.log"; check "item6: nothing was broadcast" 1 $?
kill "$liar_pid" 2>/dev/null; wait "$liar_pid" 2>/dev/null
# The same wallet through the honest RPC, with an explicit ceiling below the real fee.
"$veil" wallet withdraw --wallet "$W/e2e-alice.wallet" --max-fee 0.00000001 >/dev/null 2>&1
check "item6: --max-fee below the chain's fee is refused" 1 $?

"$scenario" "$veil" "$home" >"$home/demo.log" 2>&1
check "demo scenario" 0 $?
grep -q "demo finished: every step committed" "$home/demo.log"; check "demo completed" 0 $?
grep -Eq "time-locked until [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} UTC" "$home/demo.log"
check "times are shown as dates, not unix seconds" 0 $?
h1=$(agree); check "chain and TVE agree after the demo" 0 $?
# The dev chain's headers, every one from height 1, verify under the light client the
# enclaves run (and a wrong trusted hash is refused with its own code).
b1=$(curl -s "http://127.0.0.1:$port/block?height=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["block_id"]["hash"])')
"$veil" lightclient verify --rpc "http://127.0.0.1:$port" --trusted-height 1 --trusted-hash "$b1" \
  --height 0 --sequential --json >"$home/lc.out" 2>&1
check "the light client verifies every dev chain header" 0 $?
grep -q '"verified":true' "$home/lc.out"; check "and says so" 0 $?
"$veil" lightclient verify --rpc "http://127.0.0.1:$port" --trusted-height 1 \
  --trusted-hash "$(tr 0-9A-F 1-9A-F0 <<<"$b1")" --height 0 --json >"$home/lc.out" 2>&1
check "a wrong trusted hash is refused" 1 $?
grep -q '"code":1019' "$home/lc.out"; check "with VEIL_ERR_LC_TRUST_HASH" 0 $?
stop; check "devnet stops cleanly on SIGINT" 0 $?

start 2 || exit 1
h2=$(agree); check "restart agrees" 0 $?
[[ ${h2:-0} -ge ${h1:-1} ]]; check "restart continues the chain ($h1 -> $h2)" 0 $?

# kill -9 the node: the supervisor stops the rest; a restart recovers.
pkill -9 -f -- "veil node --home $home/node"
wait "$pid"; check "devnet exits when a service dies" 1 $?
pid=
start 3 || exit 1
h3=$(agree); check "recovers after kill -9 of the node" 0 $?
[[ ${h3:-0} -ge ${h2:-1} ]]; check "no height lost after node kill ($h2 -> $h3)" 0 $?

# kill -9 the TVE likewise.
pkill -9 -f -- "veil tve --listen ipc://$home/run/tve.sock"
wait "$pid"; pid=
start 4 || exit 1
h4=$(agree); check "recovers after kill -9 of the TVE" 0 $?
[[ ${h4:-0} -ge ${h3:-1} ]]; check "no height lost after TVE kill ($h3 -> $h4)" 0 $?
"$scenario" "$veil" "$home" >"$home/demo2.log" 2>&1
check "the demo runs again after recovery" 0 $?
ls "$home"/logs/*.log.1 >/dev/null 2>&1; check "each start keeps the previous start's logs apart" 0 $?

# kill -9 of the devnet itself: its services die with it (nothing orphaned).
kill -9 "$pid"; wait "$pid" 2>/dev/null; pid=
for _ in $(seq 1 50); do pgrep -f -- "--home $home/" >/dev/null || break; sleep 0.2; done
pgrep -f -- "--home $home/" >/dev/null; check "kill -9 of the devnet leaves no service running" 1 $?

# A damaged devnet.json is reported, never taken for a first start: the demo keys stay.
sum=$(sha256sum <"$home/demo-accounts.json")
echo '{ not json' >"$home/devnet.json"
"$veil" devnet --home "$home" --rpc-port "$port" >"$home/damaged.out" 2>&1
check "a damaged devnet.json stops the start" 1 $?
grep -q "is damaged" "$home/damaged.out"; check "and says so" 0 $?
[[ $(sha256sum <"$home/demo-accounts.json") == "$sum" ]]; check "the demo keys are untouched" 0 $?

echo "$passes passed, $fails failed"
[[ $fails == 0 ]]
