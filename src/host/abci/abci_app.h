/* The ABCI application interface: what the node implements and the server drives.
 *
 * The server (abci_server.h) decodes each Request, answers Echo and Flush itself, and
 * calls the matching callback below. Each callback receives
 *   ctx   the abci_app.ctx pointer, untouched
 *   call  the per-request context: allocation for the response and an error text
 *   req   the decoded request. Owned by the server and valid only during the call:
 *         copy whatever must outlive it.
 *   resp  the response, already initialised with its protobuf-c *_INIT value. The
 *         callee fills it in. Every pointer it stores (strings, bytes, repeated
 *         arrays, sub-messages) must stay valid until the callback returns and the
 *         server has encoded the response: allocate them with abci_call_alloc() and
 *         friends (freed by the server after encoding), or point at storage that
 *         outlives the call (string literals, the app's own state, or req itself).
 *         The server never frees anything else in resp.
 * and returns VEIL_OK, or an error: the server then answers ResponseException with
 * "<status name>: <status message>[: <text from abci_call_fail>]" instead of resp.
 * CometBFT treats an exception as fatal (its client stops and the node halts), which
 * is what a failed FinalizeBlock or Commit must do; ordinary rejections (a bad tx in
 * CheckTx, a bad proposal) are answered with codes/statuses in resp, not errors.
 *
 * Serialisation: calls into the app are serialised by ONE mutex shared by all
 * connections of a server, as CometBFT's own socket server and local client do, so
 * callbacks never run concurrently with each other and need no locking of their own
 * against one another. Order within a connection is the request order; across
 * connections it is whatever order the requests arrive in. A callback must not call
 * back into the server (abci_server_stop would deadlock).
 *
 * A NULL callback gets the default below (CometBFT's BaseApplication behaviour, with
 * state sync refused explicitly):
 *   info                   empty ResponseInfo (height 0: CometBFT sends InitChain)
 *   init_chain             empty ResponseInitChain (keep genesis validators/params)
 *   query                  code 0, nothing else
 *   check_tx               code 0 (accept)
 *   prepare_proposal       the request's txs, in order, while their total size stays
 *                          within max_tx_bytes
 *   process_proposal       ACCEPT
 *   extend_vote            empty vote extension
 *   verify_vote_extension  ACCEPT
 *   finalize_block         one ExecTxResult with code 0 per tx, no app hash
 *   commit                 retain_height 0
 *   list_snapshots         no snapshots
 *   offer_snapshot         ABORT (Veil offers and restores no snapshots: a node
 *                          configured for state sync fails at once instead of
 *                          trying every peer's snapshot)
 *   load_snapshot_chunk    empty chunk
 *   apply_snapshot_chunk   ABORT
 * Host only.
 */
#ifndef VEIL_HOST_ABCI_APP_H
#define VEIL_HOST_ABCI_APP_H

#include <stddef.h>

#include "common/status.h"
#include "tendermint/abci/types.pb-c.h"

typedef struct abci_call abci_call;

/* Zeroed memory that lives until the server has encoded the response; NULL if out of
 * memory (or n == 0 with nothing to allocate: returns a valid 1-byte block then). */
void *abci_call_alloc(abci_call *call, size_t n);
/* n elements of size each, overflow-checked. */
void *abci_call_calloc(abci_call *call, size_t n, size_t size);
/* A copy of s in call memory; NULL if out of memory. */
char *abci_call_strdup(abci_call *call, const char *s);
/* Copies (p, n) into call memory and points *out at it. VEIL_ERR_NOMEM. */
VEIL_MUST_CHECK veil_status abci_call_bytes(abci_call *call, const void *p, size_t n,
                                            ProtobufCBinaryData *out);
/* Sets the text appended to the exception if the callback returns an error (the
 * last call wins; truncated to 512 bytes). Never put secrets or plaintext in it. */
