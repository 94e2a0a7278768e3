# The whole system end to end: devnet + demo scenario, restart, kill -9 recovery.
add_test(NAME test_devnet_e2e COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/devnet_e2e.sh $<TARGET_FILE:veil>)
set_tests_properties(test_devnet_e2e PROPERTIES TIMEOUT 600 RUN_SERIAL TRUE)
