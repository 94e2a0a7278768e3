/* The sim backend's loader and CPU.
 *
 * Loading reads the signed image once, verifies its signature structure and
 * measurement, copies the verified bytes into a sealed memfd and dlopens that, so
 * the bytes that were measured are the bytes that run (no re-read of the path).
 * Each load is a separate copy of the image with its own globals: two enclaves never
 * share state, even when loaded from the same file.
 *
 * The CPU operations act for the enclave whose sim_cpu they receive: the identity
 * in key derivation and reports is the one measured here.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/cursor.h"
#include "common/hex.h"
#include "crypto/crypto.h"
#include "crypto/crypto_host.h"
#include "hostutil/fileio.h"
#include "tee/sim/sigstruct.h"
#include "tee/sim/sim_abi.h"
#include "host/attest/attest.h"
#include "host/attest/ias_service.h"
#include "tee/sim/sim_host.h"
#include "trusted/ratls/ratls_evidence.h"

#define DEFAULT_ENCLAVE_MEMORY (64u * 1024u * 1024u)
#define OCALL_MAX_OUT (64u * 1024u * 1024u)

struct sim_cpu {
    tee_platform *platform;
    tee_identity identity;
    tee_ocall_table ocalls;
    size_t heap_max;
    atomic_size_t heap_used;
    atomic_size_t heap_peak; /* the most heap_used has been */
};

struct tee_enclave {
    void *dl;
    int memfd; /* open while loaded: see image_open_verified */
    const tee_enclave_def *def;
    struct sim_cpu cpu;
};

/* --- CPU operations ------------------------------------------------------------- */
static veil_status cpu_random(sim_cpu *cpu, void *buf, size_t n)
{
    (void)cpu;
    return veil_random_bytes(buf, n);
}

static veil_status cpu_getkey(sim_cpu *cpu, const sim_key_request *req, uint8_t key[TEE_KEY_LEN])
{
    const tee_identity *id = &cpu->identity;
    if (req->name == TEE_KEY_REPORT)
        return sim_cpu_derive(cpu->platform, TEE_KEY_REPORT, 0, id->mrenclave, 0, 0,
                              id->attributes, req->key_id, key);
    ENSURE(req->name == TEE_KEY_SEAL || req->name == TEE_KEY_APP, VEIL_ERR_TEE_POLICY);
    ENSURE(req->svn <= id->svn, VEIL_ERR_TEE_SVN);
    const uint8_t *who;
    switch (req->policy) {
    case TEE_POLICY_MRSIGNER:
        who = id->mrsigner;
        break;
    case TEE_POLICY_MRENCLAVE:
        who = id->mrenclave;
        break;
    default:
        return VEIL_ERR_TEE_POLICY;
    }
    /* The debug attribute is part of every key: a debug enclave can never open what a
     * production enclave sealed. */
    return sim_cpu_derive(cpu->platform, req->name, req->policy, who, id->prodid, req->svn,
                          id->attributes & TEE_ATTR_DEBUG, req->key_id, key);
}

static veil_status cpu_report(sim_cpu *cpu, const tee_target_info *target,
                              const uint8_t report_data[TEE_REPORT_DATA_LEN], tee_report *out)
{
    uint8_t key[TEE_KEY_LEN], wire[TEE_REPORT_WIRE_LEN];
    memset(out, 0, sizeof *out);
    out->body.identity = cpu->identity;
    memcpy(out->body.report_data, report_data, TEE_REPORT_DATA_LEN);
    TRY(veil_random_bytes(out->key_id, sizeof out->key_id));
    TRY(sim_cpu_derive(cpu->platform, TEE_KEY_REPORT, 0, target->mrenclave, 0, 0,
                       target->attributes, out->key_id, key));
    tee_report_serialize(out, wire);
    veil_hmac_sha256(out->mac, key, sizeof key, wire, TEE_REPORT_WIRE_LEN - TEE_REPORT_MAC_LEN);
    veil_wipe(key, sizeof key);
    return VEIL_OK;
}

static void cpu_identity(sim_cpu *cpu, tee_identity *out) { *out = cpu->identity; }

static void cpu_qe_target_info(sim_cpu *cpu, tee_target_info *out)
{
    (void)cpu;
    sim_qe_target_info(out);
}

static veil_status cpu_quote(sim_cpu *cpu, const tee_report *report, uint8_t *out, size_t out_cap,
                             size_t *out_len)
{
    return sim_qe_quote(cpu->platform, report, out, out_cap, out_len);
}

/* The host's side of tee_attestation_report: the proxy's answer, shaped as the
 * ias-report the enclave embeds. The enclave gets a length-checked copy. */
