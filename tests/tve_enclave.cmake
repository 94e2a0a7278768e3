# The TVE enclave through its ecalls, in-process (the daemon: tve.cmake).
veil_add_test(test_tve_enclave
  SOURCES test_tve_enclave.c support/tx_builder.c
  LIBS veil_tee_host veil_tx veil_proto_tve_enclave
  DEPENDS veil_tve_enclave_signed veil_tqe_enclave_signed veil_tqe_enclave_test_signed test_enclave_signed)
# Key epochs and breach containment (docs/key-epochs.md): the TVE image with the breach
# hook and a TQE image signed by the same (test) signer, for the hand-off.
veil_sign_enclave(veil_tqe_enclave_test veil_tqe_enclave_test_ts PRODID 2 SVN 1)
veil_add_test(test_key_epochs
  SOURCES test_key_epochs.c support/tx_builder.c
  LIBS veil_tee_host veil_tx veil_proto_tve_enclave
  DEPENDS veil_tve_enclave_breach_signed veil_tqe_enclave_test_ts_signed)
