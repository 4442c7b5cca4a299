/* sparse: zeroed tables sized for the worst case, used sparsely.
 * Models compilers, interpreters and databases that calloc hash tables,
 * bitmaps and per-function arrays sized for the largest input, touch a
 * few entries of each and keep them to the end, while small records come
 * and go around them: 16 KiB .. 512 KiB tables, 8 entries of each set and
 * read back. Peak RSS counts the pages the program touched, unless the
 * allocator clears memory the system already gave zeroed (glibc's calloc
 * does not). Usage: bench_sparse [scale] */
#include <string.h>
#include "bench_common.h"

#define ENTRIES 8
#define RECORDS 4096

int main(int argc, char **argv)
{
    double scale = arg_double(argc, argv, 1, 1.0);
    size_t tables = scaled(scale, 2000, 10);
    uint64_t **table = malloc(tables * sizeof *table);
    size_t *words = malloc(tables * sizeof *words);
    unsigned char **record = calloc(RECORDS, sizeof *record);
    if (!table || !words || !record)
        die_oom("slots");
    rng_t r;
    rng_seed(&r, 9);
    uint64_t sum = 0;

    for (size_t t = 0; t < tables; t++) {
        size_t bytes = ((size_t)16 << 10 << rng_range(&r, 0, 5)) + rng_range(&r, 0, 4095) * 8;
        words[t] = bytes / 8;
        table[t] = calloc(words[t], 8);
        if (!table[t])
            die_oom("table");
        for (int e = 0; e < ENTRIES; e++) {
            size_t k = (size_t)(rng_next(&r) % words[t]);
            sum = mix(sum, table[t][k]); /* 0, or an entry set just before */
            table[t][k] = t * ENTRIES + (size_t)e + 1;
        }
        for (int i = 0; i < 64; i++) {
            size_t k = (size_t)(rng_next(&r) % RECORDS);
            if (record[k])
                sum = mix(sum, record[k][0]);
            free(record[k]);
            size_t len = rng_range(&r, 8, 120);
            record[k] = malloc(len);
            if (!record[k])
                die_oom("record");
            memset(record[k], (int)(i + t), len);
        }
    }
    /* The tables stay to the end, as a compiler's do. */
    for (size_t k = 0; k < RECORDS; k++)
        free(record[k]);
    printf("sparse tables=%zu checksum=%016" PRIx64 "\n", tables, sum);
    return 0;
}
