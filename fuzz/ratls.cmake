veil_add_fuzzer(fuzz_ratls_cert SOURCES fuzz_ratls_cert.c fuzz_platform.c LIBS veil_ratls MUTATIONS 2000)
