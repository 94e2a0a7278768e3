# The node's ChainTx envelope and public-tx rules (src/host/node).
# Corpus: fuzz/corpus/node_tx/ (regenerate with VEIL_NODE_WRITE_CORPUS=<dir> test_node).
veil_add_fuzzer(fuzz_node_tx SOURCES fuzz_node_tx.c LIBS veil_node)

# App-hash proofs as clients receive them: decode and verify against a fixed tree.
# Corpus: fuzz/corpus/smt_proof/ (real proofs of that tree, from the independent
# reference: tests/smt_reference.py corpus fuzz/corpus/smt_proof).
veil_add_fuzzer(fuzz_smt_proof SOURCES fuzz_smt_proof.c LIBS veil_node)
