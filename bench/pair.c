/* pair: malloc/free pairs of one size from one call site, the allocator's
 * fast path and nothing else. Not a workload of the table: it is the
 * program behind the per-pair instruction count (callgrind, see
 * bench/pair-count) and prints a checksum like the others.
 * Usage: bench_pair [pairs] [size]   (default 100000 pairs of 32 bytes) */
#include <string.h>
#include "bench_common.h"

int main(int argc, char **argv)
{
    size_t pairs = (size_t)arg_double(argc, argv, 1, 100000);
    size_t size = (size_t)arg_double(argc, argv, 2, 32);
    uint64_t sum = 0;
    for (size_t i = 0; i < pairs; i++) {
        unsigned char *p = malloc(size);
        if (!p)
            die_oom("pair");
        p[0] = (unsigned char)i;
        sum = mix(sum, p[0]);
        free(p);
    }
    printf("checksum %016llx\n", (unsigned long long)sum);
    return 0;
}
