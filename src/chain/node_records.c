/* Public-state records: encodings and tree keys. */
#include "chain/node_records.h"

#include <stdlib.h>
#include <string.h>

#include "common/cursor.h"
#include "trusted/tx/tx.h"
#include "veil/node.pb-c.h"

/* Packs msg into out if it fits. */
static veil_status rec_pack(const ProtobufCMessage *msg, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    ENSURE(n <= cap, VEIL_ERR_BUFFER_TOO_SMALL);
    *len = protobuf_c_message_pack(msg, out);
    ENSURE(*len == n, VEIL_ERR_INTERNAL);
    return VEIL_OK;
}


static bool rec_bytes(const ProtobufCBinaryData *b, uint8_t *out, size_t want)
{
    if (b->len != want) return false;
    memcpy(out, b->data, want);
    return true;
}

/* --- account ------------------------------------------------------------------------ */
veil_status node_account_encode(const node_account *a, uint8_t *out, size_t cap, size_t *len)
{
    Veil__Node__Account m = VEIL__NODE__ACCOUNT__INIT;
    Veil__Node__NodeBinding b = VEIL__NODE__NODE_BINDING__INIT;
    m.address.data = (uint8_t *)a->address;
    m.address.len = NODE_ADDRESS_LEN;
    m.bonded = a->bonded;
    m.unbonded = a->unbonded;
    m.unbonded_from = a->unbonded_from;
    m.nonce = a->nonce;
    m.jailed_until = a->jailed_until;
    if (a->has_node) {
        ENSURE(a->node.enclave_pubkey_len <= NODE_ENCLAVE_PUBKEY_MAX, VEIL_ERR_ARG);
        b.enclave_pubkey.data = (uint8_t *)a->node.enclave_pubkey;
        b.enclave_pubkey.len = a->node.enclave_pubkey_len;
        b.mrenclave.data = (uint8_t *)a->node.mrenclave;
        b.mrenclave.len = 32;
        b.mrsigner.data = (uint8_t *)a->node.mrsigner;
        b.mrsigner.len = 32;
        b.quote_hash.data = (uint8_t *)a->node.quote_hash;
        b.quote_hash.len = 32;
        b.quote_verified = a->node.quote_verified;
        b.joined_at = a->node.joined_at;
        if (a->node.has_validator) {
            b.validator_pubkey.data = (uint8_t *)a->node.validator_pubkey;
            b.validator_pubkey.len = 32;
        }
        m.node = &b;
    }
    return rec_pack(&m.base, out, cap, len);
}

veil_status node_account_decode(const uint8_t *in, size_t len, node_account *out)
{
    veil_status st = VEIL_OK;
    Veil__Node__Account *m = NULL;
    ENSURE(len <= NODE_RECORD_MAX, VEIL_ERR_MALFORMED);
    m = veil__node__account__unpack(NULL, len, in);
    ENSURE(m != NULL, VEIL_ERR_MALFORMED);
    memset(out, 0, sizeof *out);
    ENSURE_OUT(veil_pb_is_canonical(&m->base, in, len), VEIL_ERR_MALFORMED);
    ENSURE_OUT(rec_bytes(&m->address, out->address, NODE_ADDRESS_LEN), VEIL_ERR_MALFORMED);
    out->bonded = m->bonded;
    out->unbonded = m->unbonded;
    out->unbonded_from = m->unbonded_from;
    out->nonce = m->nonce;
    out->jailed_until = m->jailed_until;
    if (m->node) {
        const Veil__Node__NodeBinding *b = m->node;
        ENSURE_OUT(b->base.n_unknown_fields == 0 &&
                       b->enclave_pubkey.len <= NODE_ENCLAVE_PUBKEY_MAX &&
                       rec_bytes(&b->mrenclave, out->node.mrenclave, 32) &&
                       rec_bytes(&b->mrsigner, out->node.mrsigner, 32) &&
                       rec_bytes(&b->quote_hash, out->node.quote_hash, 32) &&
                       (b->validator_pubkey.len == 0 ||
                        rec_bytes(&b->validator_pubkey, out->node.validator_pubkey, 32)),
                   VEIL_ERR_MALFORMED);
        out->has_node = true;
        out->node.has_validator = b->validator_pubkey.len == 32;
        out->node.enclave_pubkey_len = b->enclave_pubkey.len;
        if (b->enclave_pubkey.len)
            memcpy(out->node.enclave_pubkey, b->enclave_pubkey.data, b->enclave_pubkey.len);
        out->node.quote_verified = b->quote_verified;
        out->node.joined_at = b->joined_at;
    }
out:
    veil__node__account__free_unpacked(m, NULL);
    return st;
}

