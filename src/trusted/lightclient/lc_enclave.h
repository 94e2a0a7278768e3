/* lc_enclave.h — an enclave's one light client (docs/light-client.md), as the TDBE and
 * the TQE run it: the bodies of their LC_INIT / LC_RESUME / LC_UPDATE ecalls, and the
 * verified app hashes and header times other code of the enclave reads.
 *
 * Enclave code: it seals with tee_seal (TEE_POLICY_MRENCLAVE, associated data
 * LC_ENCLAVE_AAD || u64 BE height), so a sealed state opens only in the image that
 * sealed it, and only as the height it claims. Each seal is numbered with a platform
 * monotonic counter (tee_counter_increment; the counter's id is drawn at INIT): the
 * plaintext is counter id (32) || counter value (u64 BE) || lc_state encoding, and
 * RESUME refuses a state whose value is not the counter's current one
 * (VEIL_ERR_LC_ROLLBACK): an older copy of the enclave's own state. Thread-safe.
 *
 * Byte layouts (big-endian). Host time: i64 seconds || u32 nanoseconds.
 *   INIT in:   host time || trusting period ns (u64) || max clock drift ns (u64) ||
 *              trust level num (u32) || den (u32) || the trusted header's hash (32) ||
 *              its light block (lc_wire). out: u64 height || the sealed state.
 *   RESUME in: u64 height || a sealed state of that height. out: nothing.
 *   UPDATE in: host time || a light block. out: u64 height of the latest verified
 *              block || the sealed state if this call advanced it (else nothing more).
 * Refusals are the light client's codes (10xx); VEIL_ERR_LC_NOT_ENOUGH_TRUST asks the
 * host for a block in between; VEIL_ERR_LC_FORK is an alarm. INIT and RESUME succeed
 * once per enclave start (VEIL_ERR_OUT_OF_ORDER after that); UPDATE before either is
 * VEIL_ERR_OUT_OF_ORDER. */
#ifndef VEIL_TRUSTED_LIGHTCLIENT_LC_ENCLAVE_H
#define VEIL_TRUSTED_LIGHTCLIENT_LC_ENCLAVE_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "trusted/lightclient/lc_state.h"

#define LC_ENCLAVE_AAD "veil/lc-state/v1"
#define LC_ENCLAVE_TIME_LEN 12u
#define LC_ENCLAVE_INIT_HEAD (LC_ENCLAVE_TIME_LEN + 8u + 8u + 4u + 4u + 32u)
#define LC_ENCLAVE_SEALED_MAX (192u * 1024u) /* a sealed state */
#define LC_ENCLAVE_OUT_MAX (8u + LC_ENCLAVE_SEALED_MAX)

VEIL_MUST_CHECK veil_status lc_enclave_init(const uint8_t *in, size_t in_len, uint8_t *out,
                                            size_t out_cap, size_t *out_len);
VEIL_MUST_CHECK veil_status lc_enclave_resume(const uint8_t *in, size_t in_len, uint8_t *out,
                                              size_t out_cap, size_t *out_len);
VEIL_MUST_CHECK veil_status lc_enclave_update(const uint8_t *in, size_t in_len, uint8_t *out,
                                              size_t out_cap, size_t *out_len);

/* The remembered header of a verified height (its app hash: the state after height - 1;
 * its time), and the chain id the light client follows (CMT_MAX_CHAIN_ID_LEN + 1).
 * VEIL_ERR_NOT_FOUND if that height is not among the recent ones or nothing runs. */
VEIL_MUST_CHECK veil_status lc_enclave_recent(int64_t height, lc_recent *out,
                                              char chain_id[static CMT_MAX_CHAIN_ID_LEN + 1]);

/* Wipes and frees the state (the enclave's shutdown). */
void lc_enclave_shutdown(void);

#endif
