/* Fuzzes the TVE service's request handling: bytes go straight into
 * tve_service_handle (no socket), on a service with the real TVE enclave loaded and a
 * store in a temporary directory (removed at exit). State carries over between inputs
 * (init-chain, staging, commits), as it does for a daemon facing a hostile peer.
 *
 * Invariants: every input gets a reply; the reply decodes as a Response with a case
 * set; an Error carries a known status code with its fixed name and message; an input
 * that does not decode as a Request, or is over its size limit, gets an Error.
 * Corpus: fuzz/corpus/tve_request/ (written by tests/test_tve with
 * VEIL_TVE_WRITE_CORPUS=<dir>; docs/tve-protocol.md). The export_blocks and
 * import_blocks seeds are made by hand: an import's sealed stream there is random bytes,
 * since only this platform's TDBE can seal one the enclave opens. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostutil/fileio.h"
#include "host/tve/tve_service.h"
#include "tee/sim/sim_host.h"
#include "veil/tve.pb-c.h"

#ifndef VEIL_TVE_ENCLAVE
#error "VEIL_TVE_ENCLAVE must name the signed TVE enclave image"
#endif

static tve_service *g_svc;
static bool g_verbose; /* $VEIL_FUZZ_VERBOSE: one line per input (request, status) */
static char g_dir[64];

static void cleanup(void)
{
    tve_service_close(g_svc);
    g_svc = NULL;
    veil_remove_tree(g_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char plat[96], root[96], home[96];
    snprintf(g_dir, sizeof g_dir, "/tmp/veil-fuzz-tve-XXXXXX");
    if (mkdtemp(g_dir) == NULL) abort();
    atexit(cleanup);
    snprintf(plat, sizeof plat, "%s/p", g_dir);
    snprintf(root, sizeof root, "%s/r", g_dir);
    snprintf(home, sizeof home, "%s/h", g_dir);
    if (sim_platform_provision(plat, root, 1, false) != VEIL_OK) abort();
    tve_service_config cfg = {
        .home = home,
        .platform_dir = plat,
        .enclave_path = VEIL_TVE_ENCLAVE,
        .threads = 2,
        .no_sync = true, /* thousands of commits: durability is not under test here */
    };
    if (tve_service_open(&cfg, &g_svc) != VEIL_OK) abort();
    g_verbose = getenv("VEIL_FUZZ_VERBOSE") != NULL;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *resp = NULL;
    size_t resp_len = 0;
    tve_request_info info;
    if (tve_service_handle(g_svc, data, size, &resp, &resp_len, &info) != VEIL_OK) abort();
    if (g_verbose) fprintf(stderr, "%s %d\n", info.name, (int)info.status);

    Veil__Tve__Response *r = veil__tve__response__unpack(NULL, resp_len, resp);
    if (r == NULL || r->response_case == VEIL__TVE__RESPONSE__RESPONSE__NOT_SET) abort();
    bool is_error = r->response_case == VEIL__TVE__RESPONSE__RESPONSE_ERROR;
    if (is_error != (info.status != VEIL_OK)) abort();
    if (is_error) {
        const Veil__Tve__Error *e = r->error;
        if (e == NULL || e->code == 0 || e->code != (uint32_t)info.status) abort();
        if (strcmp(e->name, veil_status_name(info.status)) != 0 ||
            strcmp(e->message, veil_status_str(info.status)) != 0 ||
            strcmp(e->name, "unknown status") == 0)
            abort();
    }
    Veil__Tve__Request *req =
        size <= TVE_FRAME_MAX ? veil__tve__request__unpack(NULL, size, data) : NULL;
    if (size <= TVE_FRAME_MAX && !is_error &&
        (req == NULL || req->request_case == VEIL__TVE__REQUEST__REQUEST__NOT_SET))
        abort();
    if (req != NULL) veil__tve__request__free_unpacked(req, NULL);
    veil__tve__response__free_unpacked(r, NULL);
    free(resp);
    return 0;
}