/* --- output status -------------------------------------------------------------------- */
veil_status node_output_encode(const node_output *o, uint8_t *out, size_t cap, size_t *len)
{
    Veil__Node__OutputStatus m = VEIL__NODE__OUTPUT_STATUS__INIT;
    ENSURE(o->output_count <= NODE_MAX_OUTPUTS, VEIL_ERR_ARG);
    m.output_count = o->output_count;
    m.spent = o->spent;
    m.height = o->height;
    return rec_pack(&m.base, out, cap, len);
}

veil_status node_output_decode(const uint8_t *in, size_t len, node_output *out)
{
    veil_status st = VEIL_OK;
    Veil__Node__OutputStatus *m = veil__node__output_status__unpack(NULL, len, in);
    ENSURE(m != NULL, VEIL_ERR_MALFORMED);
    ENSURE_OUT(veil_pb_is_canonical(&m->base, in, len) && m->output_count <= NODE_MAX_OUTPUTS,
               VEIL_ERR_MALFORMED);
    /* Spent bits past the output count would make an output "exist" twice over. */
    ENSURE_OUT(m->output_count == 64 || (m->spent >> m->output_count) == 0, VEIL_ERR_MALFORMED);
    out->output_count = m->output_count;
    out->spent = m->spent;
    out->height = m->height;
out:
    veil__node__output_status__free_unpacked(m, NULL);
    return st;
}

/* --- params ------------------------------------------------------------------------- */
veil_status node_params_encode(const node_params *p, uint8_t *out, size_t cap, size_t *len)
{
    Veil__Node__Params m = VEIL__NODE__PARAMS__INIT;
    ENSURE(p->fee_rule == NODE_FEE_EXACT || p->fee_rule == NODE_FEE_AT_LEAST, VEIL_ERR_ARG);
    ENSURE(strnlen(p->attestation_collateral, sizeof p->attestation_collateral) <=
                   NODE_ATTESTATION_COLLATERAL_MAX,
           VEIL_ERR_ARG);
    ENSURE((p->attestation_accept & ~NODE_ATTESTATION_ACCEPT_MASK) == 0 &&
               strnlen(p->attestation_ias_root, sizeof p->attestation_ias_root) <= NODE_IAS_ROOT_MAX,
           VEIL_ERR_ARG);
    m.fee_rule = p->fee_rule;
    m.fee_base = p->fee_base;
    m.fee_per_byte = p->fee_per_byte;
    m.unbonding_period = p->unbonding_period;
    ENSURE(p->key_epoch_blocks <= NODE_KEY_EPOCH_BLOCKS_MAX &&
               p->key_grace_blocks <= p->key_epoch_blocks &&
               (p->key_epoch_blocks == 0 || p->key_grace_blocks > 0),
           VEIL_ERR_ARG);
    m.key_epoch_blocks = p->key_epoch_blocks;
    m.key_grace_blocks = p->key_grace_blocks;
    m.max_validators = p->max_validators;
    m.attestation_collateral = (char *)p->attestation_collateral;
    m.attestation_accept = p->attestation_accept;
    m.attestation_ias_root = (char *)p->attestation_ias_root;
    m.attestation_ias_max_age = p->attestation_ias_max_age;
    ENSURE(p->n_enclaves <= NODE_MAX_ENCLAVE_PINS, VEIL_ERR_ARG);
    Veil__Node__EnclavePin pins[NODE_MAX_ENCLAVE_PINS], *pin_ptrs[NODE_MAX_ENCLAVE_PINS];
    for (size_t i = 0; i < p->n_enclaves; i++) {
        const node_enclave_pin *e = &p->enclaves[i];
        veil__node__enclave_pin__init(&pins[i]);
        if (e->by_mrenclave) {
            pins[i].mrenclave.data = (uint8_t *)e->mrenclave;
            pins[i].mrenclave.len = 32;
        } else {
            pins[i].mrsigner.data = (uint8_t *)e->mrsigner;
            pins[i].mrsigner.len = 32;
            pins[i].prodid = e->prodid;
            pins[i].min_svn = e->min_svn;
        }
        pin_ptrs[i] = &pins[i];
    }
    m.n_accepted_enclaves = p->n_enclaves;
    m.accepted_enclaves = p->n_enclaves ? pin_ptrs : NULL;
    return rec_pack(&m.base, out, cap, len);
}

