# ABCI wire layer (src/host/abci): framing, golden frames, the socket server driven as
# CometBFT drives it, malformed input, the client.
veil_add_test(test_abci SOURCES test_abci.c LIBS veil_abci TIMEOUT 120)
# The golden frames are what Google's protoc makes of tests/abci_golden/*.txt (skipped
# when protoc is not installed).
add_test(NAME abci_golden_protoc
         COMMAND ${CMAKE_SOURCE_DIR}/tests/abci_golden/generate.sh --check)
set_tests_properties(abci_golden_protoc PROPERTIES SKIP_RETURN_CODE 77)
