#define _GNU_SOURCE /* realpath */
/* Shared benchmark helpers: see bench.h. */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t g_interrupted;
static const char *g_prog = "bench";

static void on_signal(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

bool bench_interrupted(void) { return g_interrupted != 0; }

void bench_init(const char *argv0)
{
    if (argv0 != NULL && *argv0 != '\0') {
        const char *slash = strrchr(argv0, '/');
        g_prog = slash != NULL ? slash + 1 : argv0;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

double bench_now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) bench_die("clock_gettime: %s", strerror(errno));
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double bench_min_seconds(void)
{
    const char *s = getenv("VEIL_BENCH_MIN_SECONDS");
    if (s != NULL && *s != '\0') {
        char *end;
        double v = strtod(s, &end);
        if (*end == '\0' && isfinite(v) && v > 0) return v;
        bench_die("VEIL_BENCH_MIN_SECONDS=%s is not a positive number", s);
    }
    return 1.0;
}

static bool run_batch(bench_fn fn, void *ctx, uint64_t iters)
{
    if (!fn(ctx, iters)) return false;
    if (g_interrupted) return bench_fail("interrupted");
    return true;
}

double bench_run(bench_fn fn, void *ctx, double min_seconds, bench_result *res)
{
    double warmup = min_seconds / 5 < 0.25 ? min_seconds / 5 : 0.25;
    double batch_target = min_seconds / 100; /* time one batch should take */
    uint64_t batch = 1;

    /* Warm-up, and batch sizing: reading the clock every operation would add its own
     * cost to nanosecond-scale figures. */
    double start = bench_now();
    for (;;) {
        double t0 = bench_now();
        if (!run_batch(fn, ctx, batch)) return -1;
        double t1 = bench_now();
        if (t1 - t0 < batch_target && batch < ((uint64_t)1 << 40)) batch *= 2;
        if (t1 - start >= warmup) break;
    }

    uint64_t ops = 0;
    double t0 = bench_now(), elapsed;
    do {
        if (!run_batch(fn, ctx, batch)) return -1;
        ops += batch;
        elapsed = bench_now() - t0;
    } while (elapsed < min_seconds);

    double rate = (double)ops / elapsed;
    if (res != NULL) *res = (bench_result){.ops_per_s = rate, .ops = ops, .seconds = elapsed};
    return rate;
}

/* CPU seconds of this process and its waited-for children. */
static double cpu_seconds(void)
{
    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    return (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec + kids.ru_utime.tv_sec +
                    kids.ru_stime.tv_sec) +
           (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec + kids.ru_utime.tv_usec +
                    kids.ru_stime.tv_usec) / 1e6;
}

void bench_print(const char *name, double value, const char *unit)
{
    /* Plain decimal numbers only (no exponent), so any parser reads them. */
    int decimals = value >= 1000 ? 0 : value >= 10 ? 1 : 3;
    printf("BENCH %s %.*f %s\n", name, decimals, value, unit);
    /* What it cost and how busy the machine was: on a shared machine a wall-clock
     * figure absorbs preemption, and a loaded run should be visible as one. */
    static double last_cpu = -1, last_wall;
    double cpu = cpu_seconds(), wall = bench_now();
    double load = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fscanf(f, "%lf", &load) != 1) load = -1;
        fclose(f);
    }
    if (last_cpu >= 0 && wall - last_wall < 0.05)
        return; /* printed together with the previous figure: nothing new to say */
    if (last_cpu >= 0)
        printf("#   %s: this process %.2f CPU s over %.2f s since the previous figure; "
               "load average %.2f on %ld CPUs\n",
               name, cpu - last_cpu, wall - last_wall, load, sysconf(_SC_NPROCESSORS_ONLN));
    else
        printf("#   %s: this process %.2f CPU s so far; load average %.2f on %ld CPUs\n", name,
               cpu, load, sysconf(_SC_NPROCESSORS_ONLN));
    last_cpu = cpu;
    last_wall = wall;
}

void bench_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("# ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
}

__attribute__((format(printf, 1, 0))) static void vfail(const char *fmt, va_list ap)
{
    fflush(stdout);
    fprintf(stderr, "%s: error: ", g_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

bool bench_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(fmt, ap);
    va_end(ap);
    return false;
}

void bench_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(fmt, ap);
    va_end(ap);
    exit(1);
}

/* --- child processes and scratch files ------------------------------------------ */
int bench_child_stop(pid_t *pid, int sig, const char *what)
{
    if (*pid <= 0) return 0;
    kill(*pid, sig);
    int status = -1;
    for (int i = 0; i < 300; i++) { /* 15 s */
        pid_t r = waitpid(*pid, &status, WNOHANG);
        if (r == *pid || (r < 0 && errno != EINTR)) {
            *pid = 0;
            return status;
        }
        usleep(50 * 1000);
    }
    fprintf(stderr, "%s: %s did not stop in 15 s; killing it\n", g_prog, what);
    kill(*pid, SIGKILL);
    waitpid(*pid, &status, 0);
    *pid = 0;
    return -1;
}

double bench_process_cpu_seconds(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after the command name (which may hold spaces): state is field 3, utime
     * and stime fields 14 and 15, in clock ticks. */
    const char *p = strrchr(buf, ')');
    unsigned long long ut, st;
    if (p == NULL || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                            &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

uint16_t bench_free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0)
        bench_die("free port: %s", strerror(errno));
    close(s);
    return ntohs(a.sin_port);
}

bool bench_file_has(const char *path, const char *what)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) return false;
    char line[1024];
    bool yes = false;
    while (!yes && fgets(line, sizeof line, f) != NULL) yes = strstr(line, what) != NULL;
    fclose(f);
    return yes;
}

void bench_dump_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) return;
    char line[1024];
    fprintf(stderr, "--- %s ---\n", path);
    while (fgets(line, sizeof line, f) != NULL) fputs(line, stderr);
    fclose(f);
}

void bench_find_veil(char veil_bin[PATH_MAX], char dir[PATH_MAX])
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) bench_die("/proc/self/exe: %s", strerror(errno));
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    if (dir != NULL) snprintf(dir, PATH_MAX, "%s", exe);
    char bin[PATH_MAX + 16];
    snprintf(bin, sizeof bin, "%s/../veil", exe);
    if (realpath(bin, veil_bin) == NULL || access(veil_bin, X_OK) != 0)
        bench_die("%s: not found (build the veil target)", bin);
}
