# Confidential transaction decode + validate (src/trusted/tx).
# Corpus: fuzz/corpus/tx_validate/ (regenerate with tests/test_tx, see docs/transactions.md).
veil_add_fuzzer(fuzz_tx_validate SOURCES fuzz_tx_validate.c LIBS veil_tx)