veil_status node_params_decode(const uint8_t *in, size_t len, node_params *out)
{
    veil_status st = VEIL_OK;
    ENSURE(len <= NODE_RECORD_MAX, VEIL_ERR_MALFORMED);
    Veil__Node__Params *m = veil__node__params__unpack(NULL, len, in);
    ENSURE(m != NULL, VEIL_ERR_MALFORMED);
    memset(out, 0, sizeof *out);
    ENSURE_OUT(veil_pb_is_canonical(&m->base, in, len), VEIL_ERR_MALFORMED);
    ENSURE_OUT(m->fee_rule == NODE_FEE_EXACT || m->fee_rule == NODE_FEE_AT_LEAST,
               VEIL_ERR_MALFORMED);
    ENSURE_OUT(strlen(m->attestation_collateral) <= NODE_ATTESTATION_COLLATERAL_MAX &&
                   (m->attestation_accept & ~NODE_ATTESTATION_ACCEPT_MASK) == 0 &&
                   strlen(m->attestation_ias_root) <= NODE_IAS_ROOT_MAX,
               VEIL_ERR_MALFORMED);
    out->fee_rule = m->fee_rule;
    out->fee_base = m->fee_base;
    out->fee_per_byte = m->fee_per_byte;
    out->unbonding_period = m->unbonding_period;
    ENSURE_OUT(m->key_epoch_blocks <= NODE_KEY_EPOCH_BLOCKS_MAX &&
                   m->key_grace_blocks <= m->key_epoch_blocks &&
                   (m->key_epoch_blocks == 0 || m->key_grace_blocks > 0),
               VEIL_ERR_MALFORMED);
    out->key_epoch_blocks = m->key_epoch_blocks;
    out->key_grace_blocks = m->key_grace_blocks;
    out->max_validators = m->max_validators;
    memcpy(out->attestation_collateral, m->attestation_collateral,
           strlen(m->attestation_collateral) + 1);
    out->attestation_accept = m->attestation_accept;
    memcpy(out->attestation_ias_root, m->attestation_ias_root, strlen(m->attestation_ias_root) + 1);
    out->attestation_ias_max_age = m->attestation_ias_max_age;
    ENSURE_OUT(m->n_accepted_enclaves <= NODE_MAX_ENCLAVE_PINS, VEIL_ERR_MALFORMED);
    for (size_t i = 0; i < m->n_accepted_enclaves; i++) {
        const Veil__Node__EnclavePin *e = m->accepted_enclaves[i];
        node_enclave_pin *o = &out->enclaves[i];
        bool by_enclave = e->mrenclave.len == 32 && e->mrsigner.len == 0 && e->prodid == 0 &&
                          e->min_svn == 0;
        bool by_signer = e->mrsigner.len == 32 && e->mrenclave.len == 0 && e->prodid <= 65535 &&
                         e->min_svn <= 65535;
        ENSURE_OUT(by_enclave || by_signer, VEIL_ERR_MALFORMED);
        o->by_mrenclave = by_enclave;
        if (by_enclave) memcpy(o->mrenclave, e->mrenclave.data, 32);
        if (by_signer) {
            memcpy(o->mrsigner, e->mrsigner.data, 32);
            o->prodid = (uint16_t)e->prodid;
            o->min_svn = (uint16_t)e->min_svn;
        }
    }
    out->n_enclaves = m->n_accepted_enclaves;
out:
    veil__node__params__free_unpacked(m, NULL);
    return st;
}

