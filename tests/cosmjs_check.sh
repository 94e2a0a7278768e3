#!/usr/bin/env bash
# CosmJS (a real CometBFT client library, pinned in tests/cosmjs/package-lock.json)
# against a running Veil devnet's dev chain RPC. Needs Node.js and the npm registry; when
# either is missing the test is reported as skipped (exit 77), never as passed.
# usage: cosmjs_check.sh VEIL BUILD_DIR
set -u
veil=$1 build=$2
src=$(cd "$(dirname "$0")/cosmjs" && pwd)
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "cosmjs_check: skipped: node or npm not installed"; exit 77
fi
work=$build/cosmjs
mkdir -p "$work"
cp "$src/package.json" "$src/package-lock.json" "$src/check.mjs" "$work/"
if [[ ! -d $work/node_modules/@cosmjs/tendermint-rpc ]]; then
  if ! (cd "$work" && timeout 180 npm ci --no-audit --no-fund --loglevel=error >npm.log 2>&1); then
    echo "cosmjs_check: skipped: npm ci failed (offline?):"; tail -n 5 "$work/npm.log"; exit 77
  fi
fi
home=$(mktemp -d /tmp/veil-cosmjs-XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port) tqe_port=$(free_port)
"$veil" devnet --home "$home/devnet" --rpc-port "$port" --tqe-port "$tqe_port" >"$home/devnet.log" 2>&1 &
pid=$!
cleanup() { kill -INT "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$home"; }
trap cleanup EXIT
chain=""
for _ in $(seq 1 200); do
  h=$(python3 -c 'import json,sys,urllib.request; j=json.load(urllib.request.urlopen(sys.argv[1], timeout=2)); print(j["result"]["sync_info"]["latest_block_height"], j["result"]["node_info"]["network"])' "http://127.0.0.1:$port/status" 2>/dev/null) || h=""
  if [[ -n $h && ${h%% *} -ge 2 ]]; then chain=${h#* }; break; fi
  sleep 0.1
done
if [[ -z $chain ]]; then echo "cosmjs_check: the devnet did not reach height 2"; tail -n 20 "$home/devnet.log"; exit 1; fi
(cd "$work" && timeout 60 node check.mjs "http://127.0.0.1:$port" "$chain")
