/* footprint: a mix with many live objects, where peak RSS matters.
 * Models an in-memory cache / document model that holds ~1M objects of mixed
 * sizes, then goes through generations: a random 50% is evicted and the
 * holes are refilled with objects of a different size mix.  An allocator
 * that fragments or pads a lot shows up in peak RSS rather than in time.
 * Usage: bench_footprint [scale] */
#include <string.h>
#include "bench_common.h"

#define GENERATIONS 6

static size_t pick_size(rng_t *r, unsigned gen)
{
    uint64_t p = rng_next(r) % 1000;
    if (p < 5)
        return rng_range(r, 4096, 32768);           /* big records */
    if (p < 100)
        return rng_range(r, 65, 1024);              /* medium */
    return gen % 2 ? rng_range(r, 24, 96)           /* small, shifting mix */
                   : rng_range(r, 8, 64);
}

int main(int argc, char **argv)
{
    double scale = arg_double(argc, argv, 1, 1.0);
    size_t live = scaled(scale, 600000, 1000);
    unsigned char **obj = calloc(live, sizeof *obj);
    size_t *len = calloc(live, sizeof *len);
    if (!obj || !len)
        die_oom("tables");
    rng_t r;
    rng_seed(&r, 7);
    uint64_t sum = 0, bytes = 0, peak = 0;

    for (unsigned gen = 0; gen <= GENERATIONS; gen++) {
        if (gen > 0) /* evict a random half */
            for (size_t i = 0; i < live; i++)
                if (obj[i] && rng_next(&r) % 2) {
                    sum = mix(sum, obj[i][0] + obj[i][len[i] - 1]);
                    bytes -= len[i];
                    free(obj[i]);
                    obj[i] = NULL;
                }
        for (size_t i = 0; i < live; i++) /* refill the holes */
            if (!obj[i]) {
                size_t sz = pick_size(&r, gen);
                if (!(obj[i] = malloc(sz)))
                    die_oom("object");
                memset(obj[i], (int)((i + gen) & 0xff), sz);
                len[i] = sz;
                bytes += sz;
            }
        if (bytes > peak)
            peak = bytes;
    }
    for (size_t i = 0; i < live; i++)
        free(obj[i]);
    free(obj);
    free(len);
    printf("footprint live=%zu peak_requested=%" PRIu64 " checksum=%016" PRIx64 "\n",
           live, peak, sum);
    return 0;
}
