# The node (src/host/node). test_node: tree, records, store, genesis, public txs (no
# TVE). test_node_tve: the ABCI application with a real `veil tve` daemon (block
# execution, app-hash determinism, plaintext scan). test_node_recovery: kill -9 of
# either process at several points, both restarted.
veil_add_test(test_node
  SOURCES test_node.c support/ias_world.c
  LIBS veil_node veil_attest_service veil_tee_host
  DEPENDS test_enclave_signed)
target_include_directories(test_node PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
veil_add_test(test_node_tve
  SOURCES test_node_tve.c support/tx_builder.c
  LIBS veil_node veil_abci veil_tee_host veil_tqe_host veil_tx
  DEPENDS veil veil_tve_enclave_signed veil_tqe_enclave_signed veil_tqe_enclave_test_signed
  TIMEOUT 600)
target_include_directories(test_node_tve PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})

# The node under a real CometBFT v0.38 (built into .deps/bin by scripts/install-deps);
# skipped (not passed) when that binary is absent.
add_test(NAME test_cometbft COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cometbft_check.sh
         $<TARGET_FILE:veil> ${CMAKE_SOURCE_DIR})
set_tests_properties(test_cometbft PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
# `veil testnet`: four validators under a real CometBFT (skipped without the binary).
add_test(NAME test_testnet COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/testnet_check.sh
         $<TARGET_FILE:veil> ${CMAKE_SOURCE_DIR})
set_tests_properties(test_testnet PROPERTIES SKIP_RETURN_CODE 77 RUN_SERIAL TRUE TIMEOUT 300)
# Key epochs on that testnet: three rotations under load (docs/key-epochs.md).
add_test(NAME test_testnet_epochs COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/testnet_epochs.sh
         $<TARGET_FILE:veil> ${CMAKE_SOURCE_DIR})
set_tests_properties(test_testnet_epochs PROPERTIES SKIP_RETURN_CODE 77 RUN_SERIAL TRUE TIMEOUT 600)
# A full node that joins after two key rotations bootstraps the old blocks' tx data
# from the validators' TDBEs (docs/tdbe.md, "Bootstrap"), replays every block to their
# app hashes and finds the old payments through its own TQE.
add_test(NAME test_bootstrap_e2e COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/bootstrap_e2e.sh
  $<TARGET_FILE:veil> ${CMAKE_SOURCE_DIR})
set_tests_properties(test_bootstrap_e2e PROPERTIES SKIP_RETURN_CODE 77 RUN_SERIAL TRUE TIMEOUT 600)
