/* The rules of the public txs the node validates itself (host/node/node_rules.h). */
#include "host/node/node_rules.h"

#include <stdlib.h>
#include <string.h>

#include "common/cursor.h"
#include "crypto/crypto.h"
#include "host/attest/attest.h"
#include "tee/tee.h"
#include "veil/node.pb-c.h"

/* --- rules ---------------------------------------------------------------------------- */
#define FAIL(code, why)                                                                  \
    do {                                                                                 \
        if (detail) *detail = (why);                                                     \
        return (code);                                                                   \
    } while (0)

/* Whether the chain's policy accepts an enclave identity: one pin must match. */
static bool join_policy_accepts(const node_params *params, const tee_identity *id)
{
    for (size_t i = 0; i < params->n_enclaves; i++) {
        const node_enclave_pin *pin = &params->enclaves[i];
        tee_identity_policy p = {0};
        if (pin->by_mrenclave) {
            p.mrenclave = pin->mrenclave;
        } else {
            p = (tee_identity_policy){NULL, pin->mrsigner, true, pin->prodid, true, pin->min_svn};
        }
        if (tee_identity_check(&p, id) == TEE_IDENTITY_OK) return true;
    }
    return false;
}

/* Node join's attestation: the quote verifies against the chain's collateral, names
 * the claimed enclave identity, that identity is one the chain accepts, and the quote
 * binds (chain id, account, enclave key) in its report data. */
static veil_status join_check_quote(const node_public_tx *p, const node_params *params,
                                    const char *chain_id, uint64_t block_time,
                                    const char **detail)
{
    attest_claims claims;
    veil_status st;
    /* Collateral, reports and certificates are judged at the block's time, never the
     * local clock: validators and later replays must all reach the same verdict. */
    if (params->attestation_ias_root[0] != '\0') {
        if (p->ias_report_len == 0)
            FAIL(VEIL_ERR_TEE_IAS_REPORT, "node join: the chain judges quotes by attestation "
                                          "reports and the join carries none");
        st = attest_ias_claims(p->ias_report, p->ias_report_len, p->quote, p->quote_len,
                               params->attestation_ias_root, (int64_t)block_time,
                               (int64_t)params->attestation_ias_max_age, &claims);
        if (st != VEIL_OK) FAIL(st, "node join: the attestation report does not verify under the "
                                    "chain's report-signing root for this quote");
    } else {
        attest_collateral *coll = NULL;
        st = attest_collateral_parse((const uint8_t *)params->attestation_collateral,
                                     strlen(params->attestation_collateral), &coll);
        if (st == VEIL_OK)
            st = attest_quote_verify(p->quote, p->quote_len, coll, (int64_t)block_time, &claims);
        attest_collateral_free(coll);
        if (st != VEIL_OK) FAIL(st, "node join: the quote does not verify against the chain's attestation collateral");
    }
    if (claims.body.identity.attributes & TEE_ATTR_DEBUG)
        FAIL(VEIL_ERR_RATLS_DEBUG, "node join: the enclave is a debug enclave");
    dcap_policy policy;
    dcap_policy_default(&policy);
    for (int s = 1; s < DCAP_TCB_REVOKED; s++)
        policy.accept[s] = (params->attestation_accept >> s & 1u) != 0;
    if (attest_claims_accept(&policy, &claims) != VEIL_OK)
        FAIL(VEIL_ERR_TEE_TCB_REFUSED, "node join: the quoting platform's TCB status is not one "
                                       "params.attestation_accept accepts");
    if (memcmp(claims.body.identity.mrenclave, p->mrenclave, 32) != 0 ||
        memcmp(claims.body.identity.mrsigner, p->mrsigner, 32) != 0)
        FAIL(VEIL_ERR_TVE_IDENTITY, "node join: the quote's enclave identity is not the one claimed");
    if (!join_policy_accepts(params, &claims.body.identity))
        FAIL(VEIL_ERR_NODE_JOIN_POLICY,
             "node join: the enclave is not one the chain's params.accepted_enclaves accepts");
    uint8_t want[TEE_REPORT_DATA_LEN];
    if (node_join_report_data(chain_id, p->account, p->enclave_pubkey, p->enclave_pubkey_len,
                              want) != VEIL_OK ||
        !veil_ct_equal(want, claims.body.report_data, sizeof want))
        FAIL(VEIL_ERR_AUTH, "node join: the quote's report data does not bind this chain, "
                            "account and enclave key");
    return VEIL_OK;
}

/* Whether the chain judges node joins' quotes (collateral or a report-signing root). */
static bool quotes_judged(const node_params *params)
{
    return params->attestation_collateral[0] != '\0' || params->attestation_ias_root[0] != '\0';
}

