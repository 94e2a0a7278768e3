# The TVE daemon: block path at three store sizes and check path over ipc, against the
# in-process limit and a bare 0MQ round trip (bench_tve.c). Shares the test client
# (tests/support) and the store filler (tve_fill.c).
add_library(veil_bench_tve_fill STATIC tve_fill.c)
target_include_directories(veil_bench_tve_fill PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(veil_bench_tve_fill PUBLIC veil_tve_host)

veil_add_bench(bench_tve veil-bench-tve
  SOURCES bench_tve.c ${CMAKE_SOURCE_DIR}/tests/support/tve_client.c
          ${CMAKE_SOURCE_DIR}/tests/support/tx_builder.c
  LIBS veil_bench_tve_fill veil_tve_host veil_tqe_host veil_crypto_host PkgConfig::ZMQ
  DEPENDS veil veil_tve_enclave_signed veil_tqe_enclave_signed veil_tqe_enclave_test_signed)
target_include_directories(bench_tve PRIVATE ${CMAKE_SOURCE_DIR}/tests)

# veil-tve-fill HOME N [SEALED_LEN]: the same filler by hand (not run by `make bench`).
veil_add_bench(tve_fill veil-tve-fill SOURCES tve_fill_main.c LIBS veil_bench_tve_fill)
