/* benchspawn: helper of bench/run (not a workload).
 * Runs one benchmark and reports its wall time and wait4() rusage.
 * It exists because a child forked directly from the Python runner inherits
 * the runner's resident set, which would put a floor of ~15 MiB under every
 * ru_maxrss; forked from this small process the floor is ~1 MiB.
 * The NAME=VALUE settings (LD_PRELOAD, allocator options) are applied in the
 * child only, so this helper itself always runs on plain glibc.
 * Usage: benchspawn REPORT_FILE [NAME=VALUE]... -- PROGRAM [ARG]...
 * REPORT_FILE gets: "wall_ns wait_status utime_us stime_us maxrss_kb". */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int sep = 2;
    while (sep < argc && strcmp(argv[sep], "--") != 0)
        sep++;
    if (argc < 2 || sep + 1 >= argc) {
        fprintf(stderr, "usage: %s REPORT [NAME=VALUE]... -- PROGRAM [ARG]...\n",
                argv[0]);
        return 127;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 127;
    }
    if (pid == 0) {
        for (int i = 2; i < sep; i++)
            if (putenv(argv[i]) != 0)
                _exit(127);
        execv(argv[sep + 1], argv + sep + 1);
        fprintf(stderr, "exec %s: %s\n", argv[sep + 1], strerror(errno));
        _exit(127);
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR) {
            perror("wait4");
            return 127;
        }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long wall = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    FILE *f = fopen(argv[1], "w");
    if (!f) {
        perror(argv[1]);
        return 127;
    }
    fprintf(f, "%lld %d %lld %lld %ld\n", wall, status,
            (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
            (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec,
            ru.ru_maxrss);
    return fclose(f) == 0 ? 0 : 127;
}
