# The dev chain (src/host/devchain): CometBFT encodings against vectors in
# tests/devchain_vectors/, the key/genesis/mempool/store/RPC-parsing units, and a run
# of the real `veil devchain` binary against an in-test ABCI app over a unix socket.
veil_add_test(test_devchain
  SOURCES test_devchain.c
  LIBS veil_devchain veil_abci veil_crypto_host PkgConfig::CURL
  DEPENDS veil
  TIMEOUT 180)
