/*
 * malloc.c - the malloc-family front end and the public API.
 *
 * Each entry point handles the C and glibc corner cases (zero sizes,
 * overflowing products, alignment rules, errno), routes calls that arrive
 * during start-up or a report to scratch memory, and sends every finding
 * to hg_report(). errno is preserved across free().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dump.h"
#include "fmt.h"
#include "frontend.h"
#include "check.h"
#include "heap.h"
#include "init.h"
#include "heapguard.h"
#include "options.h"
#include "report.h"
#include "os.h"
#include "runtime.h"
#include "scratch.h"
#include "stackdepot.h"
#include "stats.h"

static HG_TLS uint64_t tls_calls_until_check;

/*
 * A signal handler that allocates while its thread is inside heapguard
 * (holding an arena, depot or segment lock) must not wait for that lock:
 * it would wait for itself. Such nested calls are served from scratch
 * memory, and their frees are deferred until the interrupted call ends.
 */
#define DEFERRED_FREES 64u

static HG_TLS bool tls_in_heap_call;
static HG_TLS void *tls_deferred[DEFERRED_FREES];
static HG_TLS unsigned tls_deferred_count;

static bool must_use_scratch(void)
{
  return !hg_ensure_init() || hg_tls_reentered || tls_in_heap_call;
}

/* A block freed by a nested call; lost if too many are waiting. */
static void defer_free(void *p)
{
  if (tls_deferred_count < DEFERRED_FREES)
    tls_deferred[tls_deferred_count++] = p;
}

static void enter_heap_call(void)
{
  tls_in_heap_call = true;
}

static void leave_heap_call(void)
{
  tls_in_heap_call = false;
  while (tls_deferred_count) {
    void *p = tls_deferred[--tls_deferred_count];
    free(p);
  }
}

/* The requested size of a live block read without a lock, for nested calls. */
static size_t nested_requested(const void *p)
{
  if (hg_scratch_owns(p))
    return hg_scratch_size(p);
  const struct hg_block *b = hg_block_of(p);
  struct hg_segment *s = hg_segment_lookup((uintptr_t)p);
  bool readable = s && (s->kind == HG_SEGMENT_SHARED || s->kind == HG_SEGMENT_LARGE) &&
                  (const char *)b >= (const char *)hg_segment_first(s) &&
                  (const char *)p < hg_segment_end(s);
  return readable && hg_block_verify(&hg_key, b) == HG_HEADER_OK &&
                 b->state == HG_STATE_USED
           ? hg_block_requested(b)
           : 0;
}

static struct heapguard_finding finding_for(const char *operation, const void *p)
{
  return (struct heapguard_finding){ .operation = operation, .address = (uintptr_t)p };
}

/*
 * Where this call came from, as a stack-depot id. Captured before any heap
 * lock is taken (a walk flags the thread itself, stackdepot.h).
 */
static inline __attribute__((always_inline)) uint32_t caller_stack(struct hg_caller from)
{
  return hg_options.alloc_stacks ? hg_stack_capture(from) : 0;
}

/* check_every=N: verify the whole heap on every Nth allocation call. */
static __attribute__((noinline, cold)) void count_towards_heap_check(void)
{
  if (!hg_options.check_every)
    return;
  if (tls_calls_until_check > 1) {
    tls_calls_until_check--;
    return;
  }
  tls_calls_until_check = hg_options.check_every;
  struct heapguard_finding f = finding_for("a periodic heap check", NULL);
  if (!hg_heap_check_all(&f))
    hg_report(&f);
}

/*
 * max_allocation: a larger request is a bug (a negative size passed as a
 * size_t), reported; or, with allocator_may_return_null, refused. Either
 * way the request fails with ENOMEM (after the report, with
 * halt_on_error=0). The check's values: the limit and the size, or
 * calloc's count and element size.
 */
static __attribute__((noinline, cold)) void refuse_size(const char *operation,
                                                        enum hg_check check,
                                                        uint64_t expected, uint64_t found)
{
  if (!hg_options.allocator_may_return_null) {
    struct heapguard_finding f = finding_for(operation, NULL);
    hg_fail(&f, check, NULL, expected, found);
    hg_report(&f);
  }
  errno = ENOMEM;
}

static __attribute__((noinline, cold)) bool too_big(const char *operation, size_t size)
{
  if (!hg_options.max_allocation || size <= hg_options.max_allocation)
    return false;
  refuse_size(operation, HG_CHECK_MAX_ALLOCATION, hg_options.max_allocation, size);
  return true;
}

/* malloc_fill_byte over [from, to) of the block at p, when it is set. */
static __attribute__((noinline, cold)) void fill(void *p, size_t from, size_t to)
{
  if (hg_options.malloc_fill_byte <= 0xff && to > from)
    memset((char *)p + from, (int)hg_options.malloc_fill_byte, to - from);
}

