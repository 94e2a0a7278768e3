/* Test-only: an IAS-style attestation service (HTTPS) and a per-node proxy (HTTP),
 * both real servers on loopback in this process, with a fresh service home under
 * `dir` judging quotes against the collateral bundle at `collateral_path`. */
#ifndef VEIL_TESTS_IAS_WORLD_H
#define VEIL_TESTS_IAS_WORLD_H

#include "host/attest/ias_service.h"

#define IAS_WORLD_KEY "test-subscription-key-0123456789"

typedef struct ias_world {
    char home[256], tls_crt[320], service_url[64], proxy_url[64];
    char *root_pem; /* the report-signing root verifiers pin */
    char *chain_pem, *tls_cert_pem, *tls_key_pem;
    EVP_PKEY *sign_key;
    attest_collateral *collateral;
    const char *keys[2];
    ias_service svc;
    http_server *service, *proxy_srv;
    ias_proxy *proxy;
} ias_world;

/* Returns 0, or -1 with a message on stderr. */
int ias_world_start(ias_world *w, const char *dir, const char *collateral_path);
void ias_world_stop(ias_world *w);

#endif
