/* Ecall indices of the attested-TLS test enclave (tests/enclave/ratls_test_enclave.c). */
#ifndef VEIL_TESTS_RATLS_TEST_ENCLAVE_H
#define VEIL_TESTS_RATLS_TEST_ENCLAVE_H

enum ratls_test_ecall {
    RT_CREATE_IDENTITY = 0, /* in: now u64 -> out: certificate DER */
    RT_CERT = 1,            /* -> certificate DER of the current identity */
    RT_NEW_SESSION = 2,     /* -> slot u32 */
    RT_FEED = 3,            /* in: slot u32 || network bytes -> flags u8 || bytes to send */
    RT_FREE_SESSION = 4,    /* in: slot u32 */
    RT_NEEDS_RENEWAL = 5,   /* in: now u64 -> u8 */
    RT_RESET = 6,           /* frees the identity and all sessions (before unloading) */
};

/* RT_FEED output flags. */
#define RT_FLAG_CLOSED 1u
#define RT_FLAG_MORE 2u /* more bytes queued: call RT_FEED again with no input */
#define RT_FLAG_HANDSHAKE_DONE 4u
#define RT_MAX_SESSIONS 8u

#endif
