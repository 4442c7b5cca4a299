/*
 * heapguard.h - the public API of libheapguard.
 *
 * Programs do not need this header to be checked: LD_PRELOAD is enough.
 * It is for programs and tests that want to ask heapguard about a block or
 * the whole heap without dying.
 */
#ifndef HEAPGUARD_H
#define HEAPGUARD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HEAPGUARD_VERSION_STRING "0.1.0"

/* The classes of bug heapguard names in its reports. */
enum heapguard_bug_class {
  HEAPGUARD_OK = 0,
  HEAPGUARD_HEAP_BUFFER_OVERFLOW = 1,
  HEAPGUARD_DOUBLE_FREE = 2,
  HEAPGUARD_INVALID_FREE = 3,
  HEAPGUARD_METADATA_CORRUPTION = 4,
  HEAPGUARD_USE_AFTER_FREE = 5,
  HEAPGUARD_ALLOC_DEALLOC_MISMATCH = 6,
  HEAPGUARD_SEGMENT_CORRUPTION = 7,
};

/* What a check found. bug_class is HEAPGUARD_OK when the block is sound. */
struct heapguard_finding {
  enum heapguard_bug_class bug_class;
  const char *what;      /* the name of the check that failed, a static string */
  const char *operation; /* the call that found it: "free", "realloc", ... */
  uintptr_t address;     /* the pointer the program passed */
  uintptr_t block;       /* header address of the block concerned, or 0 */
  uintptr_t segment;     /* its segment's metadata address, or 0 */
  uintptr_t neighbour;   /* the block before a smashed header, or 0 */
  size_t requested;      /* the concerned block's requested size, if known */
  intptr_t offset;       /* where it went wrong, from the block's data start */
  size_t extent;         /* how many bytes are damaged, where that applies */
  uint64_t expected;     /* what the check expected ... */
  uint64_t found;        /* ... and what it found */
  uint32_t alloc_stack;  /* stack ids (see reports) of the block's allocation, */
  uint32_t free_stack;   /* of its free, */
  uint32_t neighbour_stack; /* and of the neighbour's allocation; 0 unknown */
  uint32_t check;        /* the id of the check that failed (docs/checks.md), 0 none */
};

/* Name of a bug class as it appears in reports, e.g. "double-free". */
const char *heapguard_bug_class_name(enum heapguard_bug_class c);

/*
 * Validate the live block at ptr as free() would, without reporting or
 * aborting. Returns the class found (HEAPGUARD_OK when sound) and fills
 * *out when it is not NULL.
 */
enum heapguard_bug_class heapguard_check(const void *ptr,
                                         struct heapguard_finding *out);

/*
 * Walk every segment and verify every block, link and canary. Returns the
 * first finding's class (HEAPGUARD_OK when the heap is sound).
 */
enum heapguard_bug_class heapguard_check_heap(struct heapguard_finding *out);

/*
 * Write a forensic dump of the segment holding ptr (the format of
 * heapguard_dump.h, into dump_dir) while the heap is held still. Returns 0
 * and the file's name in path (cap bytes), or -1 with errno set: EINVAL
 * when ptr is not in a heapguard segment, or the error of the write.
 */
int heapguard_dump(const void *ptr, char *path, size_t cap);

/* The library's version, HEAPGUARD_VERSION_STRING of the loaded build. */
const char *heapguard_version(void);

/* Nonzero when the calling process's allocator really is heapguard. */
int heapguard_active(void);

#ifdef __cplusplus
}
#endif

#endif
