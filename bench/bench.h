/* Small helpers shared by Veil's benchmark programs (bench/veil-bench-*).
 *
 * Output contract (scripts/bench, `make bench`): every figure is one line
 *   BENCH <name> <value> <unit>
 * and every other line on stdout starts with '#'. Errors go to stderr and the program
 * exits 1: a benchmark that measured failures must not print a figure.
 *
 * Nothing here knows about Veil: a clock, a runner, printing, and the chores of
 * benchmarks that run the system as child processes.
 */
#ifndef VEIL_BENCH_BENCH_H
#define VEIL_BENCH_BENCH_H

#include <sys/types.h>

#include <limits.h>

#include <stdbool.h>
#include <stdint.h>

/* True once SIGINT or SIGTERM arrived (bench_init's handlers). Long loops outside
 * bench_run poll it to stop and fail. */
bool bench_interrupted(void);

/* Line-buffers stdout (so partial output survives a failure), names the program in
 * error messages (basename of argv0), and installs SIGINT and SIGTERM handlers that make
 * a running bench_run stop and fail, so that the program's atexit cleanup still runs.
 * Call once at the start of main. */
void bench_init(const char *argv0);

/* Monotonic time in seconds (CLOCK_MONOTONIC). */
double bench_now(void);

/* Minimum measuring time per figure: $VEIL_BENCH_MIN_SECONDS if set to a positive
 * number, else 1.0. */
double bench_min_seconds(void);

/* One batch of work: performs `iters` operations. Returns false on failure (after
 * printing why to stderr, e.g. with bench_fail). */
typedef bool (*bench_fn)(void *ctx, uint64_t iters);

typedef struct bench_result {
    double ops_per_s;
    uint64_t ops;   /* operations timed (warm-up excluded) */
    double seconds; /* time they took */
} bench_result;

/* Warms up (about a fifth of min_seconds, at most 0.25 s, while sizing batches to ~1% of
 * min_seconds each), then runs batches until at least min_seconds have elapsed.
 * Returns operations per second, or -1 if fn failed or the program was interrupted.
 * `res` may be NULL. */
double bench_run(bench_fn fn, void *ctx, double min_seconds, bench_result *res);

/* Prints "BENCH <name> <value> <unit>". */
void bench_print(const char *name, double value, const char *unit);

/* Prints a context line: "# " followed by the formatted text. */
void bench_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "<prog>: error: <text>" to stderr. Returns false (for `return bench_fail(...)`). */
bool bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* bench_fail, then exit(1) (atexit handlers run). */
_Noreturn void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- for benchmarks that run the system as child processes ----------------------- */
/* Sends sig to *pid, waits up to 15 s, then SIGKILLs it. Returns the wait status, or -1
 * if it had to be killed; *pid becomes 0. `what` names it in the message. */
int bench_child_stop(pid_t *pid, int sig, const char *what);
/* CPU seconds (user + system) process pid has used so far, from /proc/PID/stat; -1 if
 * unreadable. */
double bench_process_cpu_seconds(pid_t pid);
/* A TCP port on 127.0.0.1 that is free right now. */
uint16_t bench_free_port(void);
/* Whether a line of the file contains `what` (false if it cannot be read). */
bool bench_file_has(const char *path, const char *what);
/* Copies the file to stderr under a header, for failure reports. */
void bench_dump_file(const char *path);
/* The veil binary of this build: ../veil from this executable's directory; dies if it
 * is not there. dir (may be NULL) receives this executable's directory. */
void bench_find_veil(char veil_bin[PATH_MAX], char dir[PATH_MAX]);

#endif
