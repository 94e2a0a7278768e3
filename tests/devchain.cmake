# The dev chain (src/host/devchain): CometBFT encodings against vectors in
# tests/devchain_vectors/, the key/genesis/mempool/store/RPC-parsing units, and a run
# of the real `veil devchain` binary against an in-test ABCI app over a unix socket.
veil_add_test(test_devchain
  SOURCES test_devchain.c
  LIBS veil_devchain veil_abci veil_crypto_host PkgConfig::CURL
  DEPENDS veil
  TIMEOUT 180)

# A real CometBFT client library (CosmJS's Comet38Client, pinned) against a devnet's
# dev chain RPC; skipped (not passed) without Node.js or the npm registry.
add_test(NAME test_cosmjs COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cosmjs_check.sh
         $<TARGET_FILE:veil> ${CMAKE_BINARY_DIR})
set_tests_properties(test_cosmjs PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300 RUN_SERIAL TRUE)