static veil_status cpu_attestation_report(sim_cpu *cpu, const uint8_t *quote, size_t quote_len,
                                          uint8_t *out, size_t out_cap, size_t *out_len)
{
    const char *proxy = cpu->platform->attest_proxy;
    ENSURE(proxy[0] != '\0', VEIL_ERR_TEE_UNSUPPORTED);
    ias_fetched f;
    TRY(ias_fetch_report(proxy, NULL, NULL, quote, quote_len, NULL, 15000, &f));
    ratls_ias r = {.body = (const uint8_t *)f.body,
                   .body_len = f.body_len,
                   .signature = (const uint8_t *)f.signature_b64,
                   .signature_len = strlen(f.signature_b64),
                   .chain = (const uint8_t *)f.signing_chain_pem,
                   .chain_len = strlen(f.signing_chain_pem)};
    veil_status st = ratls_ias_encode(&r, out, out_cap, out_len);
    if (st == VEIL_ERR_ARG) {
        veil_error_detail_set("attestation report: a part is empty or too large");
        st = VEIL_ERR_TEE_IAS_REPORT;
    }
    ias_fetched_free(&f);
    return st;
}

/* The platform's quote verification service: the DCAP verifier every host uses, with
 * the collateral the host configured, whose root is this platform's own (checked by
 * tee_platform_set_collateral). The enclave receives only the verdict. */
static veil_status cpu_verify_quote(sim_cpu *cpu, const uint8_t *quote, size_t quote_len,
                                    int64_t at, tee_quote_verdict *out)
{
    const attest_collateral *c = cpu->platform->collateral;
    ENSURE(c != NULL, VEIL_ERR_TEE_UNSUPPORTED);
    attest_claims claims;
    TRY(attest_quote_verify(quote, quote_len, c, at, &claims));
    memset(out, 0, sizeof *out);
    out->identity = claims.body.identity;
    memcpy(out->report_data, claims.body.report_data, TEE_REPORT_DATA_LEN);
    out->tcb_status = (uint32_t)claims.tcb_status;
    return VEIL_OK;
}

/* Enclave heap: every allocation carries its size so the budget can be enforced. */
typedef struct heap_hdr {
    size_t size;
    size_t pad; /* keeps the payload 16-byte aligned */
} heap_hdr;

static void *cpu_alloc(sim_cpu *cpu, size_t n)
{
    size_t total;
    if (__builtin_add_overflow(n, sizeof(heap_hdr), &total)) return NULL;
    size_t used = atomic_fetch_add(&cpu->heap_used, total);
    if (used + total > cpu->heap_max || used + total < used) {
        atomic_fetch_sub(&cpu->heap_used, total);
        return NULL;
    }
    heap_hdr *h = malloc(total);
    if (h == NULL) {
        atomic_fetch_sub(&cpu->heap_used, total);
        return NULL;
    }
    size_t peak = atomic_load(&cpu->heap_peak);
    while (used + total > peak && !atomic_compare_exchange_weak(&cpu->heap_peak, &peak, used + total)) {
    }
    h->size = total;
    return h + 1;
}

static void cpu_free(sim_cpu *cpu, void *p)
{
    if (p == NULL) return;
    heap_hdr *h = (heap_hdr *)p - 1;
    atomic_fetch_sub(&cpu->heap_used, h->size);
    free(h);
}

/* The ocall context of the ecall running on this thread (tee_enclave_call_ctx): the
 * backend routes it, as SGX's untrusted runtime routes ocalls to the calling thread. */
static _Thread_local void *g_call_ctx;

static veil_status cpu_ocall(sim_cpu *cpu, uint32_t index, const uint8_t *in, size_t in_len,
                             uint8_t *out, size_t out_cap, size_t *out_len)
{
    ENSURE(index < cpu->ocalls.count && cpu->ocalls.fns[index] != NULL, VEIL_ERR_TEE_NO_OCALL);
    ENSURE(out_cap <= OCALL_MAX_OUT, VEIL_ERR_TOO_LARGE);
    /* The host writes into its own buffer; only a length-checked copy enters. */
    uint8_t *host_out = malloc(out_cap ? out_cap : 1);
    ENSURE(host_out != NULL, VEIL_ERR_NOMEM);
    size_t n = 0;
    void *ctx = g_call_ctx != NULL ? g_call_ctx : cpu->ocalls.ctx;
    veil_status st = cpu->ocalls.fns[index](ctx, in, in_len, host_out, out_cap, &n);
    if (st == VEIL_OK && n > out_cap) st = VEIL_ERR_BUFFER_TOO_SMALL;
    if (st == VEIL_OK) {
        if (n > 0) memcpy(out, host_out, n);
        *out_len = n;
    }
    free(host_out);
    return st;
}

