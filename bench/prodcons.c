/* prodcons: producer/consumer, memory freed by another thread.
 * Models pipelines and thread pools: a producer thread allocates messages
 * (16..512 bytes) and hands them over a bounded queue in batches; a consumer
 * thread reads and frees them.  Every free is a cross-thread free.
 * Usage: bench_prodcons [scale] */
#include <pthread.h>
#include <string.h>
#include "bench_common.h"

#define BATCH 64
#define QCAP 64

struct msg {
    uint32_t len;
    unsigned char data[]; /* len bytes */
};

struct batch {
    size_t n;
    struct msg *m[BATCH];
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    struct batch *q[QCAP];
    size_t head, count;
} Q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
       PTHREAD_COND_INITIALIZER, {0}, 0, 0};

static void push(struct batch *b) /* b == NULL means end of stream */
{
    pthread_mutex_lock(&Q.mu);
    while (Q.count == QCAP)
        pthread_cond_wait(&Q.not_full, &Q.mu);
    Q.q[(Q.head + Q.count++) % QCAP] = b;
    pthread_cond_signal(&Q.not_empty);
    pthread_mutex_unlock(&Q.mu);
}

static struct batch *pop(void)
{
    pthread_mutex_lock(&Q.mu);
    while (Q.count == 0)
        pthread_cond_wait(&Q.not_empty, &Q.mu);
    struct batch *b = Q.q[Q.head];
    Q.head = (Q.head + 1) % QCAP;
    Q.count--;
    pthread_cond_signal(&Q.not_full);
    pthread_mutex_unlock(&Q.mu);
    return b;
}

static size_t nmsgs;

static void *producer(void *arg)
{
    (void)arg;
    rng_t r;
    rng_seed(&r, 5);
    for (size_t i = 0; i < nmsgs;) {
        struct batch *b = malloc(sizeof *b);
        if (!b)
            die_oom("batch");
        for (b->n = 0; b->n < BATCH && i < nmsgs; b->n++, i++) {
            uint32_t len = (uint32_t)rng_range(&r, 16, 512);
            struct msg *m = malloc(sizeof *m + len);
            if (!m)
                die_oom("msg");
            m->len = len;
            memset(m->data, (int)(i & 0xff), len);
            b->m[b->n] = m;
        }
        push(b);
    }
    push(NULL);
    return NULL;
}

static void *consumer(void *arg)
{
    uint64_t *sum = arg;
    struct batch *b;
    while ((b = pop()) != NULL) {
        for (size_t j = 0; j < b->n; j++) {
            struct msg *m = b->m[j];
            *sum = mix(*sum, m->len + m->data[0] + m->data[m->len - 1]);
            free(m);
        }
        free(b);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    double scale = arg_double(argc, argv, 1, 1.0);
    nmsgs = scaled(scale, 2000000, 1000);
    uint64_t sum = 0;
    pthread_t p, c;
    if (pthread_create(&c, NULL, consumer, &sum) ||
        pthread_create(&p, NULL, producer, NULL)) {
        fprintf(stderr, "pthread_create failed\n");
        return 1;
    }
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    printf("prodcons msgs=%zu checksum=%016" PRIx64 "\n", nmsgs, sum);
    return 0;
}