/* --- key epoch ---------------------------------------------------------------------- */
veil_status node_key_epoch_encode(const node_key_epoch *e, uint8_t *out, size_t cap, size_t *len)
{
    Veil__Node__KeyEpoch m = VEIL__NODE__KEY_EPOCH__INIT;
    ENSURE(e->commitment_len == 0 || e->commitment_len == 32, VEIL_ERR_ARG);
    m.epoch = e->epoch;
    m.start_height = e->start_height;
    m.commitment.data = (uint8_t *)e->commitment;
    m.commitment.len = e->commitment_len;
    return rec_pack(&m.base, out, cap, len);
}

veil_status node_key_epoch_decode(const uint8_t *in, size_t len, node_key_epoch *out)
{
    veil_status st = VEIL_OK;
    Veil__Node__KeyEpoch *m = veil__node__key_epoch__unpack(NULL, len, in);
    ENSURE(m != NULL, VEIL_ERR_MALFORMED);
    memset(out, 0, sizeof *out);
    ENSURE_OUT(veil_pb_is_canonical(&m->base, in, len) &&
                   (m->commitment.len == 0 || m->commitment.len == 32),
               VEIL_ERR_MALFORMED);
    out->epoch = m->epoch;
    out->start_height = m->start_height;
    out->commitment_len = m->commitment.len;
    if (m->commitment.len) memcpy(out->commitment, m->commitment.data, 32);
out:
    veil__node__key_epoch__free_unpacked(m, NULL);
    return st;
}

/* --- validators ------------------------------------------------------------------------- */
veil_status node_validator_encode(const node_validator *v, uint8_t *out, size_t cap, size_t *len)
{
    Veil__Node__ValidatorRecord m = VEIL__NODE__VALIDATOR_RECORD__INIT;
    ENSURE(v->power >= 0, VEIL_ERR_ARG);
    m.account.data = (uint8_t *)v->account;
    m.account.len = NODE_ADDRESS_LEN;
    m.power = v->power;
    return rec_pack(&m.base, out, cap, len);
}

veil_status node_validator_decode(const uint8_t *in, size_t len, node_validator *out)
{
    veil_status st = VEIL_OK;
    Veil__Node__ValidatorRecord *m = veil__node__validator_record__unpack(NULL, len, in);
    ENSURE(m != NULL, VEIL_ERR_MALFORMED);
    memset(out, 0, sizeof *out);
    ENSURE_OUT(veil_pb_is_canonical(&m->base, in, len) &&
                   rec_bytes(&m->account, out->account, NODE_ADDRESS_LEN) && m->power >= 0,
               VEIL_ERR_MALFORMED);
    out->power = m->power;
out:
    veil__node__validator_record__free_unpacked(m, NULL);
    return st;
}

/* --- tree keys ---------------------------------------------------------------------- */
void node_smtkey_account(uint8_t key[static 32], const uint8_t address[static NODE_ADDRESS_LEN])
{
    veil_smt_key(key, VEIL_SMT_NS_ACCOUNT, address, NODE_ADDRESS_LEN);
}

void node_smtkey_output(uint8_t key[static 32], const uint8_t txid[static NODE_TXID_LEN])
{
    veil_smt_key(key, VEIL_SMT_NS_OUTPUT, txid, NODE_TXID_LEN);
}

void node_smtkey_params(uint8_t key[static 32])
{
    veil_smt_key(key, VEIL_SMT_NS_PARAM, (const uint8_t *)NODE_PARAMS_ID, strlen(NODE_PARAMS_ID));
}

void node_smtkey_epoch(uint8_t key[static 32], uint64_t epoch)
{
    uint8_t id[8];
    veil_put_u64(id, epoch);
    veil_smt_key(key, VEIL_SMT_NS_KEY_EPOCH, id, sizeof id);
}
