/*
 * replay: a main() for the fuzz targets under gcc, so `make check` feeds
 * every file of t/fuzz/corpus/<target>/ (the program t/fuzz/fuzz_<target>)
 * to LLVMFuzzerTestOneInput under the ASan/UBSan build - each target's
 * invariants abort on a violation. With arguments it replays those files
 * or directories instead (a crash file from `scripts/dev fuzz`).
 * Must not: depend on libFuzzer or clang; it is only a loop over files.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t replayed;

static void
replay_file(const char *path, bool listed)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL && listed && errno == ENOENT)
        return;
    if (f == NULL) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        exit(EXIT_FAILURE);
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (buf == NULL) {
        fprintf(stderr, "replay: out of memory\n");
        exit(EXIT_FAILURE);
    }
    /* An exact-size copy, so ASan catches a read one byte past the input. */
    uint8_t *exact = malloc(n ? n : 1);
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    replayed++;
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
replay_path(const char *path, bool listed)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        /* A running `scripts/dev fuzz` replaces corpus files as it goes. */
        if (listed && errno == ENOENT)
            return;
        fprintf(stderr, "replay: no such file or directory: %s\n", path);
        exit(EXIT_FAILURE);
    }
    if (!S_ISDIR(st.st_mode)) {
        replay_file(path, listed);
        return;
    }
    DIR *d = opendir(path);
    if (d == NULL) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        exit(EXIT_FAILURE);
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap)
            names = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*names));
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        names[n] = malloc(len);
        snprintf(names[n++], len, "%s/%s", path, e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), by_name);  /* the same order everywhere */
    for (size_t i = 0; i < n; i++) {
        replay_path(names[i], true);
        free(names[i]);
    }
    free(names);
}

int
main(int argc, char **argv)
{
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            replay_path(argv[i], false);
    } else {
        /* t/fuzz/fuzz_json -> $SP_SRCDIR/t/fuzz/corpus/json */
        const char *base = strrchr(argv[0], '/');
        base = base ? base + 1 : argv[0];
        if (strncmp(base, "fuzz_", 5) != 0) {
            fprintf(stderr, "replay: program name %s is not fuzz_<target>\n", base);
            return EXIT_FAILURE;
        }
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/t/fuzz/corpus/%s", SP_SRCDIR, base + 5);
        replay_path(dir, false);
        if (replayed == 0) {
            fprintf(stderr, "replay: %s is empty\n", dir);
            return EXIT_FAILURE;
        }
    }
    printf("replayed %zu inputs\n", replayed);
    return EXIT_SUCCESS;
}
