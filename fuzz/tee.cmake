veil_add_fuzzer(fuzz_tee_formats SOURCES fuzz_tee_formats.c fuzz_platform.c LIBS veil_tee_host MUTATIONS 3000)
target_compile_definitions(fuzz_tee_formats PRIVATE
  VEIL_TEST_ENCLAVE="${VEIL_ENCLAVE_DIR}/test_enclave.signed.so")
add_dependencies(fuzz_tee_formats test_enclave_signed)
