/*
 * os.h - the module that talks to the kernel.
 *
 * Thin wrappers over raw system calls with one failure policy: running
 * out of memory is reported to the caller (NULL / false, errno ENOMEM);
 * any other failure of a call that must not fail is fatal. None of them
 * allocates, and all are async-signal-safe. The other modules make no
 * system call of their own, but for what libc, libunwind and the dynamic
 * linker do on their behalf (backtrace.c, which also reads
 * /proc/self/exe once at start-up; stackdepot.c; cxx.c; flush.c, which
 * blocks SIGPIPE and writes out the program's stdio before heapguard ends
 * the process).
 */
#ifndef HG_OS_H
#define HG_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reserve size bytes aligned to align, readable and writable; NULL on ENOMEM. */
void *hg_os_map_aligned(size_t size, size_t align);
void *hg_os_map(size_t size);
void hg_os_unmap(void *p, size_t size);
/*
 * Out-of-band metadata: size bytes (a multiple of the page size) between
 * two PROT_NONE pages, so that a linear overflow from a neighbouring
 * mapping faults before it reaches them. NULL on ENOMEM.
 */
void *hg_os_map_fenced(size_t size);
void hg_os_unmap_fenced(void *p, size_t size);
/* Make [p, p+size) inaccessible; false (errno set) when the kernel refuses. */
bool hg_os_protect_none(void *p, size_t size);
bool hg_os_protect_rw(void *p, size_t size);
bool hg_os_protect_read(void *p, size_t size);
/* Give the pages of [p, p+size) back to the kernel; they read as zero after. */
void hg_os_discard(void *p, size_t size);
/*
 * Fault the pages of [p, p+size) in for writing now, in one call
 * (MADV_POPULATE_WRITE, Linux 5.14); on older kernels, nothing.
 */
void hg_os_populate(void *p, size_t size);
/* vm.max_map_count, read without allocating; 0 when it cannot be read. */
uint64_t hg_os_max_map_count(void);

/* The mapping that contains addr, from /proc/self/maps; false if none. */
bool hg_os_mapping_of(uintptr_t addr, uintptr_t *lo, uintptr_t *hi);
/* RLIMIT_STACK's soft limit in bytes; 0 when unlimited or unknown. */
uint64_t hg_os_stack_limit(void);
/* The alternate signal stack, if the thread is running on it; else false. */
bool hg_os_signal_stack(uintptr_t *lo, uintptr_t *hi);

struct sigaction;
/* sigaction(2); false when the kernel refuses. */
bool hg_os_sigaction(int sig, const struct sigaction *sa, struct sigaction *old);

/*
 * membarrier(2), private expedited: after hg_os_membarrier returns, every
 * thread of the process has passed a full memory barrier. Registration is
 * needed once; false when the kernel does not have it.
 */
bool hg_os_membarrier_register(void);
bool hg_os_membarrier(void);

/* Fill buf with random bytes; false when no kernel randomness is available. */
bool hg_os_random(void *buf, size_t len);

/* Write all of buf; false when the kernel refuses (EFAULT on unreadable memory). */
bool hg_os_write_all(int fd, const void *buf, size_t len);
int hg_os_open_write(const char *path, bool exclusive);
/* A close-on-exec copy of fd at or above min, or -1. */
int hg_os_dup_above(int fd, int min);
int hg_os_open_read(const char *path);
ssize_t hg_os_read(int fd, void *buf, size_t len);
void hg_os_close(int fd);
/* The regular file at path, mapped read-only, and its size; NULL if it can't be. */
const void *hg_os_map_file(const char *path, size_t *size);
/* True when path is a regular file this process may execute. */
bool hg_os_is_executable(const char *path);
/*
 * Run the program at path with argv, an environment of env only, stdin
 * and stderr on /dev/null, and its stdout read into out (the first cap
 * bytes; *len says how many). The child is made with clone(CLONE_VM |
 * CLONE_VFORK), as posix_spawn makes it: no fork handler runs (heapguard's
 * take every heap lock) and nothing is copied. It has no exit signal, so
 * the program's SIGCHLD handler and wait() never see it. It is killed if it
 * has not finished after timeout_ms. Returns its exit status, or -1 when it
 * could not be started, was killed, or timed out.
 */
int hg_os_run(const char *path, char *const argv[], char *const env[], char *out,
              size_t cap, size_t *len, int timeout_ms);
pid_t hg_os_getpid(void);
pid_t hg_os_gettid(void);
uint64_t hg_os_unix_time(void);
/* A monotonic clock in nanoseconds, 0 when it cannot be read. */
uint64_t hg_os_clock_ns(void);
/* CPUs this process may run on, at least 1. */
unsigned hg_os_cpu_count(void);
void hg_os_yield(void);
/* The file offset of fd, or -1; and a write of all of buf at offset at. */
off_t hg_os_tell(int fd);
bool hg_os_pwrite_all(int fd, const void *buf, size_t len, off_t at);
_Noreturn void hg_os_abort(void);
_Noreturn void hg_os_exit(int code);

#endif
