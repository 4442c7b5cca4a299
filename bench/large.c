/* large: large blocks, 64 KiB .. 4 MiB, malloc / touch / free.
 * Models image and media buffers, I/O buffers, decompression windows and
 * matrix scratch space: a few big blocks live at a time, each written page
 * by page, read back, then freed.  Usage: bench_large [scale] */
#include <string.h>
#include "bench_common.h"

#define LIVE 8
#define PAGE 4096

int main(int argc, char **argv)
{
    double scale = arg_double(argc, argv, 1, 1.0);
    size_t iters = scaled(scale, 3000, 10);
    unsigned char *blk[LIVE] = {0};
    size_t len[LIVE] = {0};
    rng_t r;
    rng_seed(&r, 4);
    uint64_t sum = 0;

    for (size_t i = 0; i < iters; i++) {
        size_t k = (size_t)(rng_next(&r) % LIVE);
        if (blk[k]) {
            for (size_t off = 0; off < len[k]; off += PAGE)
                sum += blk[k][off];
            sum = mix(sum, blk[k][len[k] - 1]);
            free(blk[k]);
        }
        /* log-uniform size between 64 KiB and 4 MiB */
        size_t sz = (size_t)64 << 10 << rng_range(&r, 0, 6);
        sz += (size_t)(rng_next(&r) % sz);
        if (sz > (size_t)4 << 20)
            sz = (size_t)4 << 20;
        unsigned char *p = malloc(sz);
        if (!p)
            die_oom("block");
        for (size_t off = 0; off < sz; off += PAGE)
            p[off] = (unsigned char)(i + off / PAGE);
        memset(p + sz - 256, (int)(i & 0xff), 256);
        blk[k] = p;
        len[k] = sz;
    }
    for (size_t k = 0; k < LIVE; k++)
        free(blk[k]);
    printf("large iters=%zu checksum=%016" PRIx64 "\n", iters, sum);
    return 0;
}
