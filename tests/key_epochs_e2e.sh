#!/usr/bin/env bash
# Key epochs end to end on a devnet (docs/key-epochs.md): with a key rotation every 16
# blocks (--key-epoch-blocks 12, --key-grace-blocks 4, 200 ms blocks), two wallets pay each
# other continuously through at least three rotations. Every payment a wallet saw committed
# is there afterwards (balances, the receiver's history, the tx on chain under an epoch
# the chain admitted at its height); each key is drawn once and destroyed after its grace
# period; the TVE holds no key below its key floor; the devnet stops cleanly, and after a
# restart the keys stay destroyed, the rotation goes on, and wallets restored from their
# seeds read every old payment again, sealed under keys destroyed long before.
# usage: key_epochs_e2e.sh VEIL
set -u
veil=$1
support=$(cd "$(dirname "$0")" && pwd)/support
home=$(mktemp -d /tmp/veil-epochs-e2e-XXXXXX)
EPOCH=12 GRACE=4
pid= load_pids=
fails=0 passes=0
cleanup() {
  for p in $load_pids; do kill "$p" 2>/dev/null; done
  [[ -n $pid ]] && kill -INT "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  pkill -9 -f -- "--home $home/" 2>/dev/null
  [[ -n ${KEEP:-} ]] && echo "kept $home" || rm -rf "$home"
}
trap cleanup EXIT
check() { if [[ $2 == "$3" ]]; then passes=$((passes + 1)); else echo "FAIL: $1 (got $3, wanted $2)"; fails=$((fails + 1)); fi; }
note() { echo "key_epochs_e2e: $*"; }

# Ports as in devnet_e2e.sh: below the ephemeral range, from a random start; the TQE
# listens on the RPC port + 13.
free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=
base=$((20000 + RANDOM % 12000))
for p in $(seq "$base" $((base + 200))); do
  if free "$p" && free $((p + 13)); then port=$p; break; fi
done
[[ -n $port ]] || { echo "no free port pair near $base"; exit 1; }
rpc=http://127.0.0.1:$port

# The key-epoch options count on the first start only (they are chain parameters); a
# restart passes none and keeps the chain's.
start() {
  local n=$1
  shift
  (exec "$veil" devnet --home "$home" --rpc-port "$port" --block-time 200ms "$@") >"$home/out.$n" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
    grep -q "^devnet running" "$home/out.$n" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "devnet did not start:"; cat "$home/out.$n"; return 1
}
stop() { kill -INT "$pid"; wait "$pid"; local rc=$?; pid=; return $rc; }

status() { "$veil" devnet status --home "$home" --json 2>/dev/null; }
# A field of the TVE's status: key_epoch, destroyed_below, held_epochs (comma-separated).
tve() {
  status | python3 -c '
import json, sys
v = json.load(sys.stdin)["tve"][sys.argv[1]]
print(",".join(map(str, v)) if isinstance(v, list) else v)' "$1" 2>/dev/null
}
# Heights of the chain and of the TVE; they agree once the TVE committed the tip.
agree() {
  local out chain tve
  for _ in $(seq 1 50); do
    out=$(status) || { sleep 0.2; continue; }
    chain=$(grep -o '"height": "[0-9]*"' <<<"$out" | grep -o '[0-9]*')
    tve=$(grep -o '"last_height": [0-9]*' <<<"$out" | grep -o '[0-9]*$')
    if [[ -n $chain && $chain == "$tve" ]]; then echo "$chain"; return 0; fi
    sleep 0.2
  done
  echo "status never agreed: $out" >&2
  return 1
}
# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
  local t=$1
  shift
  for _ in $(seq 1 $((t * 5))); do "$@" && return 0; sleep 0.2; done
  return 1
}
# "START_HEIGHT COMMITMENT" of key epoch $1 on chain.
record() { python3 "$support/key_epoch_record.py" "$port" "$1"; }
destroyed() { grep -c "destroyed the key of epoch $1 (its grace period is over)" "$home/logs/tve.log"; }
drawn() { grep -c "drew the key of epoch $1 (" "$home/logs/node.log"; }

