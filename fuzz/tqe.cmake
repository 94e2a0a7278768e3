# The TQE's wallet protocol (src/trusted/tqe/tqe_conn.c) with a stub backend: framing,
# reassembly, strict decoding, challenge/query/encrypt handling. Corpus:
# fuzz/corpus/tqe_request/ (docs/tqe.md).
veil_add_fuzzer(fuzz_tqe_request SOURCES fuzz_tqe_request.c
  ${CMAKE_SOURCE_DIR}/tests/support/tqe_fake.c LIBS veil_tqe_core MUTATIONS 500)
target_include_directories(fuzz_tqe_request PRIVATE ${CMAKE_SOURCE_DIR}/tests)
