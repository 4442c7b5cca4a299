/* liveexit: a program that exits with a million blocks still allocated.
 * Many programs never free what they hold at the end (caches, parsed
 * input, interned strings): the process exit releases it. Models that:
 * 1M blocks of 16-256 bytes, built and read once, then a return from main.
 * The cost of everything an allocator does at exit shows here.
 * Usage: bench_liveexit [scale] */
#include <string.h>
#include "bench_common.h"

int main(int argc, char **argv)
{
    double scale = arg_double(argc, argv, 1, 1.0);
    size_t live = scaled(scale, 1000000, 1000);
    unsigned char **obj = malloc(live * sizeof *obj);
    if (!obj)
        die_oom("table");
    rng_t r;
    rng_seed(&r, 11);
    uint64_t sum = 0;
    for (size_t i = 0; i < live; i++) {
        size_t sz = rng_range(&r, 16, 256);
        if (!(obj[i] = malloc(sz)))
            die_oom("object");
        memset(obj[i], (int)(i & 0xff), sz);
        sum = mix(sum, obj[i][sz / 2]);
    }
    printf("liveexit %zu %llu\n", live, (unsigned long long)sum);
    return 0;
}
