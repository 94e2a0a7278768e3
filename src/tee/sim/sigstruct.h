/* Signed enclave images of the sim backend (host side).
 *
 * A signed image is the enclave shared object followed by a 256-byte signature
 * structure (layout in docs/sealing-and-attestation.md):
 *   magic "VEILSIG1", version, image length, MRENCLAVE (measurement of the image
 *   bytes), product id, SVN, attributes (debug flag), the signer's Ed25519 public key,
 *   and the signer's Ed25519 signature over the structure's first 192 bytes.
 * MRSIGNER = SHA-256 tagged "veil/sim/mrsigner/v1" over the signer's public key.
 */
#ifndef VEIL_TEE_SIM_SIGSTRUCT_H
#define VEIL_TEE_SIM_SIGSTRUCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/status.h"
#include "tee/tee.h"

#define SIM_SIGSTRUCT_LEN 256u
#define SIM_SIGNER_PUBKEY_LEN 32u
#define SIM_IMAGE_MAX (256u * 1024u * 1024u)

typedef struct sim_sigstruct {
    uint64_t image_len;
    uint8_t mrenclave[TEE_MEASUREMENT_LEN];
    uint16_t prodid;
    uint16_t svn;
    uint64_t attributes;
    uint8_t signer_pubkey[SIM_SIGNER_PUBKEY_LEN];
    uint8_t signature[64];
} sim_sigstruct;

/* MRENCLAVE of raw image bytes. */
void sim_measure_image(const uint8_t *image, size_t len, uint8_t out[static TEE_MEASUREMENT_LEN]);
/* MRSIGNER of a signer public key. */
void sim_mrsigner(const uint8_t pubkey[static SIM_SIGNER_PUBKEY_LEN],
                  uint8_t out[static TEE_MEASUREMENT_LEN]);

/* Parses the trailing structure of a signed image file without verifying it. */
VEIL_MUST_CHECK veil_status sim_sigstruct_parse(const uint8_t *file, size_t file_len,
                                                sim_sigstruct *out);

/* Parses and verifies: signature by the embedded key (VEIL_ERR_TEE_SIGNATURE) and the
 * recomputed measurement (VEIL_ERR_TEE_MEASUREMENT). On success out holds the
 * structure and the image is file[0, out->image_len). */
VEIL_MUST_CHECK veil_status sim_sigstruct_verify(const uint8_t *file, size_t file_len,
                                                 sim_sigstruct *out);

/* Identity an image verified with this structure runs under. */
void sim_sigstruct_identity(const sim_sigstruct *s, tee_identity *out);

/* Signs a raw image: returns image || signature structure (malloc'd, caller frees). */
VEIL_MUST_CHECK veil_status sim_image_sign(EVP_PKEY *signer, const uint8_t *image, size_t len,
                                           uint16_t prodid, uint16_t svn, bool debug,
                                           uint8_t **out, size_t *out_len);

/* Signer keys: Ed25519, PKCS#8 PEM, mode 0600. Generation refuses to overwrite. */
VEIL_MUST_CHECK veil_status sim_signer_key_generate(const char *path);
VEIL_MUST_CHECK veil_status sim_signer_key_load(const char *path, EVP_PKEY **out);
VEIL_MUST_CHECK veil_status sim_signer_pubkey(EVP_PKEY *key,
                                              uint8_t out[static SIM_SIGNER_PUBKEY_LEN]);

#endif
