/* Shared helpers for the heapguard benchmark workloads.
 * Only plain libc: a fixed-seed xorshift PRNG, argument parsing and a
 * checksum printer.  Nothing here allocates. */
#ifndef HEAPGUARD_BENCH_COMMON_H
#define HEAPGUARD_BENCH_COMMON_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct { uint64_t s; } rng_t;

static inline void rng_seed(rng_t *r, uint64_t seed)
{
    /* splitmix64 step so that small seeds give well-mixed states */
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    r->s = (z ^ (z >> 31)) | 1;
}

static inline uint64_t rng_next(rng_t *r) /* xorshift64* */
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* uniform in [lo, hi] (inclusive) */
static inline uint64_t rng_range(rng_t *r, uint64_t lo, uint64_t hi)
{
    return lo + rng_next(r) % (hi - lo + 1);
}

/* argv[idx] as a positive double, else def */
static inline double arg_double(int argc, char **argv, int idx, double def)
{
    if (argc > idx) {
        double v = strtod(argv[idx], NULL);
        if (v > 0)
            return v;
        fprintf(stderr, "bad argument '%s'\n", argv[idx]);
        exit(2);
    }
    return def;
}

/* scaled count, at least min */
static inline size_t scaled(double scale, double base, size_t min)
{
    double v = scale * base;
    return v < (double)min ? min : (size_t)v;
}

static inline uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    return h;
}

static inline void die_oom(const char *what)
{
    fprintf(stderr, "out of memory (%s)\n", what);
    exit(3);
}

#endif
