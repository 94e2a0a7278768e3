/* A stand-in TQE backend's shared pieces (tqe_fake.h). */
#include "tqe_fake.h"

#include <stdlib.h>
#include <string.h>

static void *fake_alloc(void *d, size_t n)
{
    (void)d;
    return malloc(n);
}

static void fake_free(void *d, void *p)
{
    (void)d;
    free(p);
}

ProtobufCAllocator tqe_fake_alloc = {fake_alloc, fake_free, NULL};

veil_status tqe_fake_seal(void *ctx, const uint8_t *pt, size_t n, uint8_t *out, size_t cap,
                          size_t *out_len)
{
    (void)ctx;
    ENSURE(n <= cap, VEIL_ERR_BUFFER_TOO_SMALL);
    memcpy(out, pt, n);
    *out_len = n;
    return VEIL_OK;
}

veil_status tqe_fake_unseal(void *ctx, const uint8_t txid[32], const uint8_t *blob, size_t n,
                            uint8_t *out, size_t cap, size_t *out_len)
{
    (void)txid;
    return tqe_fake_seal(ctx, blob, n, out, cap, out_len);
}

veil_status tqe_fake_evidence(void *ctx, const tqe_conn *conn, const uint8_t *nonce,
                              size_t nonce_len, uint8_t *out, size_t cap, size_t *out_len)
{
    (void)ctx, (void)conn;
    ENSURE(cap >= 2 + nonce_len, VEIL_ERR_BUFFER_TOO_SMALL);
    memcpy(out, "EV", 2);
    memcpy(out + 2, nonce, nonce_len);
    *out_len = 2 + nonce_len;
    return VEIL_OK;
}

veil_status tqe_fake_write(void *wctx, const uint8_t *data, size_t len)
{
    tqe_fake_sink *s = wctx;
    uint8_t *p = realloc(s->p, s->len + len);
    if (p == NULL) abort();
    memcpy(p + s->len, data, len);
    s->p = p;
    s->len += len;
    return VEIL_OK;
}
