#!/usr/bin/env bash
# `veil wallet` offline commands end to end: create, restore (words, hex, stdin),
# addresses, watch-only, balance --offline, history, exit codes and one-line errors.
# usage: cli_wallet.sh VEIL
set -u
veil=$1
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
export VEIL_WALLET_KDF=min VEIL_WALLET_PASSPHRASE=correct-horse
unset VEIL_WALLET
fails=0 passes=0
check() { # check "what" expected_rc actual_rc
  if [[ $2 == "$3" ]]; then passes=$((passes + 1)); else echo "FAIL: $1 (exit $3, wanted $2)"; fails=$((fails + 1)); fi
}
contains() { # contains "what" file pattern
  if grep -q -- "$3" "$2"; then passes=$((passes + 1)); else echo "FAIL: $1: '$3' not in: $(cat "$2")"; fails=$((fails + 1)); fi
}
jget() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"; }

"$veil" wallet create --wallet "$tmp/a.w" --json >"$tmp/a.json"; check "create" 0 $?
[[ $(stat -c %a "$tmp/a.w") == 600 ]]; check "wallet file is 0600" 0 $?
words=$(jget "$tmp/a.json" '["seed_words"]')
addr=$(jget "$tmp/a.json" '["address"]')
[[ $(wc -w <<<"$words") == 24 ]]; check "24 seed words" 0 $?
[[ $addr == veil1* && ${#addr} == 63 ]]; check "address is veil1..., 63 chars" 0 $?
"$veil" wallet create --wallet "$tmp/a.w" 2>"$tmp/err"; check "create refuses to overwrite" 1 $?
contains "overwrite message" "$tmp/err" "^veil: wallet create: "
[[ $(wc -l <"$tmp/err") == 1 ]]; check "one-line error" 0 $?

"$veil" wallet restore --wallet "$tmp/b.w" --seed-words "$words" --json >"$tmp/b.json"; check "restore words" 0 $?
[[ $(jget "$tmp/b.json" '["address"]') == "$addr" ]]; check "restored address equals" 0 $?
echo "$words" | "$veil" wallet restore --wallet "$tmp/c.w" --seed-words - >/dev/null; check "restore words from stdin" 0 $?
"$veil" wallet create --wallet "$tmp/h.w" --hex --json >"$tmp/h.json"; check "create --hex" 0 $?
hex=$(jget "$tmp/h.json" '["seed_hex"]')
"$veil" wallet restore --wallet "$tmp/h2.w" --seed-hex "$hex" --json >"$tmp/h2.json"; check "restore hex" 0 $?
[[ $(jget "$tmp/h2.json" '["address"]') == $(jget "$tmp/h.json" '["address"]') ]]; check "hex restore equals" 0 $?
"$veil" wallet restore --wallet "$tmp/x.w" --seed-words "zoo zoo zoo" 2>"$tmp/err"; check "bad words" 1 $?
contains "bad words message" "$tmp/err" "invalid seed words"

"$veil" wallet addresses --wallet "$tmp/a.w" --export-view-secret --json >"$tmp/ad.json"; check "addresses" 0 $?
vsk=$(jget "$tmp/ad.json" '["view_secret"]')
"$veil" wallet create --wallet "$tmp/w.w" --watch-only-from "$vsk" --spend-pubkey "$addr" --json >"$tmp/w.json"
check "create watch-only" 0 $?
[[ $(jget "$tmp/w.json" '["watch_only"]') == True && $(jget "$tmp/w.json" '["address"]') == "$addr" ]]
check "watch-only has the same address" 0 $?
pay=$(jget "$tmp/ad.json" '["payment_address"]')
[[ $pay == veilpay1* ]]; check "addresses shows a payment address" 0 $?
"$veil" wallet send --wallet "$tmp/w.w" --to "$pay" --amount 1 --rpc http://127.0.0.1:1 2>"$tmp/err"
check "watch-only cannot send" 1 $?
contains "watch-only message" "$tmp/err" "watch-only wallet cannot sign"
# A payment the recipient could never find is refused before anything happens: a bare
# spend address needs the view key (a usage error, exit 2, naming the way out).
"$veil" wallet send --wallet "$tmp/a.w" --to "$addr" --amount 1 --rpc http://127.0.0.1:1 2>"$tmp/err"
check "send to a spend address without --to-view is refused" 2 $?
contains "the refusal names the payment address" "$tmp/err" "veilpay1"
"$veil" wallet send --wallet "$tmp/a.w" --to "$pay" --to-view "$(jget "$tmp/ad.json" '["view_key"]')" \
  --amount 1 2>/dev/null
check "payment address plus --to-view is a usage error" 2 $?
typo=x; [[ ${pay:20:1} == x ]] && typo=q
"$veil" wallet send --wallet "$tmp/a.w" --to "${pay:0:20}$typo${pay:21}" --amount 1 2>"$tmp/err"
check "a mistyped payment address is refused" 1 $?
contains "the typo is named" "$tmp/err" "not a payment address"

VEIL_WALLET_PASSPHRASE=wrong "$veil" wallet addresses --wallet "$tmp/a.w" --json >"$tmp/e.json" 2>"$tmp/err"
check "wrong passphrase" 1 $?
[[ $(jget "$tmp/e.json" '["error"]["code"]') == 940 ]]; check "wrong passphrase is 940" 0 $?
( unset VEIL_WALLET_PASSPHRASE; "$veil" wallet addresses --wallet "$tmp/a.w" </dev/null 2>"$tmp/err" )
check "no passphrase source is a usage error" 2 $?
printf 'correct-horse\n' >"$tmp/pass"
( unset VEIL_WALLET_PASSPHRASE; "$veil" wallet addresses --wallet "$tmp/a.w" --passphrase-file "$tmp/pass" >/dev/null )
check "--passphrase-file" 0 $?

# Ctrl-C at the passphrase prompt puts the terminal's echo back.
python3 "$(dirname "$0")/support/tty_prompt.py" "$veil" "$tmp/a.w" >"$tmp/tty.out" 2>&1
check "an interrupted prompt restores echo ($(tr '\n' ' ' <"$tmp/tty.out"))" 0 $?
# Two commands on one wallet file: the second waits for the first, and says so.
flock "$tmp/a.w.lock" sleep 2 &
holder=$!
sleep 0.3
"$veil" wallet addresses --wallet "$tmp/a.w" >/dev/null 2>"$tmp/err"; check "a locked wallet is waited for" 0 $?
contains "the wait is announced" "$tmp/err" "waiting for another command"
wait "$holder"

"$veil" wallet balance --wallet "$tmp/a.w" --offline --json >"$tmp/bal.json"; check "balance --offline" 0 $?
[[ $(jget "$tmp/bal.json" '["spendable"]') == 0.00000000 ]]; check "empty balance" 0 $?
"$veil" wallet history --wallet "$tmp/a.w" --json >/dev/null; check "history" 0 $?
"$veil" wallet send --wallet "$tmp/a.w" --to "$pay" --amount 1.000000001 2>/dev/null; check "too many decimals" 2 $?
"$veil" wallet send --wallet "$tmp/a.w" --to veil1nope --amount 1 2>/dev/null; check "bad address" 1 $?
"$veil" wallet sync --wallet "$tmp/a.w" 2>"$tmp/err"; check "sync without a TQE is a usage error" 2 $?
contains "sync says why" "$tmp/err" "no TQE configured"
"$veil" wallet sync --wallet "$tmp/a.w" --tqe 127.0.0.1:1 --tqe-collateral /dev/null 2>"$tmp/err"
check "sync refuses an unpinned TQE identity (usage)" 2 $?
contains "policy message" "$tmp/err" "tqe-mrsigner"
"$veil" wallet balance --wallet "$tmp/a.w" --rpc http://127.0.0.1:1 2>/dev/null; check "unreachable RPC fails" 1 $?
"$veil" wallet nope 2>/dev/null; check "unknown command" 2 $?
for c in create restore addresses balance sync history send deposit unbond withdraw; do
  "$veil" wallet $c --help >"$tmp/help"; check "$c --help" 0 $?
  # Each command explains its own options and lists only the network options it uses.
  case $c in
    create|restore|addresses|history) ! grep -q -- "--rpc\|--tqe" "$tmp/help" ;;
    balance|unbond) grep -q -- "--rpc" "$tmp/help" && ! grep -q -- "--tqe" "$tmp/help" ;;
    *) grep -q -- "--tqe-collateral" "$tmp/help" ;;
  esac
  check "$c --help lists the network options it uses, and only those" 0 $?
