# The TQE from a wallet's side (bench_tqe.c): attested handshakes next to plain TLS 1.3
# handshakes (same OpenSSL), EncryptRequest and QueryRequest round trips, wallet sync.
# Runs `veil devnet` (and a second `veil tqe` without the rate limit) as children.
veil_add_bench(bench_tqe veil-bench-tqe
  SOURCES bench_tqe.c
  LIBS veil_devnet veil_wallet veil_ratls veil_tx veil_crypto_host
       PkgConfig::SODIUM PkgConfig::LIBSSL PkgConfig::LIBCRYPTO PkgConfig::JANSSON Threads::Threads
  DEPENDS veil veil_tve_enclave_signed veil_tqe_enclave_signed)
target_include_directories(bench_tqe PRIVATE ${CMAKE_SOURCE_DIR}/src)
