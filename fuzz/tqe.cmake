# The TQE's wallet protocol (src/trusted/tqe/tqe_conn.c) with a stub backend: framing,
# reassembly, strict decoding, challenge/query/encrypt handling. Corpus:
# fuzz/corpus/tqe_request/ (docs/tqe.md).
veil_add_fuzzer(fuzz_tqe_request SOURCES fuzz_tqe_request.c
  ${CMAKE_SOURCE_DIR}/tests/support/tqe_fake.c LIBS veil_tqe_core MUTATIONS 500)
target_include_directories(fuzz_tqe_request PRIVATE ${CMAKE_SOURCE_DIR}/tests)
# The chain-state answers a TQE enclave checks (src/trusted/tqe/tqe_state.c): the request
# decoder, and the answer verifier on hostile answers and records in a tree whose proofs
# verify. Corpus: fuzz/corpus/tqe_state/ (docs/tqe.md, "Chain state").
veil_add_fuzzer(fuzz_tqe_state SOURCES fuzz_tqe_state.c LIBS veil_tqe_core)
