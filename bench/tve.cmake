# The TVE daemon: check and block paths over ipc against the enclave's compute limit and
# a bare 0MQ round trip (bench_tve.c). Shares the test client (tests/support).
veil_add_bench(bench_tve veil-bench-tve
  SOURCES bench_tve.c ${CMAKE_SOURCE_DIR}/tests/support/tve_client.c
          ${CMAKE_SOURCE_DIR}/tests/support/tx_builder.c
  LIBS veil_tve_host veil_tqe_host veil_crypto_host PkgConfig::ZMQ
  DEPENDS veil veil_tve_enclave_signed veil_tqe_enclave_signed veil_tqe_enclave_test_signed)
target_include_directories(bench_tve PRIVATE ${CMAKE_SOURCE_DIR}/tests)
