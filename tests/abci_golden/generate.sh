#!/usr/bin/env bash
# Golden ABCI frames, produced by Google's protoc (an encoder independent of
# protobuf-c) from the text-format messages in this directory.
#
#   NAME.req.txt   a tendermint.abci.Request in protobuf text format
#                  (or NAME.req.raw: the body as hex, for bodies text format cannot
#                  express, e.g. a pre-v0.38 method)
#   NAME.resp.txt  the tendermint.abci.Response Veil's server must answer with
#   NAME.req.hex / NAME.resp.hex   the complete frames (unsigned varint length prefix,
#                  then the body) as space-separated hex bytes: what tests/test_abci.c
#                  compares against, byte for byte.
#
# Usage: tests/abci_golden/generate.sh           rewrite the .hex files
#        tests/abci_golden/generate.sh --check   fail if any .hex file is stale
# Needs protoc (Debian: protobuf-compiler). Exit code 77 (skip) without it in --check.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
proto=$(cd "$here/../../proto" && pwd)
check=0
[[ "${1:-}" == "--check" ]] && check=1

if ! command -v protoc >/dev/null 2>&1; then
  echo "generate.sh: protoc not found (apt-get install protobuf-compiler)" >&2
  [[ $check -eq 1 ]] && exit 77
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Unsigned varint (protobuf base-128), as space-separated hex.
varint_hex() {
  local n=$1 out=""
  while ((n >= 128)); do
    out+=$(printf '%02x ' $(((n & 127) | 128)))
    n=$((n >> 7))
  done
  printf '%s%02x' "$out" "$n"
}

# frame_hex BODYFILE: prefix + body as one line of hex bytes.
frame_hex() {
  local n
  n=$(stat -c %s "$1")
  local body
  body=$(od -An -v -tx1 "$1" | tr -s ' \n' ' ' | sed 's/^ //; s/ $//')
  if [[ -n "$body" ]]; then
    printf '%s %s\n' "$(varint_hex "$n")" "$body"
  else
    printf '%s\n' "$(varint_hex "$n")"
  fi
}

encode() { # TYPE TEXTFILE OUT
  protoc --encode="tendermint.abci.$1" -I "$proto" "$proto/tendermint/abci/types.proto" \
    <"$2" >"$3"
}

raw_body() { # RAWFILE OUT: hex (comments allowed) to bytes
  grep -v '^#' "$1" | tr -d ' \n' | sed 's/\(..\)/\\x\1/g' | xargs -0 printf '%b' >"$2"
}

stale=0
emit() { # HEXFILE CONTENT
  if [[ $check -eq 1 ]]; then
    if ! [[ -f "$1" ]] || [[ "$(cat "$1")" != "$2" ]]; then
      echo "stale: $(basename "$1")" >&2
      stale=1
    fi
  else
    printf '%s\n' "$2" >"$1"
  fi
}

for resp in "$here"/*.resp.txt; do
  name=$(basename "$resp" .resp.txt)
  if [[ -f "$here/$name.req.txt" ]]; then
    encode Request "$here/$name.req.txt" "$tmp/req"
  else
    raw_body "$here/$name.req.raw" "$tmp/req"
  fi
  encode Response "$resp" "$tmp/resp"
  emit "$here/$name.req.hex" "$(frame_hex "$tmp/req")"
  emit "$here/$name.resp.hex" "$(frame_hex "$tmp/resp")"
done

if [[ $check -eq 1 && $stale -eq 1 ]]; then
  echo "generate.sh: golden frames are stale; run tests/abci_golden/generate.sh" >&2
  exit 1
fi
