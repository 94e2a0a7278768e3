/* The DCAP quote verifier (host/attest/dcap.h) on Intel's QVL sample data
 * (tests/vectors/dcap-intel-sample/): the sample's verdict, then one refusal per check,
 * each from a copy of the data with one thing changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "host/attest/dcap.h"
#include "hostutil/fileio.h"
#include "support/dcap_factory.h"

#define DIR VEIL_TEST_VECTORS "/dcap-intel-sample/"
/* 2025-01-01T00:00:00Z: inside every validity of the sample (its PCK certificate
 * expired on 2026-09-05). */
#define AT INT64_C(1735689600)

typedef struct blob {
    uint8_t *p;
    size_t n;
} blob;

static blob load(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s%s", DIR, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) fail_msg("cannot open %s", path);
    blob b = {malloc(1 << 16), 0};
    b.n = fread(b.p, 1, (1 << 16) - 1, f);
    b.p[b.n] = 0; /* PEM and JSON are used as strings */
    fclose(f);
    return b;
}

static struct {
    blob quote, root, pck, pck_chain, root_crl, pck_crl, tcb, tcb_chain, qe;
} g;

static int setup(void **state)
{
    (void)state;
    g.quote = load("quote.dat");
    g.root = load("trustedRootCaCert.pem");
    g.pck = load("pckCert.pem");
    g.pck_chain = load("pckSignChain.pem");
    g.root_crl = load("rootCaCrl.der");
    g.pck_crl = load("intermediateCaCrl.der");
    g.tcb = load("tcbInfo.json");
    g.tcb_chain = load("tcbSignChain.pem");
    g.qe = load("qeIdentity.json");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    blob *all[] = {&g.quote, &g.root, &g.pck, &g.pck_chain, &g.root_crl,
                   &g.pck_crl, &g.tcb, &g.tcb_chain, &g.qe};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]->p);
    return 0;
}

static dcap_collateral collateral(void)
{
    dcap_collateral c = {.root_ca_pem = (const char *)g.root.p,
                         .pck_cert_pem = (const char *)g.pck.p,
                         .pck_chain_pem = (const char *)g.pck_chain.p,
                         .root_crl = g.root_crl.p,
                         .root_crl_len = g.root_crl.n,
                         .pck_crl = g.pck_crl.p,
                         .pck_crl_len = g.pck_crl.n,
                         .tcb_info_json = (const char *)g.tcb.p,
                         .tcb_info_len = g.tcb.n,
                         .tcb_chain_pem = (const char *)g.tcb_chain.p,
                         .qe_identity_json = (const char *)g.qe.p,
                         .qe_identity_len = g.qe.n};
    return c;
}

static void test_sample_verdict(void **state)
{
    (void)state;
    dcap_collateral c = collateral();
    dcap_result r;
    veil_status st = dcap_verify(g.quote.p, g.quote.n, &c, AT, &r);
    if (st != VEIL_OK) fail_msg("%s: %s", veil_status_name(st), veil_error_detail());
    /* Intel's sample app: the quote verifies and the platform is up to date. */
    assert_int_equal(r.status, DCAP_TCB_UP_TO_DATE);
    assert_int_equal(r.platform_status, DCAP_TCB_UP_TO_DATE);
    assert_int_equal(r.qe_status, DCAP_TCB_UP_TO_DATE);
    static const uint8_t fmspc[6] = {0x00, 0x70, 0x7f, 0x00, 0x00, 0x00};
    assert_memory_equal(r.fmspc, fmspc, 6);
    assert_string_equal(dcap_tcb_status_name(r.status), "UpToDate");
    assert_ptr_equal(r.body, g.quote.p + DCAP_HEADER_LEN);
}

/* The same with one input replaced by `with` (a copy the test may edit). */
static veil_status verify_with(blob *which, const blob *with, int64_t at)
{
    blob keep = *which;
    *which = *with;
    dcap_collateral c = collateral();
    dcap_result r;
    veil_status st = dcap_verify(g.quote.p, g.quote.n, &c, at, &r);
    *which = keep;
    return st;
}

static blob copy(const blob *b)
{
    blob c = {malloc(b->n + 1), b->n};
    memcpy(c.p, b->p, b->n + 1);
    return c;
}