veil_status node_public_apply(const node_chain_tx *tx, const node_public_env *env,
                              const node_account *acc, node_account *next, const char **detail)
{
    const node_public_tx *p = &tx->pub;
    if (detail) *detail = NULL;
    ENSURE(tx->type == NODE_TX_PUBLIC, VEIL_ERR_ARG);
    /* Signature first: it needs no state, and nothing below may depend on an unsigned
     * tx (not even which error it gets). */
    veil_status st = veil_schnorr_verify(p->signature, tx->sighash, 32, p->account);
    if (st != VEIL_OK) FAIL(VEIL_ERR_TX_BAD_SIGNATURE, "public tx: the account's signature does not verify");
    if (acc == NULL) FAIL(VEIL_ERR_TX_ACCOUNT_NOT_FOUND, "public tx: no such staking account");
    if (p->nonce != acc->nonce) FAIL(VEIL_ERR_TX_WRONG_NONCE, "public tx: nonce differs from the account's");
    *next = *acc;
    next->nonce = acc->nonce + 1;
    if (next->nonce == 0) FAIL(VEIL_ERR_OVERFLOW, "public tx: nonce exhausted");
    const uint64_t now = env->block_time;
    switch (p->kind) {
    case NODE_PUBLIC_UNBOND: {
        if (acc->jailed_until > now) FAIL(VEIL_ERR_TX_ACCOUNT_JAILED, "unbond: the account is jailed");
        if (p->amount == 0) FAIL(VEIL_ERR_TX_ZERO_VALUE, "unbond: amount is zero");
        if (p->amount > acc->bonded) FAIL(VEIL_ERR_ARG, "unbond: amount exceeds the bonded stake");
        uint64_t until;
        if (__builtin_add_overflow(now, env->params->unbonding_period, &until))
            FAIL(VEIL_ERR_OVERFLOW, "unbond: unbonding time overflows");
        /* bonded + unbonded never exceeds the maximum supply, so this cannot overflow. */
        if (acc->unbonded > VEIL_TX_MAX_SUPPLY - p->amount)
            FAIL(VEIL_ERR_TX_SUM_OVERFLOW, "unbond: unbonded stake would exceed the maximum supply");
        next->bonded = acc->bonded - p->amount;
        next->unbonded = acc->unbonded + p->amount;
        next->unbonded_from = until;
        return VEIL_OK;
    }
    case NODE_PUBLIC_UNJAIL:
        if (acc->jailed_until == 0) FAIL(VEIL_ERR_ARG, "unjail: the account is not jailed");
        if (acc->jailed_until > now) FAIL(VEIL_ERR_TX_ACCOUNT_JAILED, "unjail: the jail term is not over");
        next->jailed_until = 0;
        return VEIL_OK;
    case NODE_PUBLIC_NODE_JOIN:
        if (acc->jailed_until > now) FAIL(VEIL_ERR_TX_ACCOUNT_JAILED, "node join: the account is jailed");
        if (acc->bonded == 0) FAIL(VEIL_ERR_ARG, "node join: the account has no bonded stake");
        if (quotes_judged(env->params))
            TRY(join_check_quote(p, env->params, env->chain_id, env->block_time, detail));
        if (p->has_validator) {
            uint8_t msg[32];
            if (node_validator_key_message(env->chain_id, p->account, msg) != VEIL_OK ||
                !veil_ed25519_verify(p->validator_signature, msg, sizeof msg, p->validator_pubkey))
                FAIL(VEIL_ERR_NODE_VALIDATOR_SIGNATURE,
                     "node join: the validator key's signature does not verify");
        }
        /* A validator key, once named, stays the account's: a later join may omit it
         * (a new enclave key) but not change it. */
        bool had_validator = acc->has_node && acc->node.has_validator;
        uint8_t validator[32];
        if (had_validator) {
            memcpy(validator, acc->node.validator_pubkey, 32);
            if (p->has_validator && memcmp(validator, p->validator_pubkey, 32) != 0)
                FAIL(VEIL_ERR_NODE_VALIDATOR_KEY,
                     "node join: the account's validator key cannot change");
        } else if (p->has_validator) {
            memcpy(validator, p->validator_pubkey, 32);
        }
        next->has_node = true;
        memset(&next->node, 0, sizeof next->node);
        if (had_validator || p->has_validator) {
            next->node.has_validator = true;
            memcpy(next->node.validator_pubkey, validator, 32);
        }
        next->node.enclave_pubkey_len = p->enclave_pubkey_len;
        memcpy(next->node.enclave_pubkey, p->enclave_pubkey, p->enclave_pubkey_len);
        memcpy(next->node.mrenclave, p->mrenclave, 32);
        memcpy(next->node.mrsigner, p->mrsigner, 32);
        veil_sha256(next->node.quote_hash, p->quote, p->quote_len);
        next->node.quote_verified = quotes_judged(env->params);
        next->node.joined_at = now;
        return VEIL_OK;
    }
    FAIL(VEIL_ERR_TX_MALFORMED, "public tx: unknown kind");
}
