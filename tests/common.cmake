veil_add_test(test_common SOURCES test_common.c LIBS veil_common)