/*
 * hg_front_alloc and hg_front_release, inline in malloc and free (and the
 * other entry points of this file): one call less on the paths every
 * program takes most.
 */
static inline __attribute__((always_inline)) void *
front_alloc(struct hg_caller from, const char *operation, size_t size, size_t alignment,
            uint16_t kind, bool zero)
{
  if (__builtin_expect(must_use_scratch(), 0))
    return hg_scratch_alloc(size, alignment ? alignment : HG_GRANULE);
  if (__builtin_expect(hg_alloc_extras, 0) && too_big(operation, size))
    return NULL;
  enter_heap_call();
  if (__builtin_expect(hg_alloc_extras, 0))
    count_towards_heap_check();
  uint32_t stack = caller_stack(from);
  bool zeroed;
  void *p;
  /*
   * A damaged free list is reported, then dropped: the retry avoids it.
   * Out of memory, the quarantines give their blocks back before the retry.
   */
  for (int attempt = 0; attempt < 2; attempt++) {
    struct heapguard_finding f;
    hg_finding_begin(&f, operation, 0);
    p = hg_heap_alloc(size, alignment, kind, stack, &zeroed, &f);
    if (__builtin_expect(p != NULL, 1))
      break;
    if (f.bug_class == HEAPGUARD_OK) {
      hg_finding_reset(&f);
      if (!hg_heap_drain(&f))
        hg_report(&f);
    } else {
      hg_report(&f);
    }
  }
  if (p && zero && !zeroed)
    memset(p, 0, size);
  else if (__builtin_expect(hg_alloc_extras, 0) && p && !zero)
    fill(p, 0, size);
  leave_heap_call();
  return p;
}

static inline __attribute__((always_inline)) void
front_release(struct hg_caller from, const char *operation, void *p, uint16_t kind, size_t size)
{
  if (!p || hg_scratch_owns(p))
    return;
  if (__builtin_expect(tls_in_heap_call, 0)) {
    defer_free(p);
    return;
  }
  int saved = errno;
  struct heapguard_finding f;
  hg_finding_begin(&f, operation, (uintptr_t)p);
  hg_ensure_init();
  enter_heap_call();
  if (!hg_heap_free(p, kind, size, caller_stack(from), &f))
    hg_report(&f);
  leave_heap_call();
  errno = saved;
}

void *hg_front_alloc(struct hg_caller from, const char *operation, size_t size,
                     size_t alignment, uint16_t kind, bool zero)
{
  return front_alloc(from, operation, size, alignment, kind, zero);
}

void hg_front_release(struct hg_caller from, const char *operation, void *p, uint16_t kind,
                      size_t size)
{
  front_release(from, operation, p, kind, size);
}

HG_EXPORT void *malloc(size_t size)
{
  return front_alloc(HG_CALLER, "malloc", size, 0, HG_KIND_MALLOC, false);
}

HG_EXPORT void free(void *p)
{
  front_release(HG_CALLER, "free", p, HG_KIND_MALLOC, 0);
}

HG_EXPORT void *calloc(size_t n, size_t size)
{
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) {
    if (hg_ensure_init() && !hg_tls_reentered && hg_options.max_allocation)
      refuse_size("calloc", HG_CHECK_CALLOC_OVERFLOW, n, size);
    errno = ENOMEM;
    return NULL;
  }
  return hg_front_alloc(HG_CALLER, "calloc", total, 0, HG_KIND_MALLOC, true);
}

static void *realloc_from_scratch(void *p, size_t size)
{
  void *q = malloc(size);
  if (q) {
    size_t old = hg_scratch_size(p);
    memcpy(q, p, old < size ? old : size);
  }
  return q;
}

HG_EXPORT void *realloc(void *p, size_t size)
{
  struct hg_caller from = HG_CALLER;
  if (!p)
    return hg_front_alloc(from, "realloc", size, 0, HG_KIND_MALLOC, false);
  if (hg_scratch_owns(p))
    return realloc_from_scratch(p, size);
  if (size == 0) {
    hg_front_release(from, "realloc", p, HG_KIND_MALLOC, 0);
    return NULL;
  }
  if (__builtin_expect(tls_in_heap_call, 0)) {
    void *q = hg_scratch_alloc(size, HG_GRANULE);
    if (q) {
      size_t old = nested_requested(p);
      memcpy(q, p, old < size ? old : size);
      defer_free(p);
    }
    return q;
  }
  struct heapguard_finding f = finding_for("realloc", p);
  size_t old = 0;
  hg_ensure_init();
  if (hg_alloc_extras && too_big("realloc", size))
    return NULL;
  enter_heap_call();
  bool resized = hg_heap_resize_in_place(p, size, &old, &f);
  leave_heap_call();
  if (resized && hg_alloc_extras)
    fill(p, old, size);
  if (resized)
    return p;
  bool damaged = f.bug_class != HEAPGUARD_OK;
  if (damaged) {
    /* With halt_on_error=0: move what is known to be the data, keep the block. */
    hg_report(&f);
    old = f.requested;
  }
  void *q = hg_front_alloc(from, "realloc", size, 0, HG_KIND_MALLOC, false);
  if (!q)
    return NULL;
  memcpy(q, p, old < size ? old : size);
  if (!damaged)
    hg_front_release(from, "realloc", p, HG_KIND_MALLOC, 0);
  return q;
}

