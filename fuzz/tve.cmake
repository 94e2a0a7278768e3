# TVE request handling (src/host/tve): frames straight into tve_service_handle, with the
# real TVE enclave. Corpus: fuzz/corpus/tve_request/, written by tests/test_tve with
# VEIL_TVE_WRITE_CORPUS=<dir> (docs/tve-protocol.md).
veil_add_fuzzer(fuzz_tve_request SOURCES fuzz_tve_request.c LIBS veil_tve_host MUTATIONS 200)
target_compile_definitions(fuzz_tve_request PRIVATE
  VEIL_TVE_ENCLAVE="${VEIL_ENCLAVE_DIR}/veil_tve_enclave.signed.so")
add_dependencies(fuzz_tve_request veil_tve_enclave_signed)
