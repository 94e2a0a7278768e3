#!/usr/bin/env bash
# veil-bench-rotation: how long a key rotation takes on a four-validator testnet under
# CometBFT v0.38 (docs/key-epochs.md): from the block that commits the next epoch's key
# (drawn in its proposer's TVE) until the last of the other three validators' TDBEs
# handed it to its TVE, in blocks and seconds, beside key_grace_blocks (the blocks the
# chain waits before the key is used). Two rotations; the slower one is reported.
# Prints "BENCH <name> <value> <unit>". Needs .deps/bin/cometbft (scripts/install-deps).
# usage: veil-bench-rotation   (VEIL: the veil binary, default: next to this script's
# build directory; VEIL_SOURCE_DIR: the source tree)
set -u
here=$(cd "$(dirname "$0")" && pwd)
veil=${VEIL:-$here/../veil}
src=${VEIL_SOURCE_DIR:-@CMAKE_SOURCE_DIR@}
cmt=$src/.deps/bin/cometbft
[[ -x $cmt ]] || { echo "veil-bench-rotation: no $cmt (scripts/install-deps builds it)" >&2; exit 1; }
d=$(mktemp -d /tmp/veil-bench-rotation-XXXXXX)
pid=
cleanup() {
  [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [[ -n ${KEEP:-} ]] || rm -rf "$d"
}
trap cleanup EXIT
EPOCH=12 GRACE=6
VEIL_COMETBFT=$cmt "$veil" testnet init --home "$d/net" --validators 4 --key-epoch-blocks $EPOCH \
  --key-grace-blocks $GRACE >"$d/init.out" 2>&1 || { cat "$d/init.out"; exit 1; }
"$veil" testnet start --home "$d/net" >"$d/start.out" 2>&1 &
pid=$!

handed() { grep -l "handed the chain's key (epoch $1," "$d"/net/v*/tdbe.log 2>/dev/null | wc -l; }
for _ in $(seq 1 400); do [[ $(handed 2) -ge 3 ]] && break; sleep 1; done
[[ $(handed 2) -ge 3 ]] || { echo "veil-bench-rotation: epoch 2 never reached every validator" >&2; exit 1; }

python3 - "$d/net" "$GRACE" "$src" <<'PY'
import datetime, glob, json, re, subprocess, sys
net, grace, src = sys.argv[1], int(sys.argv[2]), sys.argv[3]
m = json.load(open(net + "/testnet.json"))
rpc = m["validators"][0]["rpc_port"]
def ts(line):
    return datetime.datetime.strptime(line[:20], "%Y-%m-%dT%H:%M:%SZ").timestamp()
def block_times():
    # height -> commit time (s) from v0's CometBFT-timed blocks
    out = {}
    for line in open(net + "/v0/node.log"):
        mm = re.search(r"veil node: block (\d+):", line)
        if mm: out[int(mm.group(1))] = ts(line)
    return out
bt = block_times()
def height_at(t):
    return max((h for h, x in bt.items() if x <= t), default=0)
worst_blocks, worst_s = 0, 0.0
for e in (1, 2):
    out = subprocess.run([sys.executable, src + "/tests/support/key_epoch_record.py", str(rpc),
                          str(e)], capture_output=True, text=True, check=True).stdout.split()
    start = int(out[0])
    commit_h = start - grace
    t_commit = bt[commit_h]
    last = 0.0
    for path in glob.glob(net + "/v*/tdbe.log"):
        for line in open(path):
            if "handed the chain's key (epoch %d," % e in line:
                last = max(last, ts(line))
    blocks = height_at(last) - commit_h
    worst_blocks = max(worst_blocks, blocks)
    worst_s = max(worst_s, last - t_commit)
    print("# epoch %d: committed in block %d, in use from %d, at every validator by block %d (%.0f s)"
          % (e, commit_h, start, height_at(last), last - t_commit))
hs = sorted(bt)
interval = (bt[hs[-1]] - bt[hs[0]]) / max(1, hs[-1] - hs[0])
print("BENCH rotation_distribute_blocks %d blocks" % worst_blocks)
print("BENCH rotation_key_grace_blocks %d blocks" % grace)
print("BENCH rotation_distribute_s %.0f s" % worst_s)
print("BENCH rotation_block_interval_ms %.0f ms" % (interval * 1000))
if worst_blocks >= grace:
    print("# rotation did NOT complete within key_grace_blocks")
PY
