/*
 * fuzz_dashboard_hist: libFuzzer target for the reader of the hours'
 * sparse first-response histograms (sp_dashboard_add_histograms in
 * domain/dashboard.c: the dashboard statement's "b:c,b:c;..." text,
 * sql/031). Input: any bytes (cut at the first NUL, as libpq's text is).
 * Aborts unless the reader stays within the input and every bin stays
 * within 0..2 * SP_FR_COUNT_MAX (no overflow, never negative), and unless
 * the same text read twice doubles each bin it counted.
 * Build: scripts/dev fuzz dashboard_hist (replayed by `make check`).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain/dashboard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size, NUL-terminated copy: ASan sees any read past it. */
    char *text = malloc(size + 1);
    CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    long long once[SP_FR_BINS] = {0}, twice[SP_FR_BINS] = {0};
    sp_dashboard_add_histograms(text, once);
    sp_dashboard_add_histograms(text, twice);
    sp_dashboard_add_histograms(text, twice);
    for (int i = 0; i < SP_FR_BINS; i++) {
        CHECK(once[i] >= 0 && once[i] <= 2 * SP_FR_COUNT_MAX);
        CHECK(twice[i] >= 0 && twice[i] <= 2 * SP_FR_COUNT_MAX);
        CHECK(twice[i] == 2 * once[i] || once[i] > SP_FR_COUNT_MAX / 2);
    }
    (void)sp_dashboard_p90(once, 1, 0);
    (void)sp_dashboard_p90(once, 0.5, 3600);
    free(text);
    return 0;
}
