# The dev chain's JSON-RPC request parsing (src/host/devchain/rpc_request.c): POST bodies
# and URI queries. Corpus: fuzz/corpus/rpc_request/ (hand-written, see the target's
# header comment).
veil_add_fuzzer(fuzz_rpc_request SOURCES fuzz_rpc_request.c LIBS veil_devchain MUTATIONS 3000)
