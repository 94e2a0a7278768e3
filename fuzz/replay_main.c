/* Runs a libFuzzer target without libFuzzer: every file of the given corpus
 * directories (or files), then `--mutations N` deterministic mutations of each
 * (bit flips, truncations, extensions, byte runs). A crash or sanitizer report fails
 * the test; the target itself decides what "correct" means (it aborts on a broken
 * invariant). Prints "N passed, 0 failed" on success. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

#define REPLAY_MAX_INPUT (4u << 20)

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static size_t runs;

static void run(const uint8_t *data, size_t size)
{
    /* A private copy of exactly `size` bytes, so ASan sees any overread. */
    uint8_t *copy = malloc(size ? size : 1);
    if (copy == NULL) abort();
    if (size) memcpy(copy, data, size);
    LLVMFuzzerTestOneInput(copy, size);
    free(copy);
    runs++;
}

static void mutate_and_run(const uint8_t *data, size_t size, unsigned mutations)
{
    uint8_t *buf = malloc(size + 64);
    if (buf == NULL) abort();
    for (unsigned m = 0; m < mutations; m++) {
        size_t n = size;
        memcpy(buf, data, size);
        switch (rng() % 5) {
        case 0: /* flip a few bits */
            for (int k = 0; k < 1 + (int)(rng() % 4) && n > 0; k++)
                buf[rng() % n] ^= (uint8_t)(1u << (rng() % 8));
            break;
        case 1: /* truncate */
            n = size ? (size_t)(rng() % size) : 0;
            break;
        case 2: /* extend with random bytes */
            for (size_t k = 0, extra = 1 + rng() % 63; k < extra; k++) buf[n++] = (uint8_t)rng();
            break;
        case 3: /* overwrite a byte with an interesting value */
            if (n > 0) {
                static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0x40};
                buf[rng() % n] = vals[rng() % sizeof vals];
            }
            break;
        default: /* random run */
            if (n > 0) {
                size_t at = rng() % n, len = 1 + rng() % 8;
                for (size_t k = 0; k < len && at + k < n; k++) buf[at + k] = (uint8_t)rng();
            }
            break;
        }
        run(buf, n);
    }
    free(buf);
}

static int run_file(const char *path, unsigned mutations)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    uint8_t *data = malloc(REPLAY_MAX_INPUT);
    if (data == NULL) abort();
    size_t n = fread(data, 1, REPLAY_MAX_INPUT, f);
    fclose(f);
    run(data, n);
    mutate_and_run(data, n, mutations);
    free(data);
    return 0;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv)
{
    unsigned mutations = 0;
    size_t files = 0;
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--mutations") == 0 && i + 1 < argc) {
            mutations = (unsigned)strtoul(argv[++i], NULL, 10);
            continue;
        }
        struct stat sb;
        if (stat(argv[i], &sb) != 0) {
            fprintf(stderr, "replay: %s does not exist\n", argv[i]);
            return 1;
        }
        if (!S_ISDIR(sb.st_mode)) {
            if (run_file(argv[i], mutations) != 0) return 1;
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (d == NULL) return 1;
        char **names = NULL;
        size_t count = 0;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.') continue;
            names = realloc(names, (count + 1) * sizeof *names);
            if (names == NULL) abort();
            size_t len = strlen(argv[i]) + strlen(de->d_name) + 2;
            names[count] = malloc(len);
            if (names[count] == NULL) abort();
            snprintf(names[count], len, "%s/%s", argv[i], de->d_name);
            count++;
        }
        closedir(d);
        qsort(names, count, sizeof *names, cmp); /* deterministic order */
        for (size_t k = 0; k < count; k++) {
            if (run_file(names[k], mutations) != 0) return 1;
            files++;
            free(names[k]);
        }
        free(names);
    }
    if (files == 0) {
        fprintf(stderr, "replay: empty corpus\n");
        return 1;
    }
    printf("replayed %zu corpus files, %zu inputs in all\n%zu passed, 0 failed\n", files, runs, runs);
    return 0;
}