# Amounts as integers of base units (every amount the wallet prints has 8 decimals).
units() { local x=${1/./}; echo $((10#${x:-0})); }
W=$home/wallets
export VEIL_WALLET_PASSPHRASE=key-epochs-e2e VEIL_WALLET_KDF=interactive
wjson() { sed -n "s/.*\"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" | head -n 1; }
spendable() { "$veil" wallet balance --wallet "$W/$1.wallet" --json | wjson spendable; }
restore() {
  "$veil" wallet restore --wallet "$W/$1.wallet" --seed-hex - <"$W/$2.seed" >/dev/null &&
    cp "$W/devnet.config.json" "$W/$1.wallet.config.json"
}

start 1 --key-epoch-blocks $EPOCH --key-grace-blocks $GRACE || exit 1
agree >/dev/null; check "the devnet runs" 0 $?

# --- wallets: alice's and bob's genesis stake becomes confidential outputs ------------
for n in alice bob; do
  restore "$n" "$n"; check "$n's wallet restored" 0 $?
  "$veil" wallet sync --wallet "$W/$n.wallet" >/dev/null; check "$n syncs" 0 $?
  "$veil" wallet withdraw --wallet "$W/$n.wallet" --json >"$home/withdraw.$n" 2>&1
  rc=$?; check "$n withdraws the genesis stake ($(wjson name <"$home/withdraw.$n"))" 0 $rc
done
for n in alice bob; do "$veil" wallet sync --wallet "$W/$n.wallet" >/dev/null; done
a0=$(units "$(spendable alice)") b0=$(units "$(spendable bob)")
[[ $a0 -gt 100000000 && $b0 -gt 100000000 ]]; check "both hold more than 1 coin ($a0, $b0 units)" 0 $?
a_pay=$("$veil" wallet addresses --wallet "$W/alice.wallet" --json | wjson payment_address)
b_pay=$("$veil" wallet addresses --wallet "$W/bob.wallet" --json | wjson payment_address)

# --- load: each wallet syncs and pays the other, over and over, until told to stop -----
# Each committed send: "TXID HEIGHT AMOUNT FEE" in $home/paid.FROM; each failed one, the
# wallet's answer in $home/failed.FROM (a failure is allowed: only a payment the wallet
# saw committed and that is not there is lost).
pay_loop() {
  local from=$1 to=$2 digit=$3 i=0 amount out
  while [[ ! -f $home/stop-load ]]; do
    "$veil" wallet sync --wallet "$W/$from.wallet" --json >"$home/sync.$from" 2>&1 ||
      echo "sync $i: $(tr -d '\n' <"$home/sync.$from")" >>"$home/failed.$from"
    amount=0.0$((1 + i % 9))$((i % 10))$digit # the two directions' amounts differ
    if out=$("$veil" wallet send --wallet "$W/$from.wallet" --to "$to" --amount "$amount" --json 2>&1); then
      echo "$(wjson txid <<<"$out") $(wjson height <<<"$out") $(wjson amount <<<"$out") $(wjson fee <<<"$out")" \
        >>"$home/paid.$from"
    else
      echo "send $i of $amount: $(tr -d '\n' <<<"$out")" >>"$home/failed.$from"
      sleep 0.2
    fi
    i=$((i + 1))
  done
}
e0=$(tve key_epoch)
target=$((e0 + 3 > 3 ? e0 + 3 : 3))
t0=$SECONDS
pay_loop alice "$b_pay" 1 & load_pids="$load_pids $!"
pay_loop bob "$a_pay" 7 & load_pids="$load_pids $!"
# Three rotations under load: epoch $target current and the key of the one before it
# destroyed (its grace period over); each wallet paid a few times.
rotated() {
  local e
  e=$(tve key_epoch)
  [[ ${e:-0} -ge $target && $(destroyed $((target - 1))) -ge 1 ]] || return 1
  [[ $(wc -l 2>/dev/null <"$home/paid.alice" || echo 0) -ge 5 ]] || return 1
  [[ $(wc -l 2>/dev/null <"$home/paid.bob" || echo 0) -ge 5 ]]
}
wait_for 60 rotated; rc=$?
check "three rotations under load (epoch $e0 -> $(tve key_epoch), target $target)" 0 $rc
touch "$home/stop-load"
for p in $load_pids; do wait "$p"; done
load_pids=
na=$(wc -l 2>/dev/null <"$home/paid.alice" || echo 0) nb=$(wc -l 2>/dev/null <"$home/paid.bob" || echo 0)
note "load: $((SECONDS - t0)) s, alice paid $na times, bob $nb times; failed sends/syncs:" \
  "alice $(cat "$home/failed.alice" 2>/dev/null | wc -l), bob $(cat "$home/failed.bob" 2>/dev/null | wc -l)"
cat "$home"/failed.* 2>/dev/null | sed 's/^/  /' | head -n 20

# --- no payment lost ------------------------------------------------------------------
for n in alice bob; do "$veil" wallet sync --wallet "$W/$n.wallet" >/dev/null; check "$n syncs after the load" 0 $?; done
a1=$(units "$(spendable alice)") b1=$(units "$(spendable bob)")
sum() { # column $2 of $home/paid.$1 in base units
  local t=0 v
  while read -r v; do t=$((t + $(units "$v"))); done < <(awk -v c="$2" '{print $c}' "$home/paid.$1" 2>/dev/null)
  echo $t
}
sa=$(sum alice 3) fa=$(sum alice 4) sb=$(sum bob 3) fb=$(sum bob 4)
check "alice's balance: start - sent - fees + received" $((a0 - sa - fa + sb)) "$a1"
check "bob's balance: start - sent - fees + received" $((b0 - sb - fb + sa)) "$b1"
check "both balances + fees paid == the starting total" $((a0 + b0)) $((a1 + b1 + fa + fb))
# Each committed payment is in its receiver's history with its amount.
in_history() {
  "$veil" wallet history --wallet "$W/$2.wallet" --json >"$home/history.$2" || return 1
  python3 - "$home/paid.$1" "$home/history.$2" <<'PY'
import json, sys
received = {h["txid"]: h["received"] for h in json.load(open(sys.argv[2]))["history"]}
missing = [l.split() for l in open(sys.argv[1]) if received.get(l.split()[0]) != l.split()[2]]
for m in missing:
    print("not in the receiver's history:", " ".join(m))
sys.exit(1 if missing else 0)
PY
}
in_history alice bob; check "every payment alice saw committed is in bob's history" 0 $?
in_history bob alice; check "every payment bob saw committed is in alice's history" 0 $?

# Each committed payment is on chain at its height, encrypted under an epoch the chain
# admitted there (the current one, or the previous one in its grace period); together
# they span at least three epochs.
python3 - "$port" "$GRACE" "$support" "$home/oldest.tx" "$home"/paid.alice "$home"/paid.bob >"$home/onchain" 2>&1 <<'PY'
import base64, json, subprocess, sys, urllib.request
port, grace, support, oldest = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]

def fields(b):
    i, out = 0, {}
    while i < len(b):
        key = s = 0
        while True:
            c = b[i]; i += 1; key |= (c & 0x7F) << s; s += 7
            if c < 0x80: break
        if key & 7 == 0:
            x = s = 0
            while True:
                c = b[i]; i += 1; x |= (c & 0x7F) << s; s += 7
                if c < 0x80: break
            out.setdefault(key >> 3, x)
        elif key & 7 == 2:
            n = s = 0
            while True:
                c = b[i]; i += 1; n |= (c & 0x7F) << s; s += 7
                if c < 0x80: break
            out.setdefault(key >> 3, b[i:i + n]); i += n
        else:
            raise ValueError("wire type %d" % (key & 7))
    return out

starts = {}
e = 0
while True:
    r = subprocess.run([sys.executable, support + "/key_epoch_record.py", str(port), str(e)],
                       capture_output=True, text=True)
    if r.returncode != 0: break
    starts[e] = int(r.stdout.split()[0]); e += 1

def current(h):
    return max(k for k, s in starts.items() if s <= h)

bad, epochs, first = 0, set(), None
for f in sys.argv[5:]:
    for line in open(f):
        txid, height = line.split()[0], int(line.split()[1])
        url = "http://127.0.0.1:%d/block?height=%d" % (port, height)
        txs = json.load(urllib.request.urlopen(url, timeout=5))["result"]["block"]["data"]["txs"] or []
        found = None
        for t in txs:
            chain = fields(base64.b64decode(t))
            if 1 in chain:
                ct = fields(chain[1])
                if ct.get(2, b"").hex() == txid:
                    found = ct.get(6, 0)
                    if first is None or found < first[0]: first = (found, base64.b64decode(t).hex())
        if found is None:
            print("payment %s not in block %d" % (txid, height)); bad += 1; continue
        c = current(height)
        ok = found == c or (found == c - 1 and height < starts[c] + grace)
        if not ok:
            print("payment %s in block %d under epoch %d (current %d)" % (txid, height, found, c)); bad += 1
        epochs.add(found)
if first:  # the last byte is the ciphertext's (the last field's) tag's
    open(oldest, "w").write("%d %s%02x" % (first[0], first[1][:-2], int(first[1][-2:], 16) ^ 1))
print("epochs", len(epochs), " ".join(map(str, sorted(epochs))))
sys.exit(1 if bad else 0)
PY
rc=$?; check "every committed payment is on chain under an admitted epoch ($(tail -n 1 "$home/onchain"))" 0 $rc
grep -v "^epochs" "$home/onchain" | head -n 5
n_epochs=$(sed -n 's/^epochs \([0-9]*\).*/\1/p' "$home/onchain")
[[ ${n_epochs:-0} -ge 3 ]]; check "the payments were encrypted under at least 3 epochs" 0 $?

# The payment of the oldest epoch, long past its grace period, broadcast again with one
# byte of its ciphertext's tag changed (a tx the mempool's cache has not seen): refused
# publicly with 739, from its public fields, before the TVE or the ciphertext is looked at.
read -r old_epoch old_tx <"$home/oldest.tx"
curl -s "$rpc/broadcast_tx_sync?tx=0x$old_tx" >"$home/replay.out"
grep -q '"code": 739' "$home/replay.out"; rc=$?
check "a tx of epoch $old_epoch (one byte changed) broadcast again is refused with 739 ($(tr -d ' \n' <"$home/replay.out" | grep -o '"code":-\{0,1\}[0-9]*'))" 0 $rc
grep -q "past its grace period" "$home/replay.out"; check "and the refusal says why" 0 $?
agree >/dev/null; check "the chain goes on" 0 $?

# --- each key drawn once, committed on chain, and destroyed after its grace period ---------
for e in $(seq 1 "$target"); do
  check "the node drew the key of epoch $e once" 1 "$(drawn "$e")"
  rec=$(record "$e"); check "key epoch $e is on chain" 0 $?
  commitment=${rec#* } start_height=${rec%% *}
  block=$(sed -n "s/.*drew the key of epoch $e (commitment \([0-9a-f]*\)\.*) for block \([0-9]*\).*/\1 \2/p" "$home/logs/node.log" | head -n 1)
  [[ -n $block && ${#commitment} == 64 && $commitment == "${block%% *}"* ]]
  check "epoch $e's commitment on chain is the drawn key's" 0 $?
  check "epoch $e starts $GRACE blocks after the block of its draw" $((${block##* } + GRACE)) "$start_height"
done
for e in $(seq 0 $((target - 1))); do
  check "the TVE destroyed the key of epoch $e once" 1 "$(destroyed "$e")"
done
floor=$(tve destroyed_below) held=$(tve held_epochs) k1=$(tve key_epoch)
[[ ${floor:-0} -ge $target && ${floor:-0} -ge 2 ]]; check "the key floor is at $target or above ($floor)" 0 $?
below=0
for e in ${held//,/ }; do [[ $e -lt $floor ]] && below=1; done
check "the TVE holds no key below its floor (held $held, floor $floor)" 0 $below
[[ ,$held, == *,$k1,* ]]; check "the TVE holds the current key (epoch $k1)" 0 $?

# --- a clean stop; a restart keeps keys destroyed and old payments readable ------------
h1=$(agree); check "chain and TVE heights agree" 0 $?
stop; check "devnet stops cleanly on SIGINT" 0 $?
pgrep -f -- "--home $home/" >/dev/null; check "no service left running" 1 $?

start 2 || exit 1
h2=$(agree); check "restart agrees" 0 $?
[[ ${h2:-0} -ge ${h1:-1} ]]; check "restart continues the chain ($h1 -> $h2)" 0 $?
k2=$(tve key_epoch) floor2=$(tve destroyed_below) held2=$(tve held_epochs)
[[ ${k2:-0} -ge $k1 ]]; check "the TVE's key epoch after the restart ($k1 -> $k2)" 0 $?
[[ ${floor2:-0} -ge $floor ]]; check "the key floor after the restart ($floor -> $floor2)" 0 $?
below=0
for e in ${held2//,/ }; do [[ $e -lt ${floor2:-0} ]] && below=1; done
check "no destroyed key came back (held $held2, floor $floor2)" 0 $below
for n in alice bob; do "$veil" wallet sync --wallet "$W/$n.wallet" >/dev/null; check "$n syncs after the restart" 0 $?; done
check "alice's balance is unchanged" "$a1" "$(units "$(spendable alice)")"
check "bob's balance is unchanged" "$b1" "$(units "$(spendable bob)")"
# Wallets restored from the seeds index the whole chain again: every old payment, sealed
# under keys the TVE destroyed since, is read through the TQE.
restore alice2 alice && restore bob2 bob; check "fresh wallets restored" 0 $?
for n in alice2 bob2; do "$veil" wallet sync --wallet "$W/$n.wallet" >/dev/null; check "$n syncs from height 1" 0 $?; done
check "a fresh alice sees the same balance" "$a1" "$(units "$(spendable alice2)")"
check "a fresh bob sees the same balance" "$b1" "$(units "$(spendable bob2)")"
in_history alice bob2; check "a fresh bob sees every payment alice made" 0 $?
in_history bob alice2; check "a fresh alice sees every payment bob made" 0 $?
# The rotation goes on across the restart, and a payment goes through.
next=$((k2 + 1))
wait_for 30 eval '[[ $(tve key_epoch) -ge $next && $(destroyed $((next - 1))) -ge 1 ]]'
check "after the restart epoch $next becomes current and the key of $k2 is destroyed" 0 $?
check "the node drew the key of epoch $next once" 1 "$(drawn "$next")"
"$veil" wallet send --wallet "$W/alice.wallet" --to "$b_pay" --amount 0.5 --json >"$home/send.after" 2>&1
rc=$?; check "alice pays bob after the restart ($(wjson name <"$home/send.after"))" 0 $rc
"$veil" wallet sync --wallet "$W/bob.wallet" >/dev/null
check "bob received it" $((b1 + 50000000)) "$(units "$(spendable bob)")"
agree >/dev/null; check "chain and TVE heights agree at the end" 0 $?
stop; check "devnet stops cleanly again" 0 $?

note "$passes passed, $fails failed ($SECONDS s)"
[[ $fails == 0 ]]
