/* Ecall indices of the test enclave (tests/enclave/test_enclave.c). */
#ifndef VEIL_TESTS_TEST_ENCLAVE_H
#define VEIL_TESTS_TEST_ENCLAVE_H

enum test_enclave_ecall {
    TE_PING = 0,
    TE_SEAL = 1,
    TE_UNSEAL = 2,
    TE_REPORT = 3,
    TE_VERIFY_REPORT = 4,
    TE_QUOTE = 5,
    TE_DERIVE = 6,
    TE_IDENTITY = 7,
    TE_ALLOC = 8,
    TE_OCALL_ECHO = 9,
    TE_COUNTER = 10,
};

#endif
