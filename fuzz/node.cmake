# The node's ChainTx envelope and public-tx rules (src/host/node).
# Corpus: fuzz/corpus/node_tx/ (regenerate with VEIL_NODE_WRITE_CORPUS=<dir> test_node).
veil_add_fuzzer(fuzz_node_tx SOURCES fuzz_node_tx.c LIBS veil_node)
