/* Process-wide settings every veil process applies before anything else. Host only. */
#ifndef VEIL_HOSTUTIL_PROCESS_H
#define VEIL_HOSTUTIL_PROCESS_H

/* Keeps secrets out of places they would outlive the process and says why a peer went
 * away instead of dying silently:
 *  - no core dumps (RLIMIT_CORE 0) and not dumpable (PR_SET_DUMPABLE 0: no core file,
 *    no ptrace attach by other processes of the same user, /proc/PID/mem closed to
 *    them): a wallet holds spend keys and seeds, a daemon hosts enclave memory (in the
 *    sim, plaintext transactions and the epoch key live in this process);
 *  - SIGPIPE ignored: a peer that closes a socket mid-write makes the write fail with
 *    EPIPE, reported as an error, instead of killing the process with no message.
 * Failures are ignored: each is a hardening, not a precondition. */
void veil_process_init(void);

#endif
