# The wallet file: header checks, AEAD refusal and the JSON body parser
# (src/wallet/wallet_file.c). Corpus: fuzz/corpus/wallet_file/ (see the target's
# header comment; tests/test_wallet.c replays it).
veil_add_fuzzer(fuzz_wallet_file SOURCES fuzz_wallet_file.c LIBS veil_wallet MUTATIONS 300)
