/* The attested-TLS evidence format (ratls_evidence.h): deterministic CBOR by hand, a
 * few dozen bytes of structure around the quote. */
#include "trusted/ratls/ratls_evidence.h"

#include <string.h>

#include "common/cursor.h"
#include "crypto/crypto.h"

enum { CBOR_UINT = 0, CBOR_BSTR = 2, CBOR_TSTR = 3, CBOR_ARRAY = 4, CBOR_MAP = 5, CBOR_TAG = 6 };

static const char KEY_NONCE[] = "nonce";
static const char KEY_PUBKEY_HASH[] = "pubkey-hash";

/* --- encoding ------------------------------------------------------------------------ */
static veil_status put_head(veil_writer *w, unsigned major, uint64_t v)
{
    uint8_t m = (uint8_t)(major << 5);
    if (v < 24) return veil_write_u8(w, (uint8_t)(m | v));
    if (v <= 0xff) {
        TRY(veil_write_u8(w, m | 24));
        return veil_write_u8(w, (uint8_t)v);
    }
    if (v <= 0xffff) {
        TRY(veil_write_u8(w, m | 25));
        return veil_write_u16(w, (uint16_t)v);
    }
    if (v <= 0xffffffffu) {
        TRY(veil_write_u8(w, m | 26));
        return veil_write_u32(w, (uint32_t)v);
    }
    TRY(veil_write_u8(w, m | 27));
    return veil_write_u64(w, v);
}

static veil_status put_str(veil_writer *w, unsigned major, const void *p, size_t n)
{
    TRY(put_head(w, major, n));
    return veil_write_bytes(w, p, n);
}

veil_status ratls_claims_encode(const uint8_t spki_hash[static 32], const uint8_t *nonce,
                                size_t nonce_len, uint8_t *out, size_t cap, size_t *out_len)
{
    ENSURE(out != NULL && out_len != NULL && (nonce != NULL || nonce_len == 0), VEIL_ERR_ARG);
    ENSURE(nonce_len <= RATLS_NONCE_MAX, VEIL_ERR_ARG);
    veil_writer w = veil_writer_init(out, cap);
    TRY(put_head(&w, CBOR_MAP, nonce_len > 0 ? 2 : 1));
    /* Keys in bytewise order of their encodings: 0x65 "nonce" < 0x6b "pubkey-hash". */
    if (nonce_len > 0) {
        TRY(put_str(&w, CBOR_TSTR, KEY_NONCE, sizeof KEY_NONCE - 1));
        TRY(put_str(&w, CBOR_BSTR, nonce, nonce_len));
    }
    TRY(put_str(&w, CBOR_TSTR, KEY_PUBKEY_HASH, sizeof KEY_PUBKEY_HASH - 1));
    TRY(put_head(&w, CBOR_ARRAY, 2));
    TRY(put_head(&w, CBOR_UINT, RATLS_HASH_SHA256));
    TRY(put_str(&w, CBOR_BSTR, spki_hash, 32));
    *out_len = w.len;
    return VEIL_OK;
}

void ratls_claims_report_data(const uint8_t *claims, size_t claims_len,
                              uint8_t rd[static TEE_REPORT_DATA_LEN])
{
    memset(rd, 0, TEE_REPORT_DATA_LEN);
    veil_sha256(rd, claims, claims_len);
}

veil_status ratls_evidence_encode(const uint8_t *quote, size_t quote_len, const uint8_t *claims,
                                  size_t claims_len, uint8_t *out, size_t cap, size_t *out_len)
{
    ENSURE(quote != NULL && claims != NULL && out != NULL && out_len != NULL, VEIL_ERR_ARG);
    veil_writer w = veil_writer_init(out, cap);
    TRY(put_head(&w, CBOR_TAG, RATLS_CBOR_TAG_EVIDENCE));
    TRY(put_head(&w, CBOR_ARRAY, 2));
    TRY(put_str(&w, CBOR_BSTR, quote, quote_len));
    TRY(put_str(&w, CBOR_BSTR, claims, claims_len));
    *out_len = w.len;
    return VEIL_OK;
}

