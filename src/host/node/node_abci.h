/* The node as an ABCI application (abci_app.h): adapts node_app to CometBFT v0.38's
 * requests and responses. Host only. */
#ifndef VEIL_HOST_NODE_ABCI_H
#define VEIL_HOST_NODE_ABCI_H

#include "host/abci/abci_app.h"
#include "host/node/node_app.h"

#define NODE_ABCI_CODESPACE "veil"
#define NODE_ABCI_EVENT_BLOCK "veil.block"
#define NODE_ABCI_ATTR_BLOOM "bloom"
#define NODE_ABCI_PROOF_OP "veil/smt/v2" /* the proof format of app-hash format 2 */
#define NODE_QUERY_OUTPUTS_MAX 256 /* txids in one /outputs/ query */

/* The callback table for `a` (a must outlive every server using it). */
abci_app node_abci_app(node_app *a);

#endif
