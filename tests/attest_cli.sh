#!/usr/bin/env bash
# veil attest verify-quote on Intel's QVL sample: the verdict at a time the sample is
# valid (text and JSON), its refusal after the PCK certificate expired, and usage errors.
# usage: attest_cli.sh VEIL SAMPLE_DIR
set -u
veil=$1 dir=$2
fails=0
check() { if [[ $2 == "$3" ]]; then :; else echo "FAIL: $1 (got '$3', wanted '$2')"; fails=$((fails + 1)); fi; }

out=$("$veil" attest verify-quote "$dir/quote.dat" --collateral "$dir" --at 2025-01-01T00:00:00Z)
check "exit, valid time" 0 $?
check "verdict" "verified: UpToDate (platform UpToDate, QE UpToDate)" "$(head -n1 <<<"$out")"
json=$("$veil" attest verify-quote "$dir/quote.dat" --collateral "$dir" --at 1735689600 --json)
check "json exit" 0 $?
check "json status" "UpToDate 00707f000000 True True" "$(python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(j["status"], j["fmspc"], j["verified"], j["accepted"])' "$json")"
"$veil" attest verify-quote "$dir/quote.dat" --collateral "$dir" --at 1735689600 --accept OutOfDate >/dev/null
check "--accept OutOfDate" 0 $?
"$veil" attest verify-quote "$dir/quote.dat" --collateral "$dir" --at 1735689600 --accept Revoked >/dev/null 2>&1
check "--accept Revoked" 2 $?

err=$("$veil" attest verify-quote "$dir/quote.dat" --collateral "$dir" --at 2026-12-01T00:00:00Z 2>&1 >/dev/null)
check "exit, expired" 1 $?
[[ $err == *"outside its validity"* ]] || { echo "FAIL: expired message: $err"; fails=$((fails + 1)); }
json=$("$veil" attest verify-quote "$dir/quote.dat" --collateral "$dir" --at 2026-12-01T00:00:00Z --json 2>/dev/null)
check "json code, expired" "620 False" "$(python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(j["code"], j["verified"])' "$json")"

"$veil" attest verify-quote "$dir/quote.dat" >/dev/null 2>&1
check "no --collateral" 2 $?
"$veil" attest verify-quote "$dir/quote.dat" --collateral "$dir" --at yesterday >/dev/null 2>&1
check "bad --at" 2 $?
"$veil" attest verify-quote "$dir/tcbInfo.json" --collateral "$dir" --at 1735689600 >/dev/null 2>&1
check "not a quote" 1 $?
"$veil" attest verify-quote --help | grep -q "collateral PATH"
check "--help" 0 $?

if [[ $fails -gt 0 ]]; then echo "attest_cli: $fails failure(s)"; exit 1; fi
echo "attest_cli: all checks passed"
