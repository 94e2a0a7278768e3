# TEE layer tests: enclave images in several identities, the sim backend, the CLI and
# the trusted-boundary checks.
set(TE_SRC ${CMAKE_CURRENT_SOURCE_DIR}/enclave/test_enclave.c)
veil_add_enclave(test_enclave PRODID 7 SVN 1 SOURCES ${TE_SRC})
veil_add_enclave(test_enclave_b PRODID 7 SVN 1 SOURCES ${TE_SRC} DEFINES TEST_ENCLAVE_VARIANT=2)
veil_sign_enclave(test_enclave test_enclave_svn2 PRODID 7 SVN 2)
veil_sign_enclave(test_enclave test_enclave_prodid8 PRODID 8 SVN 1)
veil_sign_enclave(test_enclave test_enclave_debug PRODID 7 SVN 1 DEBUG)
set(OTHER_SIGNER_KEY ${CMAKE_BINARY_DIR}/test-other-signer.key)
add_custom_command(OUTPUT ${OTHER_SIGNER_KEY}
  COMMAND veil-enclave keygen --out ${OTHER_SIGNER_KEY})
veil_sign_enclave(test_enclave test_enclave_othersigner PRODID 7 SVN 1 KEY ${OTHER_SIGNER_KEY})

veil_add_test(test_tee_sim SOURCES test_tee_sim.c LIBS veil_tee_host
  DEPENDS test_enclave_signed test_enclave_b_signed test_enclave_svn2_signed
          test_enclave_prodid8_signed test_enclave_debug_signed test_enclave_othersigner_signed)
target_include_directories(test_tee_sim PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/enclave)

add_test(NAME test_enclave_cli
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli_enclave.sh $<TARGET_FILE:veil> ${VEIL_ENCLAVE_DIR})
add_test(NAME test_trusted_boundary
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/trusted_boundary.sh ${CMAKE_SOURCE_DIR} ${VEIL_ENCLAVE_DIR})
add_test(NAME test_trusted_boundary_selftest
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/trusted_boundary.sh --self-test ${CMAKE_SOURCE_DIR})
# One path for a tx's bytes: no host decodes or re-encodes a tx outside the tx core.
add_test(NAME test_one_decode COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/one_decode.sh ${CMAKE_SOURCE_DIR})
add_test(NAME test_one_decode_selftest
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/one_decode.sh --self-test ${CMAKE_SOURCE_DIR})
# make install's layout and how an installed veil finds its enclave images.
add_test(NAME test_install
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/install.sh ${CMAKE_BINARY_DIR} ${VEIL_ENCLAVE_INSTALL_DIR})
# The TEE seam with a second, minimal backend (no attestation, no ocalls).
veil_add_test(test_tee_minimal SOURCES test_tee_minimal.c
  ${CMAKE_SOURCE_DIR}/src/trusted/tve/tve_channel.c
  LIBS veil_ratls_trusted veil_tee_trusted veil_tee_common veil_crypto veil_common PkgConfig::SODIUM)
# Docs that can be checked by a machine: JSON examples, README's commands, no "planned".
add_test(NAME test_docs COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/docs_check.sh ${CMAKE_SOURCE_DIR}
  $<TARGET_FILE:veil>)
