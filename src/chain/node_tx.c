/* ChainTx envelope and public txs (rules: docs/node.md, "Transactions"). */
#include "chain/node_tx.h"

#include <stdlib.h>
#include <string.h>

#include "common/cursor.h"
#include "common/varint.h"
#include "crypto/crypto.h"
#include "veil/node.pb-c.h"

#define TAG_CONFIDENTIAL 0x0a /* ChainTx field 1, length-delimited */
#define TAG_PUBLIC 0x12       /* ChainTx field 2, length-delimited */
#define TAG_KEY_EPOCH 0x1a    /* ChainTx field 3, length-delimited */

/* A protobuf varint, which must be minimal (canonical). */
static veil_status read_varint(veil_reader *r, uint64_t *v)
{
    size_t used;
    if (veil_varint_get(r->p + r->pos, veil_reader_left(r), true, v, &used) != VEIL_OK)
        return VEIL_ERR_TX_MALFORMED;
    r->pos += used;
    return VEIL_OK;
}

static bool copy_fixed(const ProtobufCBinaryData *b, uint8_t *out, size_t n)
{
    if (b->len != n) return false;
    memcpy(out, b->data, n);
    return true;
}

/* Builds the PublicTx message over tx's fields (borrowing them); signature included
 * only if with_sig. */
typedef struct pub_msg {
    Veil__Node__PublicTx m;
    Veil__Node__Unbond unbond;
    Veil__Node__Unjail unjail;
    Veil__Node__NodeJoin join;
} pub_msg;

static veil_status pub_msg_build(const node_public_tx *tx, bool with_sig, pub_msg *p)
{
    veil__node__public_tx__init(&p->m);
    veil__node__unbond__init(&p->unbond);
    veil__node__unjail__init(&p->unjail);
    veil__node__node_join__init(&p->join);
    ProtobufCBinaryData acc = {NODE_ADDRESS_LEN, (uint8_t *)tx->account};
    switch (tx->kind) {
    case NODE_PUBLIC_UNBOND:
        p->unbond.account = acc;
        p->unbond.amount = tx->amount;
        p->unbond.nonce = tx->nonce;
        p->m.kind_case = VEIL__NODE__PUBLIC_TX__KIND_UNBOND;
        p->m.unbond = &p->unbond;
        break;
    case NODE_PUBLIC_UNJAIL:
        p->unjail.account = acc;
        p->unjail.nonce = tx->nonce;
        p->m.kind_case = VEIL__NODE__PUBLIC_TX__KIND_UNJAIL;
        p->m.unjail = &p->unjail;
        break;
    case NODE_PUBLIC_NODE_JOIN:
        ENSURE(tx->enclave_pubkey_len <= NODE_ENCLAVE_PUBKEY_MAX && tx->quote_len <= NODE_QUOTE_MAX &&
                   tx->ias_report_len <= NODE_IAS_REPORT_MAX,
               VEIL_ERR_ARG);
        p->join.account = acc;
        p->join.nonce = tx->nonce;
        p->join.enclave_pubkey.data = (uint8_t *)tx->enclave_pubkey;
        p->join.enclave_pubkey.len = tx->enclave_pubkey_len;
        p->join.quote.data = (uint8_t *)tx->quote;
        p->join.quote.len = tx->quote_len;
        p->join.mrenclave.data = (uint8_t *)tx->mrenclave;
        p->join.mrenclave.len = 32;
        p->join.mrsigner.data = (uint8_t *)tx->mrsigner;
        p->join.mrsigner.len = 32;
        p->join.ias_report.data = (uint8_t *)tx->ias_report;
        p->join.ias_report.len = tx->ias_report_len;
        if (tx->has_validator) {
            p->join.validator_pubkey.data = (uint8_t *)tx->validator_pubkey;
            p->join.validator_pubkey.len = 32;
            p->join.validator_signature.data = (uint8_t *)tx->validator_signature;
            p->join.validator_signature.len = 64;
        }
        p->m.kind_case = VEIL__NODE__PUBLIC_TX__KIND_NODE_JOIN;
        p->m.node_join = &p->join;
        break;
    default:
        return VEIL_ERR_ARG;
    }
    if (with_sig) {
        p->m.signature.data = (uint8_t *)tx->signature;
        p->m.signature.len = 64;
    }
    return VEIL_OK;
}

veil_status node_public_tx_sighash(const node_public_tx *tx, const char *chain_id,
                                   uint8_t out[static 32])
{
    pub_msg p;
    size_t cid = strlen(chain_id);
    ENSURE(cid <= VEIL_TX_MAX_CHAIN_ID_LEN, VEIL_ERR_ARG);
    TRY(pub_msg_build(tx, false, &p));
    size_t n = protobuf_c_message_get_packed_size(&p.m.base);
    uint8_t *buf = malloc(1 + cid + n);
    ENSURE(buf != NULL, VEIL_ERR_NOMEM);
    buf[0] = (uint8_t)cid;
    memcpy(buf + 1, chain_id, cid);
    protobuf_c_message_pack(&p.m.base, buf + 1 + cid);
    veil_sha256_tagged(out, NODE_PUBLIC_TX_TAG, buf, 1 + cid + n);
    free(buf);
    return VEIL_OK;
}