/* --- decoding ------------------------------------------------------------------------ */
/* One item head: major type and argument, in the shortest form only. */
static veil_status get_head(veil_reader *r, unsigned *major, uint64_t *v)
{
    uint8_t b;
    ENSURE(veil_read_u8(r, &b) == VEIL_OK, VEIL_ERR_RATLS_EVIDENCE_FORMAT);
    *major = b >> 5;
    uint8_t info = b & 31;
    if (info < 24) {
        *v = info;
        return VEIL_OK;
    }
    /* 28-30 are reserved, 31 is an indefinite length (or "break"): never deterministic. */
    ENSURE(info <= 27, VEIL_ERR_RATLS_CBOR_NONCANONICAL);
    uint64_t x = 0, min = 0;
    if (info == 24) {
        uint8_t u;
        ENSURE(veil_read_u8(r, &u) == VEIL_OK, VEIL_ERR_RATLS_EVIDENCE_FORMAT);
        x = u, min = 24;
    } else if (info == 25) {
        uint16_t u;
        ENSURE(veil_read_u16(r, &u) == VEIL_OK, VEIL_ERR_RATLS_EVIDENCE_FORMAT);
        x = u, min = 0x100;
    } else if (info == 26) {
        uint32_t u;
        ENSURE(veil_read_u32(r, &u) == VEIL_OK, VEIL_ERR_RATLS_EVIDENCE_FORMAT);
        x = u, min = 0x10000;
    } else {
        ENSURE(veil_read_u64(r, &x) == VEIL_OK, VEIL_ERR_RATLS_EVIDENCE_FORMAT);
        min = 0x100000000ull;
    }
    ENSURE(x >= min, VEIL_ERR_RATLS_CBOR_NONCANONICAL);
    *v = x;
    return VEIL_OK;
}

/* A byte or text string of major type `major`; *p views its content. `err` for a
 * wrong major type. */
static veil_status get_str(veil_reader *r, unsigned major, veil_status err, const uint8_t **p,
                           size_t *n)
{
    unsigned m;
    uint64_t v;
    TRY(get_head(r, &m, &v));
    ENSURE(m == major, err);
    ENSURE(v <= veil_reader_left(r), VEIL_ERR_RATLS_EVIDENCE_FORMAT);
    *n = (size_t)v;
    return veil_read_view(r, *n, p) == VEIL_OK ? VEIL_OK : VEIL_ERR_RATLS_EVIDENCE_FORMAT;
}

static veil_status claims_decode(const uint8_t *in, size_t len, ratls_evidence *out)
{
    veil_reader r = veil_reader_init(in, len);
    unsigned m;
    uint64_t n;
    TRY(get_head(&r, &m, &n));
    ENSURE(m == CBOR_MAP && n >= 1 && n <= 2, VEIL_ERR_RATLS_CLAIMS);
    const uint8_t *prev_key = NULL;
    size_t prev_len = 0;
    bool have_hash = false;
    for (uint64_t i = 0; i < n; i++) {
        size_t key_start = r.pos;
        const uint8_t *k;
        size_t kl;
        TRY(get_str(&r, CBOR_TSTR, VEIL_ERR_RATLS_CLAIMS, &k, &kl));
        const uint8_t *key_enc = in + key_start;
        size_t key_enc_len = r.pos - key_start;
        if (prev_key != NULL) {
            /* Deterministic order, and no key twice (an equal key compares equal). */
            size_t c = prev_len < key_enc_len ? prev_len : key_enc_len;
            int cmp = memcmp(prev_key, key_enc, c);
            if (cmp == 0 && prev_len == key_enc_len) return VEIL_ERR_RATLS_CLAIMS;
            ENSURE(cmp < 0 || (cmp == 0 && prev_len < key_enc_len),
                   VEIL_ERR_RATLS_CBOR_NONCANONICAL);
        }
        prev_key = key_enc, prev_len = key_enc_len;
        if (kl == sizeof KEY_NONCE - 1 && memcmp(k, KEY_NONCE, kl) == 0) {
            TRY(get_str(&r, CBOR_BSTR, VEIL_ERR_RATLS_CLAIMS, &out->nonce, &out->nonce_len));
            ENSURE(out->nonce_len >= 1 && out->nonce_len <= RATLS_NONCE_MAX, VEIL_ERR_RATLS_CLAIMS);
        } else if (kl == sizeof KEY_PUBKEY_HASH - 1 && memcmp(k, KEY_PUBKEY_HASH, kl) == 0) {
            uint64_t alg;
            TRY(get_head(&r, &m, &alg));
            ENSURE(m == CBOR_ARRAY && alg == 2, VEIL_ERR_RATLS_HASH_ALG);
            TRY(get_head(&r, &m, &alg));
            ENSURE(m == CBOR_UINT && alg == RATLS_HASH_SHA256, VEIL_ERR_RATLS_HASH_ALG);
            const uint8_t *h;
            size_t hl;
            TRY(get_str(&r, CBOR_BSTR, VEIL_ERR_RATLS_HASH_ALG, &h, &hl));
            ENSURE(hl == 32, VEIL_ERR_RATLS_HASH_ALG);
            memcpy(out->pubkey_hash, h, 32);
            have_hash = true;
        } else {
            return VEIL_ERR_RATLS_CLAIMS;
        }
    }
    ENSURE(have_hash, VEIL_ERR_RATLS_CLAIMS);
    ENSURE(veil_reader_left(&r) == 0, VEIL_ERR_TRAILING);
    return VEIL_OK;
}

