# Intel SGX DCAP quotes: Intel's QVL sample data (tests/vectors/dcap-intel-sample), and
# worlds generated under a test root (support/dcap_factory.c) for every verdict.
veil_add_test(test_dcap SOURCES test_dcap.c support/dcap_factory.c LIBS veil_attest_dcap veil_tee_host)
target_include_directories(test_dcap PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
add_test(NAME test_attest_cli COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/attest_cli.sh
         ${CMAKE_BINARY_DIR}/veil ${VEIL_TEST_VECTORS}/dcap-intel-sample)
# IAS-style attestation reports under a generated RSA report-signing root.
veil_add_test(test_ias SOURCES test_ias.c support/dcap_factory.c LIBS veil_attest_dcap veil_tee_host)
target_include_directories(test_ias PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
# The IAS-style service (HTTPS) and the per-node proxy (HTTP), in-process on loopback,
# with a simulated enclave's quote.
veil_add_test(test_ias_service SOURCES test_ias_service.c support/ias_world.c
  LIBS veil_attest_service veil_tee_host PkgConfig::CURL
  DEPENDS test_enclave_signed)
add_test(NAME test_attest_service_cli COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/attest_service_cli.sh
         ${CMAKE_BINARY_DIR}/veil ${VEIL_TEST_VECTORS}/dcap-intel-sample)
target_include_directories(test_ias_service PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
