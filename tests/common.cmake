veil_add_test(test_common SOURCES test_common.c LIBS veil_common)

# The keyed hash table hosts index untrusted names with (put, get, delete, reserve).
veil_add_test(test_keymap SOURCES test_keymap.c LIBS veil_hostutil)
