/* Test-only attestation service and proxy (ias_world.h). */
#include "ias_world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "hostutil/fileio.h"

static char *text(const char *dir, const char *name)
{
    char p[512], *s = NULL;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return veil_file_read_text(p, 1 << 20, &s, NULL) == VEIL_OK ? s : NULL;
}

int ias_world_start(ias_world *w, const char *dir, const char *collateral_path)
{
    memset(w, 0, sizeof *w);
    snprintf(w->home, sizeof w->home, "%s/attest-service", dir);
    snprintf(w->tls_crt, sizeof w->tls_crt, "%s/%s", w->home, IAS_TLS_CERT_FILE);
    if (attest_collateral_load(collateral_path, &w->collateral) != VEIL_OK ||
        ias_service_init_home(w->home, NULL) != VEIL_OK) {
        fprintf(stderr, "ias_world: collateral or service home: %s\n", veil_error_detail());
        return -1;
    }
    w->root_pem = text(w->home, IAS_ROOT_CERT_FILE);
    char *sign = text(w->home, IAS_SIGNING_CERT_FILE), *key = text(w->home, IAS_SIGNING_KEY_FILE);
    w->tls_cert_pem = text(w->home, IAS_TLS_CERT_FILE);
    w->tls_key_pem = text(w->home, IAS_TLS_KEY_FILE);
    int rc = -1;
    if (w->root_pem == NULL || sign == NULL || key == NULL || w->tls_cert_pem == NULL ||
        w->tls_key_pem == NULL)
        goto out;
    w->chain_pem = malloc(strlen(sign) + strlen(w->root_pem) + 1);
    if (w->chain_pem == NULL) goto out;
    strcpy(w->chain_pem, sign);
    strcat(w->chain_pem, w->root_pem);
    BIO *b = BIO_new_mem_buf(key, -1);
    w->sign_key = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (w->sign_key == NULL) goto out;
    w->keys[0] = "another-key";
    w->keys[1] = IAS_WORLD_KEY;
    w->svc = (ias_service){.collateral = w->collateral,
                           .report_key = w->sign_key,
                           .signing_chain_pem = w->chain_pem,
                           .keys = w->keys,
                           .n_keys = 2};
    http_server_config hc = {.addr = "127.0.0.1:0",
                             .max_body = IAS_REQUEST_MAX,
                             .tls_cert_pem = w->tls_cert_pem,
                             .tls_key_pem = w->tls_key_pem,
                             .handler = ias_service_handle,
                             .ctx = &w->svc};
    if (http_server_start(&hc, &w->service) != VEIL_OK) goto out;
    snprintf(w->service_url, sizeof w->service_url, "https://127.0.0.1:%u",
             (unsigned)http_server_port(w->service));
    ias_proxy_config pc = {.service_url = w->service_url,
                           .service_ca = w->tls_crt,
                           .key = IAS_WORLD_KEY,
                           .rate_per_s = 100,
                           .burst = 100,
                           .timeout_ms = 5000};
    if (ias_proxy_new(&pc, &w->proxy) != VEIL_OK) goto out;
    http_server_config ph = {.addr = "127.0.0.1:0",
                             .max_body = IAS_REQUEST_MAX,
                             .handler = ias_proxy_handle,
                             .ctx = w->proxy};
    if (http_server_start(&ph, &w->proxy_srv) != VEIL_OK) goto out;
    snprintf(w->proxy_url, sizeof w->proxy_url, "http://127.0.0.1:%u",
             (unsigned)http_server_port(w->proxy_srv));
    rc = 0;
out:
    if (rc != 0) fprintf(stderr, "ias_world: start failed: %s\n", veil_error_detail());
    free(sign);
    free(key);
    return rc;
}

void ias_world_stop(ias_world *w)
{
    http_server_stop(w->proxy_srv);
    http_server_stop(w->service);
    ias_proxy_free(w->proxy);
    attest_collateral_free(w->collateral);
    free(w->root_pem);
    free(w->chain_pem);
    free(w->tls_cert_pem);
    free(w->tls_key_pem);
    EVP_PKEY_free(w->sign_key);
    memset(w, 0, sizeof *w);
}