/* The first occurrence of `from` in a text blob replaced by `to` (same length). */
static void edit(blob *b, const char *from, const char *to)
{
    char *at = strstr((char *)b->p, from);
    assert_non_null(at);
    assert_int_equal(strlen(from), strlen(to));
    memcpy(at, to, strlen(to));
}

static void test_refusals(void **state)
{
    (void)state;
    dcap_collateral c = collateral();
    dcap_result r;
    /* Time: after the PCK certificate's end, and before the collateral's issue. */
    assert_int_equal(dcap_verify(g.quote.p, g.quote.n, &c, INT64_C(1800000000), &r),
                     VEIL_ERR_TEE_COLLATERAL_EXPIRED);
    assert_int_equal(dcap_verify(g.quote.p, g.quote.n, &c, INT64_C(1500000000), &r),
                     VEIL_ERR_TEE_COLLATERAL_EXPIRED);

    /* The quote: a report body byte (its signature), a QE report byte (the PCK's
     * signature), the QE auth data (the key binding), a truncated one, a trailing byte. */
    blob q = copy(&g.quote);
    q.p[DCAP_HEADER_LEN + DCAP_RB_REPORTDATA] ^= 1;
    assert_int_equal(verify_with(&g.quote, &q, AT), VEIL_ERR_TEE_QUOTE_SIGNATURE);
    memcpy(q.p, g.quote.p, q.n);
    size_t qe_report = DCAP_HEADER_LEN + DCAP_REPORT_BODY_LEN + 4 + 64 + 64;
    q.p[qe_report + DCAP_RB_ISVSVN] ^= 1;
    assert_int_equal(verify_with(&g.quote, &q, AT), VEIL_ERR_TEE_QUOTE_SIGNATURE);
    /* The attestation key: not the one the QE report binds (checked before the quote's
     * signature, which it would also fail). */
    memcpy(q.p, g.quote.p, q.n);
    q.p[DCAP_HEADER_LEN + DCAP_REPORT_BODY_LEN + 4 + 64] ^= 1;
    assert_int_equal(verify_with(&g.quote, &q, AT), VEIL_ERR_TEE_QUOTE_SIGNATURE);
    assert_non_null(strstr(veil_error_detail(), "binds"));
    /* Certification data claiming type 5 (a PEM chain) while holding 34 other bytes. */
    memcpy(q.p, g.quote.p, q.n);
    size_t cert_type = qe_report + DCAP_REPORT_BODY_LEN + 64 + 2; /* QE auth data: empty */
    assert_int_equal(q.p[cert_type], 1);
    q.p[cert_type] = 5;
    assert_int_equal(verify_with(&g.quote, &q, AT), VEIL_ERR_TEE_QUOTE_FORMAT);
    memcpy(q.p, g.quote.p, q.n);
    q.n = g.quote.n - 1;
    assert_int_equal(verify_with(&g.quote, &q, AT), VEIL_ERR_TEE_QUOTE_FORMAT);
    q.n = g.quote.n;
    free(q.p);
    dcap_quote parsed;
    uint8_t *longer = malloc(g.quote.n + 1);
    memcpy(longer, g.quote.p, g.quote.n);
    longer[g.quote.n] = 0;
    assert_int_equal(dcap_quote_parse(longer, g.quote.n + 1, &parsed), VEIL_ERR_TEE_QUOTE_FORMAT);
    free(longer);
    assert_int_equal(dcap_quote_parse(g.quote.p, g.quote.n, &parsed), VEIL_OK);
    assert_int_equal(parsed.version, 3);
    assert_int_equal(parsed.cert_type, 1);

    /* Collateral edited after signing (a level's PCESVN, the QE's product id): its
     * signature fails. */
    blob t = copy(&g.tcb);
    edit(&t, "\"pcesvn\":3", "\"pcesvn\":9");
    assert_int_equal(verify_with(&g.tcb, &t, AT), VEIL_ERR_TEE_COLLATERAL);
    free(t.p);
    blob e = copy(&g.qe);
    edit(&e, "\"isvprodid\":1", "\"isvprodid\":2");
    assert_int_equal(verify_with(&g.qe, &e, AT), VEIL_ERR_TEE_COLLATERAL);
    free(e.p);
    /* A root that is not the pinned one: nothing chains (the collateral's own chain is
     * checked first). */
    assert_int_equal(verify_with(&g.root, &g.pck, AT), VEIL_ERR_TEE_COLLATERAL);
    assert_non_null(strstr(veil_error_detail(), "TCB signing chain"));
    /* No CRL: refused, not skipped. */
    blob none = {(uint8_t *)"", 0};
    assert_int_equal(verify_with(&g.root_crl, &none, AT), VEIL_ERR_TEE_COLLATERAL);
    /* Garbage JSON. */
    blob junk = {(uint8_t *)"{\"tcbInfo\":", 11};
    assert_int_equal(verify_with(&g.tcb, &junk, AT), VEIL_ERR_TEE_COLLATERAL);
}

