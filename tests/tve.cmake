# The TVE daemon end to end (`veil tve` over 0MQ ipc, kill -9, hostile frames). The
# enclave on its own: tve_enclave.cmake. Shared client: support/tve_client.c.
veil_add_test(test_tve TIMEOUT 600
  SOURCES test_tve.c support/tve_client.c support/tx_builder.c
  LIBS veil_tee_host veil_tqe_host veil_tx veil_proto_tve PkgConfig::ZMQ PkgConfig::LMDB
  DEPENDS veil veil_tve_enclave_signed veil_tqe_enclave_signed veil_tqe_enclave_test_signed)

# The TVE store's layout on its own (appends by place, the txid index, refusals).
veil_add_test(test_tve_store SOURCES test_tve_store.c LIBS veil_tve_host)
