# DCAP quotes and collateral (src/host/attest): mode byte || quote, TCB info or QE identity.
# Corpus: fuzz/corpus/dcap/ (Intel's sample quote and documents, with their mode byte).
veil_add_fuzzer(fuzz_dcap SOURCES fuzz_dcap.c LIBS veil_attest_dcap)
target_compile_definitions(fuzz_dcap PRIVATE VEIL_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
# IAS-style report bodies, signed in the target so the JSON stage is reached.
# Corpus: fuzz/corpus/ias_report/.
veil_add_fuzzer(fuzz_ias_report SOURCES fuzz_ias_report.c LIBS veil_attest_dcap MUTATIONS 300)
# The attestation service's report call on hostile request bodies (JSON, base64, quote).
# Corpus: fuzz/corpus/ias_service/.
veil_add_fuzzer(fuzz_ias_service SOURCES fuzz_ias_service.c fuzz_platform.c
  LIBS veil_attest_service veil_tee_host MUTATIONS 300)
