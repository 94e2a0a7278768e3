# Intel SGX DCAP quotes against Intel's QVL sample data (tests/vectors/dcap-intel-sample).
veil_add_test(test_dcap SOURCES test_dcap.c LIBS veil_attest_dcap)
add_test(NAME test_attest_cli COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/attest_cli.sh
         ${CMAKE_BINARY_DIR}/veil ${VEIL_TEST_VECTORS}/dcap-intel-sample)
