/* SGX ECDSA quote v3: the bounded parser (dcap.h). */
#include <string.h>

#include "host/attest/dcap.h"
#include "hostutil/fileio.h"

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Takes n bytes at *off of (q, len); false if they are not there. */
static bool take(const uint8_t *q, size_t len, size_t *off, size_t n, const uint8_t **out)
{
    if (n > len - *off) return false;
    *out = q + *off;
    *off += n;
    return true;
}

static veil_status bad(const char *what)
{
    veil_error_detail_set("quote: %s", what);
    return VEIL_ERR_TEE_QUOTE_FORMAT;
}

veil_status dcap_quote_parse(const uint8_t *q, size_t len, dcap_quote *out)
{
    memset(out, 0, sizeof *out);
    if (q == NULL || len < DCAP_HEADER_LEN + DCAP_REPORT_BODY_LEN + 4) return bad("truncated");
    if (len > DCAP_QUOTE_MAX_LEN) return bad("larger than 64 KiB");
    size_t off = 0;
    const uint8_t *p;
    (void)take(q, len, &off, DCAP_HEADER_LEN, &out->header);
    (void)take(q, len, &off, DCAP_REPORT_BODY_LEN, &out->body);
    out->version = le16(out->header);
    out->att_key_type = le16(out->header + 2);
    out->qe_svn = le16(out->header + 8);
    out->pce_svn = le16(out->header + 10);
    if (out->version != 3) return bad("not version 3");
    if (out->att_key_type != 2) return bad("attestation key type is not ECDSA P-256 (2)");
    (void)take(q, len, &off, 4, &p);
    uint32_t sig_len = le32(p);
    if (sig_len != len - off) return bad("signature data length disagrees with the quote's size");
    if (!take(q, len, &off, 64, &out->sig) || !take(q, len, &off, 64, &out->att_key) ||
        !take(q, len, &off, DCAP_REPORT_BODY_LEN, &out->qe_report) ||
        !take(q, len, &off, 64, &out->qe_report_sig) || !take(q, len, &off, 2, &p))
        return bad("truncated signature data");
    out->qe_auth_len = le16(p);
    if (!take(q, len, &off, out->qe_auth_len, &out->qe_auth)) return bad("truncated QE auth data");
    if (!take(q, len, &off, 2, &p)) return bad("truncated certification data");
    out->cert_type = le16(p);
    if (!take(q, len, &off, 4, &p)) return bad("truncated certification data");
    uint32_t cert_len = le32(p);
    if (!take(q, len, &off, cert_len, &out->cert_data)) return bad("truncated certification data");
    out->cert_len = cert_len;
    if (off != len) return bad("trailing bytes");
    return VEIL_OK;
}