void abci_call_fail(abci_call *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Allocates and initialises one protobuf-c message in call memory (NULL if out of
 * memory), e.g.
 *   Tendermint__Abci__ExecTxResult *r = ABCI_CALL_NEW(
 *       call, Tendermint__Abci__ExecTxResult, tendermint__abci__exec_tx_result__init);
 */
#define ABCI_CALL_NEW(call, type, init_fn)                                                         \
    __extension__({                                                                                \
        type *abci_new_ = abci_call_alloc((call), sizeof(type));                                   \
        if (abci_new_ != NULL) init_fn(abci_new_);                                                 \
        abci_new_;                                                                                 \
    })

#define ABCI_APP_CALLBACK(name, req_type, resp_type)                                               \
    veil_status (*name)(void *ctx, abci_call *call, const req_type *req, resp_type *resp)

typedef struct abci_app {
    void *ctx;
    /* info/query connection */
    ABCI_APP_CALLBACK(info, Tendermint__Abci__RequestInfo, Tendermint__Abci__ResponseInfo);
    ABCI_APP_CALLBACK(query, Tendermint__Abci__RequestQuery, Tendermint__Abci__ResponseQuery);
    /* mempool connection */
    ABCI_APP_CALLBACK(check_tx, Tendermint__Abci__RequestCheckTx,
                      Tendermint__Abci__ResponseCheckTx);
    /* consensus connection */
    ABCI_APP_CALLBACK(init_chain, Tendermint__Abci__RequestInitChain,
                      Tendermint__Abci__ResponseInitChain);
    ABCI_APP_CALLBACK(prepare_proposal, Tendermint__Abci__RequestPrepareProposal,
                      Tendermint__Abci__ResponsePrepareProposal);
    ABCI_APP_CALLBACK(process_proposal, Tendermint__Abci__RequestProcessProposal,
                      Tendermint__Abci__ResponseProcessProposal);
    ABCI_APP_CALLBACK(extend_vote, Tendermint__Abci__RequestExtendVote,
                      Tendermint__Abci__ResponseExtendVote);
    ABCI_APP_CALLBACK(verify_vote_extension, Tendermint__Abci__RequestVerifyVoteExtension,
                      Tendermint__Abci__ResponseVerifyVoteExtension);
    ABCI_APP_CALLBACK(finalize_block, Tendermint__Abci__RequestFinalizeBlock,
                      Tendermint__Abci__ResponseFinalizeBlock);
    ABCI_APP_CALLBACK(commit, Tendermint__Abci__RequestCommit, Tendermint__Abci__ResponseCommit);
    /* snapshot connection */
    ABCI_APP_CALLBACK(list_snapshots, Tendermint__Abci__RequestListSnapshots,
                      Tendermint__Abci__ResponseListSnapshots);
    ABCI_APP_CALLBACK(offer_snapshot, Tendermint__Abci__RequestOfferSnapshot,
                      Tendermint__Abci__ResponseOfferSnapshot);
    ABCI_APP_CALLBACK(load_snapshot_chunk, Tendermint__Abci__RequestLoadSnapshotChunk,
                      Tendermint__Abci__ResponseLoadSnapshotChunk);
    ABCI_APP_CALLBACK(apply_snapshot_chunk, Tendermint__Abci__RequestApplySnapshotChunk,
                      Tendermint__Abci__ResponseApplySnapshotChunk);

    /* Optional. CheckTx requests that arrived together on one connection (the client
     * pipelined them: CometBFT's mempool does, and so does the dev chain), answered
     * together so the app can batch its work: reqs[0..n) in arrival order (n >= 1),
     * resps[i] initialised, each with check_tx's contract. An error answers every one
     * of them with the exception. Runs under the app mutex like any callback. When
     * NULL, each CheckTx goes to check_tx. */
    veil_status (*check_tx_batch)(void *ctx, abci_call *call,
                                  const Tendermint__Abci__RequestCheckTx *const *reqs,
                                  Tendermint__Abci__ResponseCheckTx *const *resps, size_t n);

    /* Optional. Called once by abci_server_stop, on the stopping thread and WITHOUT
     * the app mutex, before it waits for callbacks in progress: a callback that can
     * block for long (waiting for the TVE, say) should watch for this and return an
     * error soon, or stop will wait for it. */
    void (*interrupt)(void *ctx);
} abci_app;

#endif
