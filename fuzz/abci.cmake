# ABCI frame reader + Request decode + dispatch (src/host/abci).
# Corpus: fuzz/corpus/abci_frame/ (golden request frames from tests/abci_golden and
# malformed streams; see docs/abci.md).
veil_add_fuzzer(fuzz_abci_frame SOURCES fuzz_abci_frame.c LIBS veil_abci MUTATIONS 3000)
