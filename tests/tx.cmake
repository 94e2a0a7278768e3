# Confidential transaction core (src/trusted/tx). The fuzz target's source is compiled
# in too: test "fuzz_corpus" replays (and, with VEIL_TX_WRITE_CORPUS=<dir>, writes) the
# committed corpus through the exact fixture the fuzzer uses.
veil_add_test(test_tx
  SOURCES test_tx.c support/tx_builder.c ${CMAKE_SOURCE_DIR}/fuzz/fuzz_tx_validate.c
  LIBS veil_tx veil_crypto_host veil_proto_tve)