/* Monotonic counters: PLATFORM/counters/<hex SHA-256(mrenclave || id)>, 8 bytes BE,
 * replaced atomically and durably (veil_file_write_atomic: write, fsync, rename, fsync
 * the directory). One lock for the process; processes sharing a platform use distinct
 * ids (enclaves draw them at random). The directory is the host's, as the platform's
 * other secrets are in this simulation: a host that edits it can roll a counter back. */
static pthread_mutex_t g_counter_lock = PTHREAD_MUTEX_INITIALIZER;

static veil_status cpu_counter(sim_cpu *cpu, const uint8_t id[TEE_COUNTER_ID_LEN], int increment,
                               uint64_t *value)
{
    uint8_t in[32 + TEE_COUNTER_ID_LEN], h[32];
    char name[65], dir[PATH_MAX], path[PATH_MAX];
    memcpy(in, cpu->identity.mrenclave, 32);
    memcpy(in + 32, id, TEE_COUNTER_ID_LEN);
    veil_sha256(h, in, sizeof in);
    veil_hex_encode(name, h, sizeof h);
    ENSURE(veil_path_join(dir, sizeof dir, cpu->platform->dir, "counters") == VEIL_OK &&
               veil_path_join(path, sizeof path, dir, name) == VEIL_OK,
           VEIL_ERR_TEE_COUNTER);
    pthread_mutex_lock(&g_counter_lock);
    uint8_t *buf = NULL;
    size_t len = 0;
    uint64_t v = 0;
    veil_status st = veil_file_read(path, 8, &buf, &len);
    if (st == VEIL_OK && len == 8) v = veil_get_u64(buf);
    else if (st == VEIL_OK || st != VEIL_ERR_NOT_FOUND) st = VEIL_ERR_TEE_COUNTER;
    else st = VEIL_OK; /* never incremented: 0 */
    free(buf);
    if (st == VEIL_OK && increment) {
        uint8_t out[8];
        st = v < UINT64_MAX ? VEIL_OK : VEIL_ERR_TEE_COUNTER;
        veil_put_u64(out, ++v);
        if (st == VEIL_OK && (veil_mkdir_p(dir, 0700) != VEIL_OK ||
                              veil_file_write_atomic(path, out, sizeof out, 0600) != VEIL_OK))
            st = VEIL_ERR_TEE_COUNTER;
    }
    pthread_mutex_unlock(&g_counter_lock);
    if (st == VEIL_OK) *value = v;
    return st;
}

static const sim_cpu_ops g_cpu_ops = {
    .abi_version = SIM_ABI_VERSION,
    .random = cpu_random,
    .getkey = cpu_getkey,
    .report = cpu_report,
    .identity = cpu_identity,
    .qe_target_info = cpu_qe_target_info,
    .quote = cpu_quote,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .ocall = cpu_ocall,
    .attestation_report = cpu_attestation_report,
    .verify_quote = cpu_verify_quote,
    .counter = cpu_counter,
};

/* --- loading -------------------------------------------------------------------- */
/* glibc recognises an already loaded object by its path, and /proc/self/fd/N repeats
 * when a descriptor number is reused. The memfd therefore stays open while the enclave
 * is loaded (keeping its path unique) and is closed only after dlclose. */
static veil_status image_open_verified(const uint8_t *image, size_t len, void **dl, int *memfd)
{
    char path[64];
    int fd = memfd_create("veil-enclave", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        veil_error_detail_set("memfd_create: %s", strerror(errno));
        return VEIL_ERR_TEE_LOAD;
    }
    veil_status st = VEIL_OK;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, image + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        ENSURE_OUT(w > 0, VEIL_ERR_TEE_LOAD);
        off += (size_t)w;
    }
    /* Freeze the copy: nothing can change the bytes between measurement and mapping. */
    ENSURE_OUT(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) == 0,
               VEIL_ERR_TEE_LOAD);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (*dl == NULL) {
        veil_error_detail_set("dlopen: %s", dlerror());
        st = VEIL_ERR_TEE_LOAD;
    }
out:
    if (st == VEIL_OK) *memfd = fd;
    else close(fd);
    return st;
}

