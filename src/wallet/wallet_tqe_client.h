/* The wallet's TQE client: the wallet <-> TQE protocol (proto/veil/tqe.proto) over
 * attested TLS (src/host/ratls). The TQE's certificate is checked against the
 * wallet's policy during the handshake (ratls_client_connect); nothing is sent before
 * that succeeds, and a refusal comes back as the verifier's own status
 * (VEIL_ERR_RATLS_*, VEIL_ERR_TEE_QUOTE_*) with its detail. Host only. */
#ifndef VEIL_WALLET_WALLET_TQE_CLIENT_H
#define VEIL_WALLET_WALLET_TQE_CLIENT_H

#include "host/ratls/ratls_client.h"
#include "wallet/wallet.h"

typedef struct wallet_tqe_client wallet_tqe_client;

VEIL_MUST_CHECK veil_status wallet_tqe_connect(const char *host_port, const ratls_policy *policy,
                                               int timeout_ms, wallet_tqe_client **out);
/* The verified identity of the TQE (valid until close). */
const attest_claims *wallet_tqe_peer(const wallet_tqe_client *c);
/* Fills a wallet_tqe whose calls go to this connection. */
void wallet_tqe_client_iface(wallet_tqe_client *c, wallet_tqe *out);
void wallet_tqe_close(wallet_tqe_client *c);

#endif
