/*
 * heapguard.h - the public API of libheapguard.
 *
 * Programs do not need this header to be checked: LD_PRELOAD is enough.
 * It is for programs and tests that want to ask heapguard about a block or
 * the whole heap without dying, or set heapguard's options at build time.
 * The functions below need the program linked against libheapguard
 * (pkg-config --libs heapguard); the HEAPGUARD_CHECK, HEAPGUARD_CHECK_HEAP
 * and HEAPGUARD_ACTIVE macros at the end do not: they find heapguard at
 * run time and do nothing without it, as valgrind.h's requests do.
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
  HEAPGUARD_ALLOCATION_SIZE_TOO_BIG = 8, /* with max_allocation set */
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
  uint32_t check;        /* the id of the check that failed (src/checks.inc), 0 none */
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

/*
 * Compile-time defaults, as __asan_default_options: a program may define
 *
 *   const char *__heapguard_default_options(void) { return "leaks=1:verbosity=1"; }
 *
 * (extern "C" in C++) and heapguard parses what it returns at start-up,
 * before HEAPGUARD_OPTIONS, whose values win. It is called before the
 * program's constructors have run: return a string literal. heapguard
 * finds it when the program exports it: linking against libheapguard does
 * that; a program that only has heapguard preloaded is linked with
 * -Wl,--export-dynamic-symbol=__heapguard_default_options (or -rdynamic).
 */
const char *__heapguard_default_options(void);

#ifdef __cplusplus
}
#endif

/*
 * For code that is not linked against libheapguard and may run with or
 * without it: heapguard_check, heapguard_check_heap and heapguard_active
 * looked up at run time (dlsym; with a glibc older than 2.34, link with
 * -ldl), once per translation unit. Without heapguard in the process they
 * return HEAPGUARD_OK (and clear *out) or 0. Define HEAPGUARD_NO_OPTIONAL
 * before including this header to leave them out.
 *
 *   struct heapguard_finding f;
 *   if (HEAPGUARD_CHECK(buf, &f) != HEAPGUARD_OK)
 *     fprintf(stderr, "buf: check failed: %s\n", f.what);
 */
#ifndef HEAPGUARD_NO_OPTIONAL
#include <dlfcn.h>
#include <string.h>

#define HEAPGUARD_CHECK(ptr, out) heapguard_optional_check_((ptr), (out))
#define HEAPGUARD_CHECK_HEAP(out) heapguard_optional_check_heap_(out)
#define HEAPGUARD_ACTIVE() heapguard_optional_active_()

/* The function named name in heapguard, if heapguard is in the process, else NULL. */
static inline void *heapguard_optional_symbol_(void **cache, const char *name)
{
  void *fn = __atomic_load_n(cache, __ATOMIC_ACQUIRE);
  if (fn == (void *)cache) /* looked up before: not there */
    return 0;
  if (!fn) {
    fn = dlsym((void *)0 /* RTLD_DEFAULT */, name);
    __atomic_store_n(cache, fn ? fn : (void *)cache, __ATOMIC_RELEASE);
  }
  return fn;
}

static inline enum heapguard_bug_class
heapguard_optional_check_(const void *ptr, struct heapguard_finding *out)
{
  static void *cache;
  enum heapguard_bug_class (*fn)(const void *, struct heapguard_finding *);
  void *sym = heapguard_optional_symbol_(&cache, "heapguard_check");
  if (sym) {
    memcpy(&fn, &sym, sizeof fn);
    return fn(ptr, out);
  }
  if (out)
    memset(out, 0, sizeof *out);
  return HEAPGUARD_OK;
}

static inline enum heapguard_bug_class heapguard_optional_check_heap_(struct heapguard_finding *out)
{
  static void *cache;
  enum heapguard_bug_class (*fn)(struct heapguard_finding *);
  void *sym = heapguard_optional_symbol_(&cache, "heapguard_check_heap");
  if (sym) {
    memcpy(&fn, &sym, sizeof fn);
    return fn(out);
  }
  if (out)
    memset(out, 0, sizeof *out);
  return HEAPGUARD_OK;
}

static inline int heapguard_optional_active_(void)
{
  static void *cache;
  int (*fn)(void);
  void *sym = heapguard_optional_symbol_(&cache, "heapguard_active");
  if (!sym)
    return 0;
  memcpy(&fn, &sym, sizeof fn);
  return fn();
}
#endif

#endif
