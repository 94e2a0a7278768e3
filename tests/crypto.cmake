veil_add_test(test_crypto SOURCES test_crypto.c LIBS veil_crypto_host)
