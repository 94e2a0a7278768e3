# The TVE enclave through its ecalls, in-process (the daemon: tve.cmake).
veil_add_test(test_tve_enclave
  SOURCES test_tve_enclave.c support/tx_builder.c
  LIBS veil_tee_host veil_tx veil_proto_tve_enclave
  DEPENDS veil_tve_enclave_signed veil_tqe_enclave_signed veil_tqe_enclave_test_signed test_enclave_signed)
