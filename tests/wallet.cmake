# The wallet library (src/wallet): Bech32m and BIP-39 vectors, keys, amounts, the
# encrypted wallet file, sync against a fake chain and TQE, tx building. The fuzz
# target's source is compiled in: test "fuzz_corpus" replays fuzz/corpus/wallet_file.
veil_add_test(test_wallet
  SOURCES test_wallet.c ${CMAKE_SOURCE_DIR}/fuzz/fuzz_wallet_file.c
  LIBS veil_wallet veil_json_wipe)
target_compile_definitions(test_wallet PRIVATE
  VEIL_WALLET_CORPUS="${CMAKE_SOURCE_DIR}/fuzz/corpus/wallet_file")
# The offline commands of `veil wallet` (exit codes, one-line errors, --json).
add_test(NAME test_cli_wallet COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli_wallet.sh $<TARGET_FILE:veil>)