HG_EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) {
    errno = ENOMEM;
    return NULL;
  }
  return realloc(p, total);
}

static bool is_power_of_two(size_t x)
{
  return x && (x & (x - 1)) == 0;
}

static size_t at_least_granule(size_t alignment)
{
  return alignment < HG_GRANULE ? HG_GRANULE : alignment;
}

HG_EXPORT int posix_memalign(void **out, size_t alignment, size_t size)
{
  if (!is_power_of_two(alignment) || alignment % sizeof(void *) != 0)
    return EINVAL;
  int saved = errno;
  void *p = hg_front_alloc(HG_CALLER, "posix_memalign", size, at_least_granule(alignment),
                     HG_KIND_MALLOC, false);
  if (!p) {
    errno = saved;
    return ENOMEM;
  }
  *out = p;
  return 0;
}

HG_EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
  if (!is_power_of_two(alignment)) {
    errno = EINVAL;
    return NULL;
  }
  return hg_front_alloc(HG_CALLER, "aligned_alloc", size, at_least_granule(alignment),
                  HG_KIND_MALLOC, false);
}

/* glibc's memalign rounds an alignment that is not a power of two up. */
HG_EXPORT void *memalign(size_t alignment, size_t size)
{
  if (alignment > SIZE_MAX / 2 + 1) {
    errno = EINVAL;
    return NULL;
  }
  size_t a = HG_GRANULE;
  while (a < alignment)
    a <<= 1;
  return hg_front_alloc(HG_CALLER, "memalign", size, a, HG_KIND_MALLOC, false);
}

HG_EXPORT void *valloc(size_t size)
{
  return hg_front_alloc(HG_CALLER, "valloc", size, HG_PAGE_SIZE, HG_KIND_MALLOC, false);
}

HG_EXPORT void *pvalloc(size_t size)
{
  size_t rounded = (size + HG_PAGE_SIZE - 1) & ~(size_t)(HG_PAGE_SIZE - 1);
  if (rounded < size) {
    errno = ENOMEM;
    return NULL;
  }
  return hg_front_alloc(HG_CALLER, "pvalloc", rounded ? rounded : HG_PAGE_SIZE, HG_PAGE_SIZE,
                  HG_KIND_MALLOC, false);
}

/* The usable size is the requested size: the trailing canary follows it. */
HG_EXPORT size_t malloc_usable_size(void *p)
{
  if (!p)
    return 0;
  if (hg_scratch_owns(p) || tls_in_heap_call)
    return nested_requested(p);
  struct heapguard_finding f = finding_for("malloc_usable_size", p);
  struct hg_block_info info;
  hg_ensure_init();
  if (hg_heap_inspect(p, &info, &f))
    return info.requested;
  hg_report(&f);
  return f.requested;
}

/*
 * glibc's statistics calls, with heapguard's figures (stats.h): a walk of
 * the heap, nothing counted on the fast path. mallinfo2's fields mean what
 * glibc's do where heapguard has the same thing: arena is the bytes of
 * shared segments, ordblks and fordblks the free blocks and bytes in every
 * kind, hblks and hblkhd the dedicated and guard segments and their bytes,
 * uordblks the bytes in use (as requested), fsmblks the bytes held in
 * quarantine, usmblks the most bytes of segments mapped at once.
 */
static struct mallinfo2 collect_mallinfo2(void)
{
  struct hg_stats st;
  if (!hg_ensure_init())
    return (struct mallinfo2){ 0 };
  hg_stats_collect(&st);
  const struct hg_heap_counts *shared = &st.kinds[HG_SEGMENT_SHARED];
  const struct hg_heap_counts *large = &st.kinds[HG_SEGMENT_LARGE];
  const struct hg_heap_counts *guard = &st.kinds[HG_SEGMENT_GUARD];
  return (struct mallinfo2){
    .arena = shared->mapped,
    .ordblks = st.total.free_blocks,
    .hblks = large->segments + guard->segments,
    .hblkhd = large->mapped + guard->mapped,
    .usmblks = st.mapped_peak,
    .fsmblks = st.total.quarantined_bytes,
    .uordblks = st.total.used_bytes,
    .fordblks = st.total.free_bytes,
  };
}

