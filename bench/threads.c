/* threads: independent small-object churn in several threads.
 * Models multi-threaded servers where each worker allocates and frees its
 * own request objects (8..512 bytes) with a per-thread live set.  The total
 * work is fixed and split between the threads, so wall time at 1, 2, 4
 * threads shows how the allocator scales.
 * Usage: bench_threads [scale] [threads]   (threads default 4) */
#include <pthread.h>
#include <string.h>
#include "bench_common.h"

#define LIVE 20000

struct worker {
    pthread_t tid;
    unsigned idx;
    size_t ops;
    uint64_t sum;
};

static void *run(void *arg)
{
    struct worker *w = arg;
    rng_t r;
    rng_seed(&r, 100 + w->idx);
    unsigned char **slot = calloc(LIVE, sizeof *slot);
    if (!slot)
        die_oom("slots");
    uint64_t sum = 0;
    for (size_t i = 0; i < w->ops; i++) {
        size_t k = (size_t)(rng_next(&r) % LIVE);
        if (slot[k]) {
            sum += slot[k][0] + slot[k][7];
            free(slot[k]);
        }
        size_t sz = rng_range(&r, 8, rng_next(&r) % 16 ? 128 : 512);
        unsigned char *p = malloc(sz);
        if (!p)
            die_oom("object");
        memset(p, (int)(i & 0xff), sz);
        slot[k] = p;
    }
    for (size_t k = 0; k < LIVE; k++)
        free(slot[k]);
    free(slot);
    w->sum = sum;
    return NULL;
}

int main(int argc, char **argv)
{
    double scale = arg_double(argc, argv, 1, 1.0);
    unsigned nthreads = (unsigned)arg_double(argc, argv, 2, 4);
    size_t total = scaled(scale, 10000000, 1000);
    if (nthreads < 1 || nthreads > 256) {
        fprintf(stderr, "threads must be 1..256\n");
        return 2;
    }
    struct worker *w = calloc(nthreads, sizeof *w);
    if (!w)
        die_oom("workers");
    for (unsigned t = 0; t < nthreads; t++) {
        w[t].idx = t;
        w[t].ops = total / nthreads + (t < total % nthreads);
        if (pthread_create(&w[t].tid, NULL, run, &w[t])) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    }
    uint64_t sum = 0;
    for (unsigned t = 0; t < nthreads; t++) {
        pthread_join(w[t].tid, NULL);
        sum = mix(sum, w[t].sum);
    }
    free(w);
    printf("threads threads=%u ops=%zu checksum=%016" PRIx64 "\n", nthreads, total, sum);
    return 0;
}