veil_status node_public_tx_sign(node_public_tx *tx, const char *chain_id,
                                const uint8_t sk[static 32])
{
    uint8_t h[32];
    TRY(node_public_tx_sighash(tx, chain_id, h));
    return veil_schnorr_sign(tx->signature, h, sizeof h, sk, NULL);
}

/* tag || varint(len) || body */
static veil_status envelope(uint8_t tag, const uint8_t *body, size_t body_len, uint8_t *out,
                            size_t cap, size_t *len, ProtobufCMessage *msg)
{
    uint8_t pre[11];
    pre[0] = tag;
    size_t np = 1 + veil_varint_put(pre + 1, body_len);
    ENSURE(cap >= np && cap - np >= body_len, VEIL_ERR_BUFFER_TOO_SMALL);
    memcpy(out, pre, np);
    if (msg)
        protobuf_c_message_pack(msg, out + np);
    else if (body_len)
        memcpy(out + np, body, body_len);
    *len = np + body_len;
    return VEIL_OK;
}

veil_status node_public_tx_encode(const node_public_tx *tx, uint8_t *out, size_t cap, size_t *len)
{
    pub_msg p;
    TRY(pub_msg_build(tx, true, &p));
    size_t n = protobuf_c_message_get_packed_size(&p.m.base);
    return envelope(TAG_PUBLIC, NULL, n, out, cap, len, &p.m.base);
}

veil_status node_key_epoch_tx_encode(const node_key_epoch_tx *tx, uint8_t *out, size_t cap,
                                     size_t *len)
{
    Veil__Node__KeyEpochCommit m = VEIL__NODE__KEY_EPOCH_COMMIT__INIT;
    m.epoch = tx->epoch;
    m.commitment.data = (uint8_t *)tx->commitment;
    m.commitment.len = 32;
    m.proposer_address.data = (uint8_t *)tx->proposer;
    m.proposer_address.len = NODE_PROPOSER_ADDRESS_LEN;
    size_t n = veil__node__key_epoch_commit__get_packed_size(&m);
    return envelope(TAG_KEY_EPOCH, NULL, n, out, cap, len, &m.base);
}

veil_status node_confidential_tx_encode(const uint8_t *wire, size_t wire_len, uint8_t *out,
                                        size_t cap, size_t *len)
{
    return envelope(TAG_CONFIDENTIAL, wire, wire_len, out, cap, len, NULL);
}

/* Shape of a decoded PublicTx; copies it into *out. */
static veil_status pub_from_msg(const Veil__Node__PublicTx *m, node_public_tx *out)
{
    memset(out, 0, sizeof *out);
    ENSURE(copy_fixed(&m->signature, out->signature, 64), VEIL_ERR_TX_MALFORMED);
    switch (m->kind_case) {
    case VEIL__NODE__PUBLIC_TX__KIND_UNBOND:
        ENSURE(m->unbond->base.n_unknown_fields == 0 &&
                   copy_fixed(&m->unbond->account, out->account, 32),
               VEIL_ERR_TX_MALFORMED);
        out->kind = NODE_PUBLIC_UNBOND;
        out->amount = m->unbond->amount;
        out->nonce = m->unbond->nonce;
        return VEIL_OK;
    case VEIL__NODE__PUBLIC_TX__KIND_UNJAIL:
        ENSURE(m->unjail->base.n_unknown_fields == 0 &&
                   copy_fixed(&m->unjail->account, out->account, 32),
               VEIL_ERR_TX_MALFORMED);
        out->kind = NODE_PUBLIC_UNJAIL;
        out->nonce = m->unjail->nonce;
        return VEIL_OK;
    case VEIL__NODE__PUBLIC_TX__KIND_NODE_JOIN: {
        const Veil__Node__NodeJoin *j = m->node_join;
        ENSURE(j->base.n_unknown_fields == 0 && copy_fixed(&j->account, out->account, 32) &&
                   copy_fixed(&j->mrenclave, out->mrenclave, 32) &&
                   copy_fixed(&j->mrsigner, out->mrsigner, 32) &&
                   j->enclave_pubkey.len >= 1 &&
                   j->enclave_pubkey.len <= NODE_ENCLAVE_PUBKEY_MAX && j->quote.len >= 1 &&
                   j->quote.len <= NODE_QUOTE_MAX && j->ias_report.len <= NODE_IAS_REPORT_MAX,
               VEIL_ERR_TX_MALFORMED);
        /* Both or neither. */
        out->has_validator = j->validator_pubkey.len != 0;
        ENSURE(out->has_validator ? copy_fixed(&j->validator_pubkey, out->validator_pubkey, 32) &&
                                        copy_fixed(&j->validator_signature,
                                                   out->validator_signature, 64)
                                  : j->validator_signature.len == 0,
               VEIL_ERR_TX_MALFORMED);
        out->kind = NODE_PUBLIC_NODE_JOIN;
        out->nonce = j->nonce;
        out->enclave_pubkey_len = j->enclave_pubkey.len;
        memcpy(out->enclave_pubkey, j->enclave_pubkey.data, j->enclave_pubkey.len);
        out->quote_len = j->quote.len;
        memcpy(out->quote, j->quote.data, j->quote.len);
        out->ias_report_len = j->ias_report.len;
        if (j->ias_report.len) memcpy(out->ias_report, j->ias_report.data, j->ias_report.len);
        return VEIL_OK;
    }
    default:
        return VEIL_ERR_TX_MALFORMED;
    }
}

