/* realloc: buffers grown step by step with realloc.
 * Models string builders (append a few bytes, realloc to the exact size) and
 * dynamic arrays (realloc to double the capacity when full), many of them
 * growing in an interleaved way, as in parsers, loggers and JSON encoders.
 * Usage: bench_realloc [scale] */
#include <string.h>
#include "bench_common.h"

#define NBUF 2000

struct buf {
    unsigned char *data;
    size_t len, cap, limit;
    int exact; /* 1: string builder (exact size), 0: vector (doubling) */
};

static void reset(struct buf *b, rng_t *r)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->exact = (int)(rng_next(r) & 1);
    /* strings stay short; some vectors grow large (up to 1 MiB) */
    b->limit = rng_range(r, 64, b->exact || rng_next(r) % 8 ? 4096 : 1 << 20);
}

int main(int argc, char **argv)
{
    double scale = arg_double(argc, argv, 1, 1.0);
    size_t appends = scaled(scale, 12000000, 1000);
    static struct buf bufs[NBUF];
    rng_t r;
    rng_seed(&r, 3);
    uint64_t sum = 0, reallocs = 0;

    for (size_t i = 0; i < NBUF; i++)
        reset(&bufs[i], &r);
    for (size_t i = 0; i < appends; i++) {
        struct buf *b = &bufs[rng_next(&r) % NBUF];
        size_t add = rng_range(&r, 1, 32);
        if (b->len + add > b->cap) {
            size_t ncap = b->exact ? b->len + add
                                   : (b->cap ? 2 * b->cap : 16);
            while (ncap < b->len + add)
                ncap *= 2;
            unsigned char *p = realloc(b->data, ncap);
            if (!p)
                die_oom("realloc");
            b->data = p;
            b->cap = ncap;
            reallocs++;
        }
        memset(b->data + b->len, (int)(i & 0xff), add);
        b->len += add;
        if (b->len >= b->limit) { /* "emit" the buffer and start a new one */
            uint64_t h = b->len;
            for (size_t j = 0; j < b->len; j += 61)
                h = mix(h, b->data[j]);
            sum = mix(sum, h);
            free(b->data);
            reset(b, &r);
        }
    }
    for (size_t i = 0; i < NBUF; i++) {
        sum = mix(sum, bufs[i].len);
        free(bufs[i].data);
    }
    printf("realloc appends=%zu reallocs=%" PRIu64 " checksum=%016" PRIx64 "\n",
           appends, reallocs, sum);
    return 0;
}