done
# An option of another command is refused, not ignored.
"$veil" wallet create --wallet "$tmp/n.w" --to "$pay" 2>"$tmp/err"; check "create --to is refused" 2 $?
contains "foreign option message" "$tmp/err" "is not an option of this command"
[[ ! -e $tmp/n.w ]]; check "nothing was created" 0 $?
"$veil" wallet history --wallet "$tmp/a.w" --rpc http://127.0.0.1:1 2>/dev/null
check "history (offline) refuses --rpc" 2 $?
# devnet --help names its status command, explains every flag and DIR's layout.
"$veil" devnet --help >"$tmp/help"
grep -q "veil devnet status" "$tmp/help" && grep -q -- "--block-time T" "$tmp/help" &&
  grep -q -- "--tqe-port N" "$tmp/help" && grep -q "wallets/" "$tmp/help"
check "devnet --help: status, each flag, DIR/wallets/" 0 $?
# Shell completion: commands from veil's table, options from each command's --help.
comp=$(bash -c 'source <("$1" completion bash) && COMP_WORDS=("$1" wallet send --to) COMP_CWORD=3 && _veil && echo "${COMPREPLY[*]}"' _ "$veil")
[[ $comp == "--to --to-view" ]]; check "completion offers send's --to options ($comp)" 0 $?
comp=$(bash -c 'source <("$1" completion bash) && COMP_WORDS=("$1" wal) COMP_CWORD=1 && _veil && echo "${COMPREPLY[*]}"' _ "$veil")
[[ $comp == wallet ]]; check "completion completes a command ($comp)" 0 $?
grep -q -- "--to PAYMENT-ADDRESS  *the recipient" <("$veil" wallet send --help)
check "send --help explains --to" 0 $?
"$veil" tve --no-such-flag 2>"$tmp/err"; check "unknown option of a daemon" 2 $?
[[ $(wc -l <"$tmp/err") == 1 ]] && grep -q "unknown option or missing value: '--no-such-flag'" "$tmp/err"
check "one line, one wording for unknown options" 0 $?

# Item 7 of the attack review: a TQE that closed connections at once (all its slots
# taken) killed the wallet with SIGPIPE: exit 141, no message. Now: exit 1, one line.
python3 "$(dirname "$0")/support/closing_server.py" "$tmp/port" 30 &
closer=$!
for _ in $(seq 1 50); do [[ -f $tmp/port ]] && break; sleep 0.1; done
for i in 1 2 3; do
  "$veil" wallet sync --wallet "$tmp/a.w" --rpc http://127.0.0.1:1 --tqe "127.0.0.1:$(cat "$tmp/port")" \
    --tqe-collateral /dev/null --tqe-mrsigner "$(printf '%064d' 0)" >/dev/null 2>"$tmp/err"
  check "item7: a TQE closing the connection is an error, not SIGPIPE (try $i)" 1 $?
  contains "item7: says what failed" "$tmp/err" "^veil: wallet sync: TLS handshake failed"
done
kill "$closer" 2>/dev/null; wait "$closer" 2>/dev/null

echo "$passes passed, $fails failed"
[[ $fails == 0 ]]
