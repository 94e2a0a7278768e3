#!/usr/bin/env bash
# One path for a transaction's bytes: outside the tx core (src/trusted/tx) no code
# decodes or re-encodes a ConfidentialTx or TxPayload with protobuf-c. Hosts that only
# forward a tx carry it as bytes; where a process judges a tx it decodes it once,
# through the tx core's gated decoders (veil_tx_wire_decode, veil_tx_payload_open,
# veil_tx_validate).
# usage: one_decode.sh SOURCE_DIR
#        one_decode.sh --self-test SOURCE_DIR   (the check must catch a violation)
set -u
pattern='veil__tx__(confidential_tx|tx_payload|tx_body)__(unpack|pack|pack_to_buffer|get_packed_size)\b|&veil__tx__(confidential_tx|tx_payload|tx_body)__descriptor'

scan() { # scan DIR...: prints offending lines
  grep -rnE --include='*.c' --include='*.h' "$pattern" "$@" | grep -v '^[^:]*/src/trusted/tx/' || true
}

if [[ ${1:-} == --self-test ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/src/host" "$tmp/src/trusted/tx"
  echo 'void f(void) { veil__tx__confidential_tx__unpack(0, 0, 0); }' >"$tmp/src/host/bad.c"
  echo 'void g(void) { veil__tx__tx_payload__unpack(0, 0, 0); }' >"$tmp/src/trusted/tx/ok.c"
  out=$(scan "$tmp/src")
  [[ $out == *bad.c* && $out != *ok.c* ]] || { echo "self-test: the check missed a violation"; exit 1; }
  echo "self-test passed"
  exit 0
fi

src=$1
out=$(scan "$src/src")
if [[ -n $out ]]; then
  echo "one_decode: these lines decode or encode a tx outside the tx core:"
  echo "$out"
  exit 1
fi
echo "one_decode: no forwarding hop decodes a tx"
