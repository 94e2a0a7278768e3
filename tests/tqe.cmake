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