/* --- a generated world (tests/support/dcap_factory.c) ------------------------------ */
static uint8_t g_mrenclave[32]; /* of the last world that verified */

static veil_status verify_world(const dcapf_spec *s, int64_t at, dcap_result *r)
{
    dcapf_world w;
    dcapf_build(s, &w);
    dcap_collateral c = dcapf_collateral(&w);
    veil_status st = dcap_verify(w.quote, w.quote_len, &c, at, r);
    if (st == VEIL_OK) memcpy(g_mrenclave, r->body + DCAP_RB_MRENCLAVE, 32);
    r->body = NULL; /* it pointed into the quote, freed now */
    dcapf_free(&w);
    return st;
}

/* Each TCB status, reached from crafted TCB info: the platform (comps 2, PCESVN 5) sits
 * below a first level of comps 3 and reaches the second, which carries the status. */
static void test_each_tcb_status(void **state)
{
    (void)state;
    for (int k = DCAP_TCB_UP_TO_DATE; k <= DCAP_TCB_REVOKED; k++) {
        dcapf_level levels[2] = {
            {{3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3}, 5, "UpToDate", NULL},
            {{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, 5,
             dcap_tcb_status_name((dcap_tcb_status)k), "[\"INTEL-SA-00001\",\"INTEL-SA-00002\"]"}};
        dcapf_spec s;
        dcapf_spec_default(&s);
        s.levels = levels;
        s.n_levels = 2;
        dcap_result r;
        veil_status st = verify_world(&s, DCAPF_T0, &r);
        if (st != VEIL_OK) fail_msg("%s: %s", veil_status_name(st), veil_error_detail());
        assert_int_equal(r.platform_status, k);
        assert_int_equal(r.qe_status, DCAP_TCB_UP_TO_DATE);
        assert_int_equal(r.status, k);
        assert_string_equal(r.advisory_ids, "INTEL-SA-00001,INTEL-SA-00002");
    }
    /* One component below the level: the next level down, or none at all. */
    dcapf_spec s;
    dcapf_spec_default(&s);
    s.pck_comp[9] = 1;
    dcap_result r;
    assert_int_equal(verify_world(&s, DCAPF_T0, &r), VEIL_ERR_TEE_TCB_UNKNOWN);
    dcapf_spec_default(&s);
    s.pck_pcesvn = 4;
    assert_int_equal(verify_world(&s, DCAPF_T0, &r), VEIL_ERR_TEE_TCB_UNKNOWN);
}

static void test_policy(void **state)
{
    (void)state;
    dcap_policy p;
    dcap_result r = {.status = DCAP_TCB_UP_TO_DATE};
    dcap_policy_default(&p);
    assert_int_equal(dcap_policy_check(&p, &r), VEIL_OK);
    for (int k = DCAP_TCB_SW_HARDENING_NEEDED; k <= DCAP_TCB_REVOKED; k++) {
        r.status = (dcap_tcb_status)k;
        assert_int_equal(dcap_policy_check(&p, &r), VEIL_ERR_TEE_TCB_REFUSED);
    }
    assert_int_equal(dcap_policy_parse("SWHardeningNeeded,OutOfDate", &p), VEIL_OK);
    r.status = DCAP_TCB_SW_HARDENING_NEEDED;
    assert_int_equal(dcap_policy_check(&p, &r), VEIL_OK);
    r.status = DCAP_TCB_OUT_OF_DATE;
    assert_int_equal(dcap_policy_check(&p, &r), VEIL_OK);
    r.status = DCAP_TCB_CONFIGURATION_NEEDED; /* not listed */
    assert_int_equal(dcap_policy_check(&p, &r), VEIL_ERR_TEE_TCB_REFUSED);
    r.status = DCAP_TCB_UP_TO_DATE; /* always */
    assert_int_equal(dcap_policy_check(&p, &r), VEIL_OK);
    assert_int_equal(dcap_policy_parse("Revoked", &p), VEIL_ERR_USAGE);
    assert_int_equal(dcap_policy_parse("UpToDate,Whatever", &p), VEIL_ERR_USAGE);
    assert_int_equal(dcap_policy_parse("", &p), VEIL_OK);
    r.status = DCAP_TCB_REVOKED;
    assert_int_equal(dcap_policy_check(&p, &r), VEIL_ERR_TEE_TCB_REFUSED);
}

static void test_world_refusals(void **state)
{
    (void)state;
    dcapf_spec s;
    dcap_result r;
    /* The default world verifies (certification data type 5: the chain in the quote). */
    dcapf_spec_default(&s);
    assert_int_equal(verify_world(&s, DCAPF_T0, &r), VEIL_OK);
    assert_int_equal(r.status, DCAP_TCB_UP_TO_DATE);
    assert_int_equal(g_mrenclave[0], 0x11);
    /* TCB info for another FMSPC. */
    s.info_fmspc[5] = 1;
    assert_int_equal(verify_world(&s, DCAPF_T0, &r), VEIL_ERR_TEE_TCB_UNKNOWN);
    /* The PCK certificate revoked on its CA's CRL. */
    dcapf_spec_default(&s);
    s.revoke_pck = true;
    assert_int_equal(verify_world(&s, DCAPF_T0, &r), VEIL_ERR_TEE_PCK_REVOKED);
    /* A QE identity naming another signer; a QE below its only level; a QE whose
     * level is out of date makes the verdict out of date whatever the platform's. */
    dcapf_spec_default(&s);
    s.qe_other_mrsigner = true;
    assert_int_equal(verify_world(&s, DCAPF_T0, &r), VEIL_ERR_TEE_QE_IDENTITY);
    dcapf_spec_default(&s);
    s.qe_isvsvn = 1;
    assert_int_equal(verify_world(&s, DCAPF_T0, &r), VEIL_ERR_TEE_QE_IDENTITY);
    dcapf_spec_default(&s);
    s.qe_status = "OutOfDate";
    assert_int_equal(verify_world(&s, DCAPF_T0, &r), VEIL_OK);
    assert_int_equal(r.platform_status, DCAP_TCB_UP_TO_DATE);
    assert_int_equal(r.qe_status, DCAP_TCB_OUT_OF_DATE);
    assert_int_equal(r.status, DCAP_TCB_OUT_OF_DATE);
    /* One verifier, many quotes: the second check of a chain comes from its cache and
     * still judges the quote's own signatures. */
    dcapf_spec_default(&s);
    dcapf_world w;
    dcapf_build(&s, &w);
    dcap_collateral c = dcapf_collateral(&w);
    dcap_verifier *v;
    assert_int_equal(dcap_verifier_new(&c, DCAPF_T0, &v), VEIL_OK);
    for (int i = 0; i < 3; i++) assert_int_equal(dcap_verifier_check(v, w.quote, w.quote_len, &r), VEIL_OK);
    w.quote[DCAP_HEADER_LEN + DCAP_RB_ISVSVN] ^= 1;
    assert_int_equal(dcap_verifier_check(v, w.quote, w.quote_len, &r), VEIL_ERR_TEE_QUOTE_SIGNATURE);
    dcap_verifier_free(v);
    dcapf_free(&w);
    /* Collateral past its nextUpdate. */
    dcapf_spec_default(&s);
    s.next_update = DCAPF_T0 - 1;
    assert_int_equal(verify_world(&s, DCAPF_T0, &r), VEIL_ERR_TEE_COLLATERAL_EXPIRED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_verdict),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_each_tcb_status),
        cmocka_unit_test(test_world_refusals),
        cmocka_unit_test(test_policy),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
