/* startup: many short processes, as make, cmake and shell scripts start.
 * The parent fork+execs itself as a child that allocates a few blocks
 * (from a handful of call sites, as a small tool does before it exits) and
 * exits; LD_PRELOAD and allocator options are inherited through the
 * environment. The parent waits for each child, so the rusage bench/run
 * reads for the parent includes every child's CPU time: the cost measured
 * is start-up, the first allocations and exit, per process.
 * Usage: bench_startup [scale]   (200 children at scale 1) */
#define _GNU_SOURCE
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench_common.h"

static char *copy_of(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (!p)
        die_oom("copy");
    memcpy(p, s, n);
    return p;
}

/* A few blocks of mixed sizes, some freed, some kept until exit. */
static int child(void)
{
    uint64_t h = 0;
    char *words[16];
    for (int i = 0; i < 16; i++) {
        words[i] = copy_of(i % 2 ? "a short string" : "another, somewhat longer string");
        h = mix(h, strlen(words[i]));
    }
    unsigned char *buf = calloc(4096, 1);
    unsigned char *big = malloc(64 << 10);
    if (!buf || !big)
        die_oom("buffers");
    big[0] = buf[100] = 7;
    h = mix(h, big[0] + buf[100]);
    for (int i = 0; i < 16; i += 2)
        free(words[i]);
    free(big);
    return (int)(h & 0x7f);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0)
        return child();
    double scale = arg_double(argc, argv, 1, 1.0);
    size_t children = scaled(scale, 200, 1);
    uint64_t sum = 0;
    char *child_argv[] = { argv[0], "--child", NULL };
    for (size_t i = 0; i < children; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            execv("/proc/self/exe", child_argv);
            perror("execv");
            _exit(127);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) == 127) {
            fprintf(stderr, "child %zu failed (status %d)\n", i, status);
            return 1;
        }
        sum = mix(sum, (uint64_t)WEXITSTATUS(status));
    }
    printf("startup children=%zu checksum=%016" PRIx64 "\n", children, sum);
    return 0;
}
