# The TQE daemon end to end (`veil tve` + `veil tqe`, TLS 1.3 clients, a stub node RPC):
# encrypt, blind queries, hostile input, concurrency, rate limit, no plaintext at rest.
veil_add_test(test_tqe TIMEOUT 120
  SOURCES test_tqe.c support/tve_client.c support/tx_builder.c support/ias_world.c
  LIBS veil_ratls veil_attest_service veil_tee_host veil_tx veil_proto_tve veil_proto_tqe veil_proto_node PkgConfig::ZMQ
       PkgConfig::LIBSSL PkgConfig::LIBCRYPTO PkgConfig::SODIUM Threads::Threads
  DEPENDS veil veil_tve_enclave_signed veil_tqe_enclave_signed)
# The protocol core in-process with a stub host (framing, challenge, view-key filter,
# host answers that do not match the question).
veil_add_test(test_tqe_conn SOURCES test_tqe_conn.c support/tx_builder.c support/tqe_fake.c
  LIBS veil_tqe_core PkgConfig::SODIUM)
# The TDBE (src/host/tdbe, src/trusted/tdbe): key sharing between platforms' TVEs over
# mutually attested TLS, and the refusals (debug, another signer, another authority,
# an out-of-date TCB, an expired certificate, a key that is not the chain's, a key the
# host offers the TVE directly). Images in other identities are signed here.
veil_sign_enclave(veil_tve_enclave veil_tve_enclave_debug PRODID 1 SVN 1 DEBUG
  KEY ${VEIL_DEV_SIGNER_KEY})
veil_sign_enclave(veil_tdbe_enclave veil_tdbe_enclave_debug PRODID 3 SVN 1 DEBUG
  KEY ${VEIL_DEV_SIGNER_KEY})
veil_sign_enclave(veil_tve_enclave veil_tve_enclave_othersigner PRODID 1 SVN 1
  KEY ${OTHER_SIGNER_KEY})
veil_sign_enclave(veil_tdbe_enclave veil_tdbe_enclave_othersigner PRODID 3 SVN 1
  KEY ${OTHER_SIGNER_KEY})
veil_add_test(test_tdbe TIMEOUT 120
  SOURCES test_tdbe.c
  LIBS veil_tdbe_host veil_tve_host veil_tee_host veil_proto_tve Threads::Threads
  DEPENDS veil_tve_enclave_signed veil_tdbe_enclave_signed veil_tve_enclave_debug_signed
          veil_tdbe_enclave_debug_signed veil_tve_enclave_othersigner_signed
          veil_tdbe_enclave_othersigner_signed)
