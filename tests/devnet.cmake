# The whole system end to end: devnet + demo scenario, restart, kill -9 recovery.
add_test(NAME test_devnet_e2e COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/devnet_e2e.sh $<TARGET_FILE:veil>
         ${CMAKE_SOURCE_DIR}/scripts/demo-scenario)
set_tests_properties(test_devnet_e2e PROPERTIES TIMEOUT 600 RUN_SERIAL TRUE)
# make demo's scenario: wallets over attested TLS to the TQE, through the whole system.
add_test(NAME test_demo COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/demo_check.sh ${CMAKE_SOURCE_DIR}
         ${CMAKE_BINARY_DIR})
set_tests_properties(test_demo PROPERTIES TIMEOUT 900 RUN_SERIAL TRUE
  PASS_REGULAR_EXPRESSION "demo: story complete")
# Key epochs on a devnet: three rotations while two wallets pay each other, no payment
# lost, each key drawn once and destroyed after its grace period, old payments readable
# after a restart.
add_test(NAME test_key_epochs_e2e COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/key_epochs_e2e.sh $<TARGET_FILE:veil>)
set_tests_properties(test_key_epochs_e2e PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE)
