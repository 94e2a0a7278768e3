/* ABCI socket framing, exactly as CometBFT v0.38 speaks it.
 *
 * Every message on an ABCI socket is a protobuf-encoded tendermint.abci.Request or
 * Response preceded by its length as an UNSIGNED varint (protobuf base-128, little
 * endian; CometBFT's libs/protoio with binary.ReadUvarint). Example: the Echo request
 * for "hello" is 09 | 0a 07 0a 05 68 65 6c 6c 6f.
 *
 * Decoding accepts exactly what CometBFT's reader accepts: at most 10 varint bytes,
 * non-minimal encodings (80 00 = 0) allowed, values above 2^64-1 refused. On top of
 * that a frame longer than the configured maximum is refused before anything is
 * allocated for it. Host only.
 */
#ifndef VEIL_HOST_ABCI_FRAME_H
#define VEIL_HOST_ABCI_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/status.h"
#include "common/varint.h"

/* Default largest frame body accepted: CometBFT's largest block (consensus params allow
 * block.max_bytes up to 100 MiB) in a FinalizeBlock or ProcessProposal request, with
 * room for the request's other fields. CometBFT itself accepts up to 2^31-1. A reader's
 * buffer grows only with the bytes received, never with a declared length. */
#define ABCI_FRAME_MAX_DEFAULT ((size_t)128 << 20)
#define ABCI_COMETBFT_MAX_BLOCK_BYTES ((size_t)104857600) /* types.MaxBlockSizeBytes */
_Static_assert(ABCI_FRAME_MAX_DEFAULT > ABCI_COMETBFT_MAX_BLOCK_BYTES + ((size_t)1 << 20),
               "an ABCI frame must hold CometBFT's largest block and the request around it");

/* Length prefixes use common/varint.h (veil_varint_get with minimal = false, as
 * CometBFT's reader accepts non-minimal prefixes). */

/* Splits one frame off the front of (p, len): *body points into p (no copy),
 * *consumed = prefix + body length.
 *   VEIL_ERR_TRUNCATED  incomplete (prefix or body)
 *   VEIL_ERR_MALFORMED  bad varint prefix
 *   VEIL_ERR_TOO_LARGE  declared length above max_body */
VEIL_MUST_CHECK veil_status abci_frame_split(const uint8_t *p, size_t len, size_t max_body,
                                             const uint8_t **body, size_t *body_len,
                                             size_t *consumed);

/* protobuf-c accepts a few inputs CometBFT's Go decoder rejects; the one that
 * matters is field number 0 (an "illegal tag" in Go), which protobuf-c keeps as an
 * unknown field and would even re-encode. False if m or any message inside it holds
 * such a field. Call after every unpack of untrusted bytes. */
bool abci_message_wellformed(const ProtobufCMessage *m);

/* A growable byte buffer for outgoing frames. Zero-initialise; free with
 * abci_buf_free. */
typedef struct abci_buf {
    uint8_t *p;
    size_t len;
    size_t cap;
} abci_buf;

void abci_buf_free(abci_buf *b);
VEIL_MUST_CHECK veil_status abci_buf_append(abci_buf *b, const void *p, size_t n);
/* Appends varint(packed size) || packed message. */
VEIL_MUST_CHECK veil_status abci_buf_append_frame(abci_buf *b, const ProtobufCMessage *msg);

/* Buffered reader yielding complete frames from a file descriptor (a socket, or any
 * readable fd: the fuzz target uses a memfd). Memory grows with the bytes actually
 * received, never with the length a peer merely declares. Not thread-safe. */
typedef struct abci_frame_reader {
    int fd;
    size_t max_body;
    uint8_t *buf;
    size_t cap;
    size_t start; /* first unconsumed byte */
    size_t end;   /* one past the last received byte */
    bool eof;
} abci_frame_reader;

/* max_body 0 means ABCI_FRAME_MAX_DEFAULT (values above SIZE_MAX/4 are clamped). The
 * reader does not own fd. */
void abci_frame_reader_init(abci_frame_reader *r, int fd, size_t max_body);
void abci_frame_reader_free(abci_frame_reader *r);

/* Returns the next complete frame body in (*body, *body_len), valid until the next
 * call on this reader (including abci_frame_reader_pump, and abci_fd_write_all with
 * this reader as drain). timeout_ms: 0 waits forever; otherwise VEIL_ERR_TIMEOUT once that many
 * milliseconds pass without a complete frame.
 *   VEIL_OK with *eof = true   the peer closed the stream cleanly between frames
 *   VEIL_ERR_TRUNCATED         the stream ended inside a frame
 *   VEIL_ERR_MALFORMED / VEIL_ERR_TOO_LARGE  as abci_frame_split (the stream cannot
 *                              be resynchronised: close it)
 *   VEIL_ERR_NET               read error */
VEIL_MUST_CHECK veil_status abci_frame_reader_next(abci_frame_reader *r, int timeout_ms,
                                                   const uint8_t **body, size_t *body_len,
                                                   bool *eof);

/* Whether the buffer already holds a complete frame (or bytes that abci_frame_reader_next
 * will refuse at once): a next call would not wait. Reads nothing. */
bool abci_frame_reader_has_frame(const abci_frame_reader *r);

/* Reads whatever is available on the fd right now (non-blocking) into the buffer;
 * used by a writer to drain incoming responses while it is blocked on output. */
VEIL_MUST_CHECK veil_status abci_frame_reader_pump(abci_frame_reader *r);

/* Writes all of (p, len) to fd (send with MSG_NOSIGNAL on sockets, write otherwise).
 * timeout_ms: 0 waits forever. If drain is not NULL, bytes arriving on drain->fd
 * while the fd is not writable are pulled into drain (avoids the both-sides-writing
 * deadlock for large pipelined batches). VEIL_ERR_NET / VEIL_ERR_TIMEOUT. */
VEIL_MUST_CHECK veil_status abci_fd_write_all(int fd, const uint8_t *p, size_t len, int timeout_ms,
                                              abci_frame_reader *drain);

#endif