veil_status ratls_evidence_decode(const uint8_t *in, size_t len, ratls_evidence *out)
{
    ENSURE(in != NULL && out != NULL, VEIL_ERR_ARG);
    memset(out, 0, sizeof *out);
    ENSURE(len <= RATLS_EVIDENCE_MAX, VEIL_ERR_TOO_LARGE);
    veil_reader r = veil_reader_init(in, len);
    unsigned m;
    uint64_t v;
    TRY(get_head(&r, &m, &v));
    ENSURE(m == CBOR_TAG, VEIL_ERR_RATLS_EVIDENCE_FORMAT);
    ENSURE(v == RATLS_CBOR_TAG_EVIDENCE, VEIL_ERR_RATLS_EVIDENCE_TAG);
    TRY(get_head(&r, &m, &v));
    ENSURE(m == CBOR_ARRAY && v == 2, VEIL_ERR_RATLS_EVIDENCE_FORMAT);
    TRY(get_str(&r, CBOR_BSTR, VEIL_ERR_RATLS_EVIDENCE_FORMAT, &out->quote, &out->quote_len));
    ENSURE(out->quote_len >= 1 && out->quote_len <= TEE_QUOTE_MAX_LEN,
           VEIL_ERR_RATLS_EVIDENCE_FORMAT);
    TRY(get_str(&r, CBOR_BSTR, VEIL_ERR_RATLS_EVIDENCE_FORMAT, &out->claims, &out->claims_len));
    ENSURE(out->claims_len <= RATLS_CLAIMS_MAX, VEIL_ERR_RATLS_CLAIMS);
    ENSURE(veil_reader_left(&r) == 0, VEIL_ERR_TRAILING);
    return claims_decode(out->claims, out->claims_len, out);
}

/* --- the attestation report (IAS-style) ------------------------------------------- */
veil_status ratls_ias_encode(const ratls_ias *in, uint8_t *out, size_t cap, size_t *out_len)
{
    ENSURE(in != NULL && out != NULL && out_len != NULL, VEIL_ERR_ARG);
    ENSURE(in->body_len >= 1 && in->body_len <= RATLS_IAS_BODY_MAX && in->signature_len >= 1 &&
               in->signature_len <= RATLS_IAS_SIG_MAX && in->chain_len >= 1 &&
               in->chain_len <= RATLS_IAS_CHAIN_MAX,
           VEIL_ERR_ARG);
    veil_writer w = veil_writer_init(out, cap);
    TRY(put_head(&w, CBOR_ARRAY, 3));
    TRY(put_str(&w, CBOR_BSTR, in->body, in->body_len));
    TRY(put_str(&w, CBOR_TSTR, in->signature, in->signature_len));
    TRY(put_str(&w, CBOR_TSTR, in->chain, in->chain_len));
    *out_len = w.len;
    return VEIL_OK;
}

veil_status ratls_ias_decode(const uint8_t *in, size_t len, ratls_ias *out)
{
    ENSURE(in != NULL && out != NULL, VEIL_ERR_ARG);
    memset(out, 0, sizeof *out);
    ENSURE(len <= RATLS_IAS_MAX, VEIL_ERR_TOO_LARGE);
    veil_reader r = veil_reader_init(in, len);
    unsigned m;
    uint64_t v;
    TRY(get_head(&r, &m, &v));
    ENSURE(m == CBOR_ARRAY && v == 3, VEIL_ERR_RATLS_EVIDENCE_FORMAT);
    TRY(get_str(&r, CBOR_BSTR, VEIL_ERR_RATLS_EVIDENCE_FORMAT, &out->body, &out->body_len));
    TRY(get_str(&r, CBOR_TSTR, VEIL_ERR_RATLS_EVIDENCE_FORMAT, &out->signature,
                &out->signature_len));
    TRY(get_str(&r, CBOR_TSTR, VEIL_ERR_RATLS_EVIDENCE_FORMAT, &out->chain, &out->chain_len));
    ENSURE(out->body_len >= 1 && out->body_len <= RATLS_IAS_BODY_MAX && out->signature_len >= 1 &&
               out->signature_len <= RATLS_IAS_SIG_MAX && out->chain_len >= 1 &&
               out->chain_len <= RATLS_IAS_CHAIN_MAX,
           VEIL_ERR_RATLS_EVIDENCE_FORMAT);
    ENSURE(veil_reader_left(&r) == 0, VEIL_ERR_TRAILING);
    return VEIL_OK;
}
