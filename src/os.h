/*
 * os.h - the only module that talks to the kernel.
 *
 * Thin wrappers over raw system calls with one failure policy: running
 * out of memory is reported to the caller (NULL / false, errno ENOMEM);
 * any other failure of a call that must not fail is fatal. None of them
 * allocates, and all are async-signal-safe.
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
/* Give the pages of [p, p+size) back to the kernel; they read as zero after. */
void hg_os_discard(void *p, size_t size);
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
pid_t hg_os_getpid(void);
pid_t hg_os_gettid(void);
uint64_t hg_os_unix_time(void);
_Noreturn void hg_os_abort(void);
_Noreturn void hg_os_exit(int code);

#endif