veil_status tee_enclave_load(tee_platform *p, const char *signed_image_path,
                             const tee_ocall_table *ocalls, size_t max_memory, tee_enclave **out)
{
    veil_status st;
    uint8_t *file = NULL;
    size_t file_len;
    sim_sigstruct sig;
    tee_enclave *e = NULL;

    veil_error_detail_clear();
    TRY(veil_crypto_init());
    TRY(veil_file_read(signed_image_path, SIM_IMAGE_MAX + SIM_SIGSTRUCT_LEN, &file, &file_len));
    TRY_OUT(sim_sigstruct_verify(file, file_len, &sig));
    e = calloc(1, sizeof *e);
    ENSURE_OUT(e != NULL, VEIL_ERR_NOMEM);
    e->memfd = -1;
    e->cpu.platform = p;
    sim_sigstruct_identity(&sig, &e->cpu.identity);
    if (ocalls != NULL) e->cpu.ocalls = *ocalls;
    e->cpu.heap_max = max_memory ? max_memory : DEFAULT_ENCLAVE_MEMORY;
    atomic_init(&e->cpu.heap_used, 0);
    atomic_init(&e->cpu.heap_peak, 0);
    TRY_OUT(image_open_verified(file, (size_t)sig.image_len, &e->dl, &e->memfd));

    /* The image exports one entry point; everything else is reached through it. */
    sim_enclave_entry_fn entry;
    *(void **)&entry = dlsym(e->dl, SIM_ENCLAVE_ENTRY_SYMBOL);
    if (entry == NULL) {
        veil_error_detail_set("image has no %s symbol", SIM_ENCLAVE_ENTRY_SYMBOL);
        st = VEIL_ERR_TEE_LOAD;
        goto out;
    }
    TRY_OUT(entry(&g_cpu_ops, &e->cpu, &e->def));
    ENSURE_OUT(e->def != NULL && e->def->ecalls != NULL, VEIL_ERR_TEE_LOAD);
    *out = e;
    e = NULL;
out:
    free(file);
    tee_enclave_destroy(e);
    return st;
}

void tee_enclave_destroy(tee_enclave *e)
{
    if (e == NULL) return;
    if (e->dl != NULL) dlclose(e->dl);
    if (e->memfd >= 0) close(e->memfd);
    free(e);
}

veil_status tee_enclave_call(tee_enclave *e, uint32_t index, const uint8_t *in, size_t in_len,
                             uint8_t *out, size_t out_cap, size_t *out_len)
{
    return tee_enclave_call_ctx(e, index, in, in_len, out, out_cap, out_len, NULL);
}

veil_status tee_enclave_call_ctx(tee_enclave *e, uint32_t index, const uint8_t *in, size_t in_len,
                                 uint8_t *out, size_t out_cap, size_t *out_len, void *ocall_ctx)
{
    ENSURE(index < e->def->ecall_count && e->def->ecalls[index] != NULL, VEIL_ERR_TEE_NO_ECALL);
    /* Marshal through enclave memory: the handler sees private copies, counted against
     * the enclave's memory budget. */
    uint8_t *ein = cpu_alloc(&e->cpu, in_len ? in_len : 1);
    uint8_t *eout = cpu_alloc(&e->cpu, out_cap ? out_cap : 1);
    veil_status st = VEIL_ERR_TEE_OUT_OF_MEMORY;
    if (ein != NULL && eout != NULL) {
        if (in_len > 0) memcpy(ein, in, in_len);
        size_t n = 0;
        void *outer = g_call_ctx; /* an ocall may call into another enclave */
        g_call_ctx = ocall_ctx;
        st = e->def->ecalls[index](ein, in_len, eout, out_cap, &n);
        g_call_ctx = outer;
        if (st == VEIL_OK && n > out_cap) st = VEIL_ERR_TEE_ENCLAVE_FAULT;
        if (st == VEIL_OK) {
            if (n > 0) memcpy(out, eout, n);
            *out_len = n;
        }
    }
    cpu_free(&e->cpu, ein);
    cpu_free(&e->cpu, eout);
    return st;
}

void tee_enclave_identity(const tee_enclave *e, tee_identity *out) { *out = e->cpu.identity; }

void tee_enclave_target_info(const tee_enclave *e, tee_target_info *out)
{
    memcpy(out->mrenclave, e->cpu.identity.mrenclave, TEE_MEASUREMENT_LEN);
    out->attributes = e->cpu.identity.attributes;
}

veil_status tee_image_identity(const char *signed_image_path, tee_identity *out)
{
    uint8_t *file = NULL;
    size_t len = 0;
    sim_sigstruct sig;
    TRY(veil_file_read(signed_image_path, SIM_IMAGE_MAX + SIM_SIGSTRUCT_LEN, &file, &len));
    veil_status st = sim_sigstruct_verify(file, len, &sig);
    free(file);
    TRY(st);
    sim_sigstruct_identity(&sig, out);
    return VEIL_OK;
}

size_t sim_enclave_heap_peak(const tee_enclave *e)
{
    return e == NULL ? 0 : atomic_load(&((tee_enclave *)e)->cpu.heap_peak);
}