veil_status node_chain_tx_decode(const uint8_t *tx, size_t len, const char *chain_id,
                                 node_chain_tx *out)
{
    ENSURE(len <= NODE_CHAIN_TX_MAX, VEIL_ERR_TX_TOO_LARGE);
    memset(out, 0, sizeof *out);
    /* The envelope is one length-delimited field, so it is parsed by hand: the inner
     * bytes are then handed on as they are (a confidential tx's txid and ciphertext
     * are over exact bytes, never a re-encoding). */
    veil_reader r = veil_reader_init(tx, len);
    uint8_t tag;
    uint64_t n;
    const uint8_t *body;
    ENSURE(veil_read_u8(&r, &tag) == VEIL_OK, VEIL_ERR_TX_MALFORMED);
    ENSURE(tag == TAG_CONFIDENTIAL || tag == TAG_PUBLIC || tag == TAG_KEY_EPOCH,
           VEIL_ERR_TX_MALFORMED);
    ENSURE(read_varint(&r, &n) == VEIL_OK && n == veil_reader_left(&r), VEIL_ERR_TX_MALFORMED);
    ENSURE(veil_read_view(&r, (size_t)n, &body) == VEIL_OK, VEIL_ERR_TX_MALFORMED);

    if (tag == TAG_CONFIDENTIAL) {
        out->type = NODE_TX_CONFIDENTIAL;
        TRY(veil_tx_wire_decode(body, (size_t)n, NULL, &out->wire));
        out->conf = body;
        out->conf_len = (size_t)n;
        return VEIL_OK;
    }
    if (tag == TAG_KEY_EPOCH) {
        out->type = NODE_TX_KEY_EPOCH;
        Veil__Node__KeyEpochCommit *k = veil__node__key_epoch_commit__unpack(NULL, (size_t)n, body);
        ENSURE(k != NULL, VEIL_ERR_TX_MALFORMED);
        bool ok = k->base.n_unknown_fields == 0 &&
                  veil_pb_is_canonical(&k->base, body, (size_t)n) &&
                  copy_fixed(&k->commitment, out->key_epoch.commitment, 32) &&
                  copy_fixed(&k->proposer_address, out->key_epoch.proposer,
                             NODE_PROPOSER_ADDRESS_LEN);
        out->key_epoch.epoch = k->epoch;
        veil__node__key_epoch_commit__free_unpacked(k, NULL);
        return ok ? VEIL_OK : VEIL_ERR_TX_MALFORMED;
    }
    out->type = NODE_TX_PUBLIC;
    Veil__Node__PublicTx *m = veil__node__public_tx__unpack(NULL, (size_t)n, body);
    ENSURE(m != NULL, VEIL_ERR_TX_MALFORMED);
    veil_status st = VEIL_OK;
    ENSURE_OUT(m->base.n_unknown_fields == 0 && veil_pb_is_canonical(&m->base, body, (size_t)n),
               VEIL_ERR_TX_MALFORMED);
    TRY_OUT(pub_from_msg(m, &out->pub));
    ENSURE_OUT(strlen(chain_id) <= VEIL_TX_MAX_CHAIN_ID_LEN, VEIL_ERR_ARG);
    TRY_OUT(node_public_tx_sighash(&out->pub, chain_id, out->sighash));
out:
    veil__node__public_tx__free_unpacked(m, NULL);
    return st;
}


veil_status node_validator_key_message(const char *chain_id, const uint8_t account[static 32],
                                       uint8_t out[static 32])
{
    size_t n = strlen(chain_id);
    ENSURE(n <= 255, VEIL_ERR_ARG);
    uint8_t buf[1 + 255 + 32];
    buf[0] = (uint8_t)n;
    memcpy(buf + 1, chain_id, n);
    memcpy(buf + 1 + n, account, 32);
    veil_sha256_tagged(out, NODE_VALIDATOR_KEY_TAG, buf, 1 + n + 32);
    return VEIL_OK;
}
