/* The host's part of the TQE<->TVE hand-off (src/trusted/tve/tve_channel.h): it only
 * carries the two enclaves' reports and keys between them. Host only. */
#ifndef VEIL_HOST_TQE_TQE_HANDOFF_H
#define VEIL_HOST_TQE_TQE_HANDOFF_H

#include "common/status.h"
#include "host/tve/tve_client.h"
#include "tee/tee.h"

/* Asks the TVE (its status gives the target info) and the loaded TQE enclave `tqe` to
 * hand over the channel key. Errors: the TVE's or the enclave's code (e.g.
 * VEIL_ERR_HANDOFF_PRODID when the TVE is not a TVE of this TQE's signer). */
VEIL_MUST_CHECK veil_status tqe_handoff(tee_enclave *tqe, tve_client *tve);

/* The same for any enclave with the two hand-off ecalls (the TDBE's are 1 and 2). */
VEIL_MUST_CHECK veil_status tve_handoff_run(tee_enclave *e, uint32_t begin_ecall,
                                            uint32_t end_ecall, tve_client *tve);

#endif
