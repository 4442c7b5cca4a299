/* churn: small-object churn with a large live set.
 * Models long-running servers / interpreters that keep ~1M small objects
 * (16..256 bytes: strings, list nodes, dict entries) alive and constantly
 * replace random ones.  Usage: bench_churn [scale]   (default 1.0) */
#include <string.h>
#include "bench_common.h"

int main(int argc, char **argv)
{
    double scale = arg_double(argc, argv, 1, 1.0);
    size_t live = scaled(scale, 1000000, 1000);
    size_t ops = scaled(scale, 2000000, 1000);
    rng_t r;
    rng_seed(&r, 1);
    unsigned char **slot = malloc(live * sizeof *slot);
    if (!slot)
        die_oom("slots");
    uint64_t sum = 0;

    for (size_t i = 0; i < live + ops; i++) {
        size_t k = i < live ? i : (size_t)(rng_next(&r) % live);
        if (i >= live) { /* replace: read back what we wrote, then free */
            unsigned char *o = slot[k];
            size_t osz = o[0] | (size_t)o[1] << 8;
            sum = mix(sum, osz + o[osz - 1]);
            free(o);
        }
        size_t sz = rng_range(&r, 16, 256);
        unsigned char *p = malloc(sz);
        if (!p)
            die_oom("object");
        memset(p, (int)(i & 0xff), sz);
        p[0] = (unsigned char)sz;
        p[1] = (unsigned char)(sz >> 8);
        slot[k] = p;
    }
    for (size_t k = 0; k < live; k++) {
        unsigned char *o = slot[k];
        sum += o[0] | (size_t)o[1] << 8;
        free(o);
    }
    free(slot);
    printf("churn live=%zu ops=%zu checksum=%016" PRIx64 "\n", live, ops, sum);
    return 0;
}
