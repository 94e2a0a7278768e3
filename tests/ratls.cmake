# Attested TLS: a test enclave serving TLS 1.3 (echo), signed in several identities,
# the verifier and client against it, and the real `openssl s_client`.
set(RT_SRC ${CMAKE_CURRENT_SOURCE_DIR}/enclave/ratls_test_enclave.c)
veil_add_enclave(ratls_test_enclave PRODID 9 SVN 1 SOURCES ${RT_SRC} LIBS veil_ratls_trusted)
veil_sign_enclave(ratls_test_enclave ratls_test_enclave_svn2 PRODID 9 SVN 2)
veil_sign_enclave(ratls_test_enclave ratls_test_enclave_debug PRODID 9 SVN 1 DEBUG)
set(RATLS_OTHER_SIGNER_KEY ${CMAKE_BINARY_DIR}/test-ratls-other-signer.key)
add_custom_command(OUTPUT ${RATLS_OTHER_SIGNER_KEY}
  COMMAND veil-enclave keygen --out ${RATLS_OTHER_SIGNER_KEY})
veil_sign_enclave(ratls_test_enclave ratls_test_enclave_othersigner PRODID 9 SVN 1
                  KEY ${RATLS_OTHER_SIGNER_KEY})

find_program(OPENSSL_EXECUTABLE openssl)
veil_add_test(test_ratls SOURCES test_ratls.c support/ias_world.c LIBS veil_ratls veil_attest_service Threads::Threads TIMEOUT 120
  DEPENDS ratls_test_enclave_signed ratls_test_enclave_svn2_signed
          ratls_test_enclave_debug_signed ratls_test_enclave_othersigner_signed
          veil_tqe_enclave_signed test_enclave_signed test_enclave_debug_signed
          test_enclave_svn2_signed)
target_include_directories(test_ratls PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/enclave ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(test_ratls PRIVATE OPENSSL_EXE="${OPENSSL_EXECUTABLE}")
