# The whole devnet (bench_devnet.c): confidential transfers broadcast through the dev
# chain's RPC until committed, next to veil-bench-tve's block-path figure. Runs
# `veil devnet` as a child; veil_devnet gives the home layout and RPC helper.
veil_add_bench(bench_devnet veil-bench-devnet
  SOURCES bench_devnet.c
  LIBS veil_devnet veil_tqe_host veil_tx veil_crypto_host PkgConfig::SODIUM Threads::Threads
  DEPENDS veil bench_tve veil_tve_enclave_signed veil_tqe_enclave_signed veil_tqe_enclave_test_signed)
target_include_directories(bench_devnet PRIVATE ${CMAKE_SOURCE_DIR}/src)
# The same transfers through `veil testnet` (4 validators under CometBFT, each TVE
# verifying every tx): testnet_confidential_tx_per_s, testnet_commit_p50_ms / _p99_ms.
# Admission through four CometBFT RPCs is latency-bound: 96 client threads keep it busy.
veil_add_bench(bench_testnet veil-bench-testnet
  SOURCES bench_devnet.c
  LIBS veil_devnet veil_tqe_host veil_tx veil_crypto_host PkgConfig::SODIUM Threads::Threads
  DEPENDS veil veil_tve_enclave_signed veil_tqe_enclave_signed veil_tqe_enclave_test_signed
          veil_tdbe_enclave_signed)
target_include_directories(bench_testnet PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_compile_definitions(bench_testnet PRIVATE BENCH_TESTNET=1 BROADCASTERS=96)
