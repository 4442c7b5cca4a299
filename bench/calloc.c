/* calloc: calloc-heavy code.
 * Models C code that zero-initialises everything it allocates: structs via
 * calloc(1, sizeof), arrays and hash-table bucket vectors via calloc(n, size),
 * now and then a big zeroed table.  Each block is checked to be zero, filled,
 * kept in a live set and later replaced.  Usage: bench_calloc [scale] */
#include <string.h>
#include "bench_common.h"

#define LIVE 50000

int main(int argc, char **argv)
{
    double scale = arg_double(argc, argv, 1, 1.0);
    size_t ops = scaled(scale, 2500000, 1000);
    uint64_t **slot = calloc(LIVE, sizeof *slot);
    size_t *words = calloc(LIVE, sizeof *words);
    if (!slot || !words)
        die_oom("slots");
    rng_t r;
    rng_seed(&r, 6);
    uint64_t sum = 0, nonzero = 0;

    for (size_t i = 0; i < ops; i++) {
        size_t k = (size_t)(rng_next(&r) % LIVE);
        if (slot[k]) {
            sum = mix(sum, slot[k][0] + slot[k][words[k] - 1]);
            free(slot[k]);
        }
        uint64_t pick = rng_next(&r) % 2000;
        size_t n, size;
        if (pick < 1400) {          /* a struct */
            n = 1;
            size = 8 * rng_range(&r, 2, 16);
        } else if (pick < 1999) {   /* an array */
            n = rng_range(&r, 2, 64);
            size = 8 * rng_range(&r, 1, 8);
        } else {                   /* a big zeroed table, 64 KiB .. 1 MiB */
            n = rng_range(&r, 8192, 131072);
            size = 8;
        }
        uint64_t *p = calloc(n, size);
        if (!p)
            die_oom("calloc");
        size_t w = n * size / 8;
        for (size_t j = 0; j < w; j++) {
            nonzero += p[j] != 0;
            p[j] = i + j;
        }
        slot[k] = p;
        words[k] = w;
    }
    for (size_t k = 0; k < LIVE; k++)
        free(slot[k]);
    free(slot);
    free(words);
    printf("calloc ops=%zu nonzero=%" PRIu64 " checksum=%016" PRIx64 "\n", ops, nonzero, sum);
    return nonzero != 0;
}