HG_EXPORT struct mallinfo2 mallinfo2(void)
{
  return collect_mallinfo2();
}

/* The old interface: the same figures, cut to int as glibc cuts them. */
HG_EXPORT struct mallinfo mallinfo(void)
{
  struct mallinfo2 m = collect_mallinfo2();
  return (struct mallinfo){
    .arena = (int)m.arena, .ordblks = (int)m.ordblks, .hblks = (int)m.hblks,
    .hblkhd = (int)m.hblkhd, .usmblks = (int)m.usmblks, .fsmblks = (int)m.fsmblks,
    .uordblks = (int)m.uordblks, .fordblks = (int)m.fordblks,
  };
}

/* As glibc's, to stderr: the statistics block of print_stats=1. */
HG_EXPORT void malloc_stats(void)
{
  char text[2048];
  struct hg_buf out = HG_BUF(text);
  struct hg_stats st;
  if (!hg_ensure_init())
    return;
  hg_stats_collect(&st);
  hg_stats_format(&out, &st);
  hg_os_write_all(2, out.p, out.len);
}

/* XML as glibc's (options must be 0); written to fp after the heap is let go. */
HG_EXPORT int malloc_info(int options, FILE *fp)
{
  if (options != 0) {
    errno = EINVAL;
    return -1;
  }
  char text[2048];
  struct hg_buf out = HG_BUF(text);
  struct hg_stats st;
  if (!hg_ensure_init())
    return -1;
  hg_stats_collect(&st);
  hg_stats_xml(&out, &st);
  return fwrite(out.p, 1, out.len, fp) == out.len ? 0 : -1;
}

/* heapguard keeps no memory that trimming could return. */
HG_EXPORT int malloc_trim(size_t pad)
{
  (void)pad;
  return 0;
}

/*
 * glibc's own names for the same functions. GCC wants an alias to carry
 * its target's attributes (copy); clang copies nothing and knows no copy.
 */
#if defined(__has_attribute) && __has_attribute(copy)
#define HG_ALIAS_OF(f) __attribute__((alias(#f), copy(f)))
#else
#define HG_ALIAS_OF(f) __attribute__((alias(#f)))
#endif

HG_EXPORT void *__libc_malloc(size_t) HG_ALIAS_OF(malloc);
HG_EXPORT void __libc_free(void *) HG_ALIAS_OF(free);
HG_EXPORT void *__libc_calloc(size_t, size_t) HG_ALIAS_OF(calloc);
HG_EXPORT void *__libc_realloc(void *, size_t) HG_ALIAS_OF(realloc);
HG_EXPORT void *__libc_memalign(size_t, size_t) HG_ALIAS_OF(memalign);
HG_EXPORT void *__libc_valloc(size_t) HG_ALIAS_OF(valloc);
HG_EXPORT void *__libc_pvalloc(size_t) HG_ALIAS_OF(pvalloc);

/* ---- public API ---- */

HG_EXPORT enum heapguard_bug_class heapguard_check(const void *ptr,
                                                   struct heapguard_finding *out)
{
  struct heapguard_finding f = finding_for("heapguard_check", ptr);
  struct hg_block_info info;
  if (ptr && !hg_scratch_owns(ptr) && hg_ensure_init())
    hg_heap_inspect(ptr, &info, &f);
  if (out)
    *out = f;
  return f.bug_class;
}

HG_EXPORT enum heapguard_bug_class heapguard_check_heap(struct heapguard_finding *out)
{
  struct heapguard_finding f = finding_for("heapguard_check_heap", NULL);
  if (hg_ensure_init())
    hg_heap_check_all(&f);
  if (out)
    *out = f;
  return f.bug_class;
}

HG_EXPORT int heapguard_dump(const void *ptr, char *path, size_t cap)
{
  struct hg_segment *s = hg_ensure_init() ? hg_segment_lookup((uintptr_t)ptr) : NULL;
  if (!s || (const char *)ptr < (const char *)s) {
    errno = EINVAL;
    return -1;
  }
  char reason[64];
  struct hg_buf b = { reason, 0, sizeof reason - 1 };
  hg_buf_str(&b, "heapguard_dump(");
  hg_buf_hex(&b, (uintptr_t)ptr);
  hg_buf_char(&b, ')');
  reason[b.len] = 0;
  errno = 0;
  hg_tls_reentered = true;
  hg_heap_lock_all();
  bool ok = hg_dump_on_demand(s, reason, (uintptr_t)ptr, path, cap);
  hg_heap_unlock_all();
  hg_tls_reentered = false;
  if (!ok && errno == 0)
    errno = EIO;
  return ok ? 0 : -1;
}

HG_EXPORT const char *heapguard_version(void)
{
  return HEAPGUARD_VERSION_STRING;
}

HG_EXPORT int heapguard_active(void)
{
  return hg_ensure_init();
}
