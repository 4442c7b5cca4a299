/*
 * test_heap.c - segments, the registry, bins and the arena logic, driven
 * in-process through the internal API (the test's own malloc stays glibc's).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "heap.h"
#include "init.h"
#include "check.h"
#include "guard.h"
#include "options.h"
#include "pool.h"
#include "quarantine.h"
#include "runtime.h"
#include "segment.h"
#include "sizeclass.h"
#include "tcache.h"
#include "zero.h"

/* hg_heap_alloc with the alignment of malloc and no stack. */
static void *heap_alloc(size_t size, size_t alignment, uint16_t kind,
                        struct heapguard_finding *f)
{
  bool zeroed;
  return hg_heap_alloc(size, alignment, kind, 0, &zeroed, f);
}

/* Most tests look at immediate reuse: the quarantine has its own test. */
static int setup(void **state)
{
  (void)state;
  if (!hg_ensure_init())
    return -1;
  hg_options.quarantine_bytes = 0;
  return 0;
}

/* A heap check finds the masked link at slot changed, and passes once it is restored. */
static void expect_heap_check_finds_link_smashed(char *slot)
{
  struct heapguard_finding f = { 0 };
  uintptr_t saved, smashed;
  memcpy(&saved, slot, sizeof saved);
  smashed = saved ^ 0x4000;
  memcpy(slot, &smashed, sizeof smashed);
  assert_false(hg_heap_check_all(&f));
  assert_int_equal(f.bug_class, HEAPGUARD_METADATA_CORRUPTION);
  assert_string_equal(f.what, "free-list link");
  memcpy(slot, &saved, sizeof saved);
  f = (struct heapguard_finding){ 0 };
  assert_true(hg_heap_check_all(&f));
}

/* A block of size bytes carved from the top, which is then the block after it. */
static struct hg_block *carve_before_top(size_t size, char **carved)
{
  struct heapguard_finding f = { 0 };
  *carved = heap_alloc(size, HG_GRANULE, HG_KIND_MALLOC, &f);
  assert_non_null(*carved);
  struct hg_block *top = hg_block_next(hg_block_of(*carved));
  assert_int_equal(top->state, HG_STATE_FREE);
  assert_ptr_equal((char *)hg_block_next(top), hg_segment_end(hg_segment_of_shared(top)));
  return top;
}

/*
 * The free space at the end of a segment (the arena's top) is in no free
 * list, but its links hold masked NULLs all the same: a write over them is
 * found by the heap check (and by the next allocation carved from it:
 * bugs/use_after_free_top.c). Run before any other test allocates, so
 * that the first block is carved from a new segment's top.
 */
static void heap_check_reads_the_top(void **state)
{
  (void)state;
  struct heapguard_finding f = { 0 };
  char *a;
  struct hg_block *top = carve_before_top(64, &a);
  expect_heap_check_finds_link_smashed((char *)hg_block_data(top) + sizeof(uintptr_t));
  assert_true(hg_heap_free(a, HG_KIND_MALLOC, 0, 0, &f));
  assert_true(hg_heap_check_all(&f));
}

/*
 * A carve from the top compares it with the image the arena kept of it,
 * and checks it in full when they differ: a change to any byte of its
 * header or links is found by the next carve, which takes nothing from it
 * (it stays out of use: each round leaves its block allocated and starts
 * a fresh segment).
 */
static void carves_find_any_change_to_the_top(void **state)
{
  (void)state;
  static const size_t offsets[] = { 0, 5, 9, 14, 20, 27, 31, 32, 39, 40, 47 };
  for (size_t i = 0; i < sizeof offsets / sizeof *offsets; i++) {
    char *kept;
    struct hg_block *top = carve_before_top(5000, &kept);
    unsigned char *byte = (unsigned char *)top + offsets[i];
    *byte ^= 0x10;
    struct heapguard_finding f = { 0 };
    assert_null(heap_alloc(5000, HG_GRANULE, HG_KIND_MALLOC, &f));
    assert_int_equal(f.bug_class, HEAPGUARD_METADATA_CORRUPTION);
    assert_int_equal(f.block, (uintptr_t)top);
    *byte ^= 0x10;
  }
}

static void bins_cover_sizes_in_order(void **state)
{
  (void)state;
  unsigned last = 0;
  for (uint32_t g = HG_MIN_BLOCK_GRANULES; g < (1u << 22); g += 1 + g / 64) {
    unsigned bin = hg_bin_of_block(g);
    assert_true(bin >= last);
    assert_true(bin < HG_BIN_COUNT);
    last = bin;
    /* Every block filed at or above the request's bin can hold it. */
    unsigned want = hg_bin_for_request(g);
    for (uint32_t h = g > 200 ? g - 200 : 3; h < g; h++)
      assert_true(hg_bin_of_block(h) < want || h >= g);
  }
  assert_int_equal(hg_bin_of_block(UINT32_MAX), HG_BIN_COUNT - 1);
}

static void registry_finds_segments_and_nothing_else(void **state)
{
  (void)state;
  struct hg_segment *s = hg_segment_create_shared(0);
  assert_non_null(s);
  assert_ptr_equal(hg_segment_lookup((uintptr_t)s + 100), s);
  assert_ptr_equal(hg_segment_lookup((uintptr_t)s + HG_SEGMENT_SIZE - 2 * HG_PAGE_SIZE - 1), s);
  int local;
  assert_null(hg_segment_lookup((uintptr_t)&local));
  assert_null(hg_segment_lookup((uintptr_t)1 << 62));
  struct heapguard_finding f = { 0 };
  assert_true(hg_check_segment(&hg_key, s, &f));
  hg_segment_destroy(s);
  assert_null(hg_segment_lookup((uintptr_t)s + 100));
}

static void every_flipped_segment_byte_is_caught(void **state)
{
  (void)state;
  struct hg_segment *s = hg_segment_create_shared(0);
  /* Read-only once sealed: only a test makes it writable again. */
  assert_int_equal(mprotect(s, HG_SEGMENT_META_SIZE, PROT_READ | PROT_WRITE), 0);
  for (size_t byte = 0; byte < sizeof *s; byte++) {
    ((unsigned char *)s)[byte] ^= 0x20;
    struct heapguard_finding f = { 0 };
    assert_false(hg_check_segment(&hg_key, s, &f));
    assert_int_equal(f.bug_class, HEAPGUARD_SEGMENT_CORRUPTION);
    ((unsigned char *)s)[byte] ^= 0x20;
  }
  hg_segment_destroy(s);
}

static bool segment_blocks_are_sound(const struct hg_segment *s)
{
  struct heapguard_finding f;
  struct hg_findings out;
  hg_findings_start(&out, &f, 1, NULL);
  hg_check_segment_blocks(&hg_key, s, &out);
  return out.count == 0;
}

static void split_and_coalesce_keep_the_segment_tiled(void **state)
{
  (void)state;
  struct heapguard_finding f = { 0 };
  void *p[64];
  for (int i = 0; i < 64; i++) {
    p[i] = heap_alloc((size_t)(i * 13 + 1), HG_GRANULE, HG_KIND_MALLOC, &f);
    assert_non_null(p[i]);
  }
  struct hg_segment *s = hg_segment_lookup((uintptr_t)p[0]);
  assert_true(segment_blocks_are_sound(s));
  for (int i = 0; i < 64; i += 2)
    assert_true(hg_heap_free(p[i], HG_KIND_MALLOC, 0, 0, &f));
  assert_true(segment_blocks_are_sound(s));
  for (int i = 1; i < 64; i += 2)
    assert_true(hg_heap_free(p[i], HG_KIND_MALLOC, 0, 0, &f));
  assert_true(hg_heap_check_all(&f));
  assert_int_equal(f.bug_class, HEAPGUARD_OK);
}

static void freed_memory_is_reused(void **state)
{
  (void)state;
  struct heapguard_finding f = { 0 };
  void *a = heap_alloc(100, HG_GRANULE, HG_KIND_MALLOC, &f);
  void *keep = heap_alloc(100, HG_GRANULE, HG_KIND_MALLOC, &f);
  assert_true(hg_heap_free(a, HG_KIND_MALLOC, 0, 0, &f));
  void *b = heap_alloc(100, HG_GRANULE, HG_KIND_MALLOC, &f);
  assert_ptr_equal(a, b);
  assert_true(hg_heap_free(b, HG_KIND_MALLOC, 0, 0, &f));
  assert_true(hg_heap_free(keep, HG_KIND_MALLOC, 0, 0, &f));
}

static void double_free_is_found_without_modifying(void **state)
{
  (void)state;
  struct heapguard_finding f = { 0 };
  void *a = heap_alloc(40, HG_GRANULE, HG_KIND_MALLOC, &f);
  void *keep = heap_alloc(40, HG_GRANULE, HG_KIND_MALLOC, &f);
  assert_true(hg_heap_free(a, HG_KIND_MALLOC, 0, 0, &f));
  assert_false(hg_heap_free(a, HG_KIND_MALLOC, 0, 0, &f));
  assert_int_equal(f.bug_class, HEAPGUARD_DOUBLE_FREE);
  struct heapguard_finding g = { 0 };
  assert_true(hg_heap_check_all(&g));
  assert_true(hg_heap_free(keep, HG_KIND_MALLOC, 0, 0, &g));
}

static void kind_mismatch_is_found(void **state)
{
  (void)state;
  struct heapguard_finding f = { 0 };
  void *a = heap_alloc(40, HG_GRANULE, HG_KIND_NEW_ARRAY, &f);
  assert_false(hg_heap_free(a, HG_KIND_MALLOC, 0, 0, &f));
  assert_int_equal(f.bug_class, HEAPGUARD_ALLOC_DEALLOC_MISMATCH);
  assert_true(hg_heap_free(a, HG_KIND_NEW_ARRAY, 0, 0, &f));
}

static void resize_in_place_grows_into_free_space(void **state)
{
  (void)state;
  struct heapguard_finding f = { 0 };
  char *a = heap_alloc(100, HG_GRANULE, HG_KIND_MALLOC, &f);
  char *b = heap_alloc(1000, HG_GRANULE, HG_KIND_MALLOC, &f);
  char *c = heap_alloc(10, HG_GRANULE, HG_KIND_MALLOC, &f);
  assert_true(hg_heap_free(b, HG_KIND_MALLOC, 0, 0, &f));
  size_t old = 0;
  memset(a, 7, 100);
  assert_true(hg_heap_resize_in_place(a, 900, &old, &f));
  assert_int_equal(old, 100);
  memset(a, 8, 900);
  assert_true(hg_heap_resize_in_place(a, 50, &old, &f));
  assert_int_equal(old, 900);
  assert_false(hg_heap_resize_in_place(a, 5000, &old, &f));
  assert_int_equal(f.bug_class, HEAPGUARD_OK);
  assert_true(hg_heap_check_all(&f));
  assert_true(hg_heap_free(a, HG_KIND_MALLOC, 0, 0, &f));
  assert_true(hg_heap_free(c, HG_KIND_MALLOC, 0, 0, &f));
}

static void large_blocks_end_at_the_guard_page(void **state)
{
  (void)state;
  struct heapguard_finding f = { 0 };
  size_t n = (2u << 20) + 5;
  char *p = heap_alloc(n, HG_GRANULE, HG_KIND_MALLOC, &f);
  struct hg_segment *s = hg_segment_lookup((uintptr_t)p);
  assert_true((s->kind == HG_SEGMENT_LARGE));
  assert_true((size_t)(hg_segment_end(s) - (p + n)) < 2 * HG_GRANULE);
  void *q = heap_alloc(100, 1u << 20, HG_KIND_MALLOC, &f);
  assert_int_equal((uintptr_t)q & ((1u << 20) - 1), 0);
  assert_true(hg_heap_free(p, HG_KIND_MALLOC, 0, 0, &f));
  assert_true(hg_heap_free(q, HG_KIND_MALLOC, 0, 0, &f));
}

static void interior_pointer_is_diagnosed(void **state)
{
  (void)state;
  struct heapguard_finding f = { 0 };
  char *a = heap_alloc(200, HG_GRANULE, HG_KIND_MALLOC, &f);
  assert_false(hg_heap_free(a + 40, HG_KIND_MALLOC, 0, 0, &f));
  assert_int_equal(f.bug_class, HEAPGUARD_INVALID_FREE);
  assert_int_equal(f.offset, 40);
  assert_int_equal(f.block, (uintptr_t)a - HG_HEADER_SIZE);
  assert_true(hg_heap_free(a, HG_KIND_MALLOC, 0, 0, &f));
}

static void quarantine_holds_poisons_and_checks(void **state)
{
  (void)state;
  struct heapguard_finding f = { 0 };
  hg_options.quarantine_bytes = (size_t)1 << 20;
  char *a = heap_alloc(100, HG_GRANULE, HG_KIND_MALLOC, &f);
  char *keep = heap_alloc(100, HG_GRANULE, HG_KIND_MALLOC, &f);
  assert_true(hg_heap_free(a, HG_KIND_MALLOC, 0, 0, &f));
  const struct hg_block *b = hg_block_of(a);
  assert_int_equal(b->state, HG_STATE_QUARANTINED);
  for (int i = 0; i < 100; i++)
    assert_int_equal((unsigned char)a[i], i < (int)HG_POISON_ZERO_BYTES ? 0 : HG_POISON);
  /* Not reused while quarantined; a second free is a double free. */
  char *c = heap_alloc(100, HG_GRANULE, HG_KIND_MALLOC, &f);
  assert_ptr_not_equal(c, a);
  assert_false(hg_heap_free(a, HG_KIND_MALLOC, 0, 0, &f));
  assert_int_equal(f.bug_class, HEAPGUARD_DOUBLE_FREE);
  /* A write after free is found by the heap check, with its offset. */
  a[17] = 1;
  f = (struct heapguard_finding){ 0 };
  assert_false(hg_heap_check_all(&f));
  assert_int_equal(f.bug_class, HEAPGUARD_USE_AFTER_FREE);
  assert_int_equal(f.offset, 17);
  assert_int_equal(f.extent, 1);
  a[17] = (char)HG_POISON;
  f = (struct heapguard_finding){ 0 };
  assert_true(hg_heap_check_all(&f));
  assert_true(hg_heap_free(keep, HG_KIND_MALLOC, 0, 0, &f));
  assert_true(hg_heap_free(c, HG_KIND_MALLOC, 0, 0, &f));
  hg_options.quarantine_bytes = 0;
}

/* Frees of blocks too big to recycle, enough to push older ones out. */
static void push_out_of_quarantine(size_t bytes)
{
  struct heapguard_finding f = { 0 };
  for (size_t done = 0; done < 4 * bytes; done += 2000)
    assert_true(hg_heap_free(heap_alloc(2000, HG_GRANULE, HG_KIND_MALLOC, &f),
                             HG_KIND_MALLOC, 0, 0, &f));
}

static void recycled_blocks_return_at_their_size_checked(void **state)
{
  (void)state;
  struct heapguard_finding f = { 0 };
  hg_options.quarantine_bytes = 64 << 10;
  char *a = heap_alloc(40, HG_GRANULE, HG_KIND_MALLOC, &f);
  assert_true(hg_heap_free(a, HG_KIND_MALLOC, 0, 0, &f));
  push_out_of_quarantine(hg_options.quarantine_bytes);
  /* Past the quarantine, still quarantined and poisoned: not merged. */
  assert_int_equal(hg_block_of(a)->state, HG_STATE_QUARANTINED);
  assert_true(hg_heap_check_all(&f));
  char *again = heap_alloc(40, HG_GRANULE, HG_KIND_MALLOC, &f);
  assert_ptr_equal(again, a);
  assert_int_equal(hg_block_of(a)->state, HG_STATE_USED);

  /* A header damaged while the block waits is found when it is taken back. */
  assert_true(hg_heap_free(a, HG_KIND_MALLOC, 0, 0, &f));
  push_out_of_quarantine(hg_options.quarantine_bytes);
  hg_block_of(a)->stack ^= 1;
  assert_null(heap_alloc(40, HG_GRANULE, HG_KIND_MALLOC, &f));
  assert_int_equal(f.bug_class, HEAPGUARD_METADATA_CORRUPTION);
  assert_int_equal(f.block, (uintptr_t)hg_block_of(a));
  hg_block_of(a)->stack ^= 1;

  /* Running out of memory merges what recycling holds back. */
  f = (struct heapguard_finding){ 0 };
  char *b = heap_alloc(40, HG_GRANULE, HG_KIND_MALLOC, &f);
  assert_true(hg_heap_free(b, HG_KIND_MALLOC, 0, 0, &f));
  push_out_of_quarantine(hg_options.quarantine_bytes);
  assert_int_equal(hg_block_of(b)->state, HG_STATE_QUARANTINED);
  f = (struct heapguard_finding){ 0 };
  assert_true(hg_heap_drain(&f));
  assert_int_equal(hg_block_of(b)->state, HG_STATE_FREE);
  hg_options.quarantine_bytes = 0;
}

/*
 * Ready blocks of sizes the program stopped asking for fill the thread's
 * cache; half of every size then goes to the pool, and a block of a size
 * in use is still kept ready on its way out of the quarantine.
 */
static void ready_blocks_of_old_sizes_make_room(void **state)
{
  (void)state;
  struct heapguard_finding f = { 0 };
  hg_options.quarantine_bytes = 64 << 10;
  enum { OLD = 3000, OLD_SIZE = 232 };
  static char *old[OLD];
  for (unsigned i = 0; i < OLD; i++)
    old[i] = heap_alloc(OLD_SIZE + i % 2 * 16, HG_GRANULE, HG_KIND_MALLOC, &f);
  for (unsigned i = 0; i < OLD; i++)
    assert_true(hg_heap_free(old[i], HG_KIND_MALLOC, 0, 0, &f));
  push_out_of_quarantine(hg_options.quarantine_bytes);
  assert_true(hg_tls_cache->ready_bytes <= HG_TCACHE_READY_BYTES / 2 + (64 << 10));
  char *a = heap_alloc(40, HG_GRANULE, HG_KIND_MALLOC, &f);
  assert_true(hg_heap_free(a, HG_KIND_MALLOC, 0, 0, &f));
  push_out_of_quarantine(hg_options.quarantine_bytes);
  assert_int_equal(hg_block_of(a)->state, HG_STATE_QUARANTINED);
  assert_ptr_equal(heap_alloc(40, HG_GRANULE, HG_KIND_MALLOC, &f), a);
  assert_true(hg_heap_free(a, HG_KIND_MALLOC, 0, 0, &f));
  assert_true(hg_heap_drain(&f));
  assert_true(hg_heap_check_all(&f));
  hg_options.quarantine_bytes = 0;
}

/* Whether this thread's cache holds b ready for reuse. */
static bool kept_ready(const struct hg_block *b)
{
  const struct hg_tcache *c = hg_tls_cache;
  for (unsigned cls = 0; cls < HG_TCACHE_CLASSES; cls++)
    for (unsigned i = 0; i < c->ready_count[cls]; i++)
      if (c->ready[cls][i].item == b)
        return true;
  return false;
}

static bool is_one_of(char *const *list, unsigned n, const char *p)
{
  for (unsigned i = 0; i < n; i++)
    if (list[i] == p)
      return true;
  return false;
}

/*
 * Blocks out of the quarantine that the thread's cache has no room for
 * wait in their arena's pool, sealed quarantined and poisoned: a second
 * free names where the first was, a write into one is found when an
 * allocation takes it back, the others come back at their size without
 * a split, and a pool that holds much is merged back before the arena
 * carves fresh memory.
 */
static void pooled_blocks_are_checked_reused_and_merged_before_fresh_memory(void **state)
{
  (void)state;
  struct heapguard_finding f = { 0 };
  assert_true(hg_heap_drain(&f));
  hg_options.quarantine_bytes = 64 << 10;
  enum { N = 10000, SIZE = 200, PUSHERS = 4 * (64 << 10) / 2000 };
  static char *p[N], *pusher[PUSHERS];
  /* Allocated first: an allocation of fresh memory could merge the pool. */
  for (unsigned i = 0; i < PUSHERS; i++)
    pusher[i] = heap_alloc(2000, HG_GRANULE, HG_KIND_MALLOC, &f);
  for (unsigned i = 0; i < N; i++)
    p[i] = heap_alloc(SIZE, HG_GRANULE, HG_KIND_MALLOC, &f);
  for (unsigned i = 0; i < N; i++)
    assert_true(hg_heap_free(p[i], HG_KIND_MALLOC, 0, 1000 + i, &f));
  for (unsigned i = 0; i < PUSHERS; i++)
    assert_true(hg_heap_free(pusher[i], HG_KIND_MALLOC, 0, 0, &f));
  unsigned arena = hg_tls_cache->arena, pooled = 0, victim = N;
  for (unsigned i = 0; i < N; i++) {
    assert_int_equal(hg_block_of(p[i])->state, HG_STATE_QUARANTINED);
    if (!kept_ready(hg_block_of(p[i]))) {
      uint32_t free_stack = 0;
      assert_true(hg_pool_find(hg_block_of(p[i]), false, &free_stack));
      assert_int_equal(free_stack, 1000 + i);
      pooled++;
      victim = i;
    }
  }
  assert_true(pooled > N / 2);
  assert_true(hg_pool_bytes(arena) > HG_POOL_KEPT_BYTES);

  assert_false(hg_heap_free(p[victim], HG_KIND_MALLOC, 0, 7, &f));
  assert_int_equal(f.bug_class, HEAPGUARD_DOUBLE_FREE);
  assert_int_equal(f.free_stack, 1000 + victim);

  /* Taken back before anything is carved: the ready blocks, then the pool's. */
  p[victim][9] = 1;
  f = (struct heapguard_finding){ 0 };
  static char *q[N];
  unsigned taken = 0;
  while (taken < N && (q[taken] = heap_alloc(SIZE, HG_GRANULE, HG_KIND_MALLOC, &f)) != NULL)
    assert_true(is_one_of(p, N, q[taken++]));
  assert_true(taken < N);
  assert_int_equal(f.bug_class, HEAPGUARD_USE_AFTER_FREE);
  assert_int_equal(f.block, (uintptr_t)hg_block_of(p[victim]));
  assert_int_equal(f.offset, 9);
  assert_int_equal(f.free_stack, 1000 + victim);
  p[victim][9] = (char)HG_POISON; /* it stays out of use all the same */
  for (unsigned i = 0; i < taken; i++)
    assert_true(hg_heap_free(q[i], HG_KIND_MALLOC, 0, 0, &f));

  /*
   * Blocks too big for the free lists are carved from fresh memory: the
   * pool, holding more than it may keep then, is merged down to half that.
   */
  assert_true(hg_pool_bytes(arena) > HG_POOL_KEPT_BYTES);
  f = (struct heapguard_finding){ 0 };
  static char *big[16];
  unsigned grown = 0;
  while (hg_pool_bytes(arena) > HG_POOL_KEPT_BYTES && grown < 16) {
    big[grown] = heap_alloc(900 << 10, HG_GRANULE, HG_KIND_MALLOC, &f);
    assert_non_null(big[grown++]);
  }
  assert_true(hg_pool_bytes(arena) <= HG_POOL_KEPT_BYTES / 2);
  assert_true(hg_pool_bytes(arena) > 0);
  assert_true(hg_heap_check_all(&f));
  for (unsigned i = 0; i < grown; i++)
    assert_true(hg_heap_free(big[i], HG_KIND_MALLOC, 0, 0, &f));
  assert_true(hg_heap_drain(&f));
  hg_options.quarantine_bytes = 0;
}

/* Frees, in a thread of its own, of blocks too big to recycle. */
struct frees_in_thread {
  size_t bytes;
  bool clean; /* every free passed */
};

static void *free_in_thread(void *arg)
{
  struct frees_in_thread *w = arg;
  struct heapguard_finding f = { 0 };
  w->clean = true;
  for (size_t done = 0; done < w->bytes; done += 2000)
    w->clean = hg_heap_free(heap_alloc(2000, HG_GRANULE, HG_KIND_MALLOC, &f), HG_KIND_MALLOC, 0,
                            0, &f) &&
               w->clean;
  return NULL;
}

static bool frees_in_thread(size_t bytes)
{
  struct frees_in_thread w = { .bytes = bytes };
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, free_in_thread, &w), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
  return w.clean;
}

/* Frees of HG_TCACHE_PENDING blocks from this thread, so that its pending ones are filed. */
static void file_pending_frees(void)
{
  struct heapguard_finding f = { 0 };
  for (unsigned i = 0; i < HG_TCACHE_PENDING; i++)
    assert_true(hg_heap_free(heap_alloc(40, HG_GRANULE, HG_KIND_MALLOC, &f), HG_KIND_MALLOC, 0,
                             0, &f));
}

/* A heap check finds the write at a[offset], which is then undone. */
static void expect_write_after_free_found(char *a, size_t offset)
{
  struct heapguard_finding f = { 0 };
  assert_false(hg_heap_check_all(&f));
  assert_int_equal(f.bug_class, HEAPGUARD_USE_AFTER_FREE);
  assert_int_equal(f.block, (uintptr_t)hg_block_of(a));
  assert_int_equal(f.offset, offset);
  a[offset] = (char)HG_POISON;
}

/*
 * An empty heap with a quarantine of budget bytes, and a 40-byte block
 * in it, freed (then, with file, filed by HG_TCACHE_PENDING frees after
 * it) and written at offset after its free.
 */
static char *freed_then_written(size_t budget, bool file, size_t offset)
{
  struct heapguard_finding f = { 0 };
  assert_true(hg_heap_drain(&f));
  hg_options.quarantine_bytes = budget;
  char *a = heap_alloc(40, HG_GRANULE, HG_KIND_MALLOC, &f);
  assert_true(hg_heap_free(a, HG_KIND_MALLOC, 0, 0, &f));
  if (file)
    file_pending_frees();
  a[offset] = 1;
  return a;
}

/* f is the write at a[offset], found as a left the quarantine; then no quarantine again. */
static void expect_pushed_out_and_found(struct heapguard_finding *f, char *a, size_t offset)
{
  assert_int_equal(f->bug_class, HEAPGUARD_USE_AFTER_FREE);
  assert_int_equal(f->block, (uintptr_t)hg_block_of(a));
  assert_int_equal(f->offset, offset);
  a[offset] = (char)HG_POISON; /* it stays out of use all the same */
  assert_true(hg_heap_drain(f));
  hg_options.quarantine_bytes = 0;
}

/*
 * Each arena has its own quarantine: a thread that frees much pushes out
 * its own blocks and the excess of others, never the share of a thread
 * that freed less. A block main freed, written after its free, is still
 * waiting after another thread freed four times the budget.
 */
static void threads_push_out_their_own_quarantine(void **state)
{
  (void)state;
  struct heapguard_finding f = { 0 };
  char *a = freed_then_written(64 << 10, true, 17);
  assert_true(frees_in_thread(4 * hg_options.quarantine_bytes));
  assert_int_equal(hg_block_of(a)->state, HG_STATE_QUARANTINED);
  expect_write_after_free_found(a, 17);
  assert_true(hg_heap_drain(&f));
  hg_options.quarantine_bytes = 0;
}

/* Frees, in a thread of its own, of blocks main allocated; then what pushes them out. */
struct cross_frees {
  char **blocks;
  unsigned n;
  unsigned pooled; /* of the blocks, found in their own arena's pool */
};

static void *free_others_blocks(void *arg)
{
  struct cross_frees *w = arg;
  struct heapguard_finding f = { 0 };
  for (unsigned i = 0; i < w->n; i++)
    hg_heap_free(w->blocks[i], HG_KIND_MALLOC, 0, 1000 + i, &f);
  for (size_t done = 0; done < 4 * hg_options.quarantine_bytes; done += 2000)
    hg_heap_free(heap_alloc(2000, HG_GRANULE, HG_KIND_MALLOC, &f), HG_KIND_MALLOC, 0, 0, &f);
  for (unsigned i = 0; i < w->n; i++) {
    uint32_t free_stack = 0;
    w->pooled += hg_pool_find(hg_block_of(w->blocks[i]), false, &free_stack) &&
                 free_stack == 1000 + i;
  }
  return NULL;
}

/*
 * Blocks one thread frees for another (a consumer's of a producer's) go,
 * out of the quarantine, to the pool of their own arena, where the
 * producer takes them back: not to the consumer's cache, which would keep
 * them and never reuse them.
 */
static void blocks_freed_by_another_thread_go_home(void **state)
{
  (void)state;
  struct heapguard_finding f = { 0 };
  assert_true(hg_heap_drain(&f));
  hg_options.quarantine_bytes = 64 << 10;
  enum { N = 64 };
  static char *blocks[N];
  for (unsigned i = 0; i < N; i++)
    assert_non_null(blocks[i] = heap_alloc(40, HG_GRANULE, HG_KIND_MALLOC, &f));
  struct cross_frees w = { blocks, N, 0 };
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, free_others_blocks, &w), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_equal(w.pooled, N);
  assert_true(hg_heap_drain(&f));
  hg_options.quarantine_bytes = 0;
}

/*
 * The arenas share quarantine_bytes, but a thread that frees while the
 * others do not keeps all of it: a block waits while up to the whole
 * budget is freed after it, and no longer.
 */
static void a_thread_freeing_alone_keeps_the_whole_quarantine(void **state)
{
  (void)state;
  struct heapguard_finding f = { 0 };
  assert_true(frees_in_thread(2000)); /* a second arena in use, at least */
  char *a = freed_then_written(64 << 10, false, 19);
  /* Blocks of 512 bytes, filed HG_TCACHE_PENDING at a time: the budget takes several filings. */
  size_t freed = 0;
  for (; freed < 3 * hg_options.quarantine_bytes / 4; freed += 512)
    assert_true(hg_heap_free(heap_alloc(512, HG_GRANULE, HG_KIND_MALLOC, &f), HG_KIND_MALLOC,
                             0, 0, &f));
  expect_write_after_free_found(a, 19);

  a[19] = 1;
  f = (struct heapguard_finding){ 0 };
  for (; freed < 2 * hg_options.quarantine_bytes; freed += 512)
    if (!hg_heap_free(heap_alloc(512, HG_GRANULE, HG_KIND_MALLOC, &f), HG_KIND_MALLOC, 0, 0, &f))
      break;
  expect_pushed_out_and_found(&f, a, 19);
}

/*
 * A freed block of 16 KiB or more is filed into the quarantine at once,
 * with the blocks pending before it, so that large blocks never wait
 * outside its budget 32 at a time: a block written after its free is
 * pushed out, and found, by the free that takes the large blocks freed
 * after it over the budget (the fourth of 64 KiB for 256 KiB).
 */
static void large_frees_are_filed_at_once(void **state)
{
  (void)state;
  struct heapguard_finding f = { 0 };
  char *a = freed_then_written(256 << 10, false, 17);
  unsigned clean_frees = 0;
  while (clean_frees < 8 && hg_heap_free(heap_alloc(64 << 10, HG_GRANULE, HG_KIND_MALLOC, &f),
                                         HG_KIND_MALLOC, 0, 0, &f))
    clean_frees++;
  assert_int_equal(clean_frees, 3);
  expect_pushed_out_and_found(&f, a, 17);
}

static void heap_check_walks_free_lists(void **state)
{
  (void)state;
  struct heapguard_finding f = { 0 };
  char *a = heap_alloc(200, HG_GRANULE, HG_KIND_MALLOC, &f);
  char *keep = heap_alloc(200, HG_GRANULE, HG_KIND_MALLOC, &f);
  assert_true(hg_heap_free(a, HG_KIND_MALLOC, 0, 0, &f));
  assert_true(hg_heap_check_all(&f));
  expect_heap_check_finds_link_smashed(a); /* the free block's mangled next link */
  assert_true(hg_heap_free(keep, HG_KIND_MALLOC, 0, 0, &f));
}

static bool kept_names_block(const struct hg_findings *out, const void *data, enum hg_check id)
{
  for (unsigned i = 0; i < out->count; i++)
    if (out->kept[i].block == (uintptr_t)hg_block_of(data) && out->kept[i].check == id)
      return true;
  return false;
}

/* Damaged canaries do not end the walk; a damaged header ends its segment's. */
static void heap_check_keeps_every_damaged_block(void **state)
{
  (void)state;
  struct heapguard_finding f = { 0 };
  char *a = heap_alloc(24, HG_GRANULE, HG_KIND_MALLOC, &f);
  char *b = heap_alloc(40, HG_GRANULE, HG_KIND_MALLOC, &f);
  char *c = heap_alloc(100, HG_GRANULE, HG_KIND_MALLOC, &f);
  a[24] ^= 1;
  c[101] ^= 1;
  struct heapguard_finding kept[8];
  struct hg_findings out;
  hg_findings_start(&out, kept, 8, "test");
  hg_heap_check_each(&out);
  assert_int_equal(out.count, 2);
  assert_true(kept_names_block(&out, a, HG_CHECK_TRAILING_CANARY));
  assert_true(kept_names_block(&out, c, HG_CHECK_TRAILING_CANARY));
  assert_string_equal(kept[1].operation, "test");
  assert_int_equal(kept[1].offset, 101);

  hg_findings_start(&out, kept, 1, "test");
  hg_heap_check_each(&out);
  assert_int_equal(out.count, 1);

  struct hg_block *hb = hg_block_of(b);
  hb->tag ^= 1;
  hg_findings_start(&out, kept, 8, "test");
  hg_heap_check_each(&out);
  assert_true(kept_names_block(&out, b, HG_CHECK_HEADER_TAG));
  hb->tag ^= 1;
  a[24] ^= 1;
  c[101] ^= 1;
  assert_true(hg_heap_check_all(&f));
  assert_true(hg_heap_free(a, HG_KIND_MALLOC, 0, 0, &f));
  assert_true(hg_heap_free(b, HG_KIND_MALLOC, 0, 0, &f));
  assert_true(hg_heap_free(c, HG_KIND_MALLOC, 0, 0, &f));
}

static void random_placement_varies_neighbours(void **state)
{
  (void)state;
  struct heapguard_finding f = { 0 };
  char *p[64];
  int descending = 0;
  hg_options.random_placement = true;
  for (int i = 0; i < 64; i++) {
    p[i] = heap_alloc(48, HG_GRANULE, HG_KIND_MALLOC, &f);
    assert_non_null(p[i]);
    descending += i && p[i] < p[i - 1];
  }
  hg_options.random_placement = false;
  assert_true(descending > 8 && descending < 56);
  assert_true(hg_heap_check_all(&f));
  for (int i = 0; i < 64; i++)
    assert_true(hg_heap_free(p[i], HG_KIND_MALLOC, 0, 0, &f));
  assert_true(hg_heap_check_all(&f));
}

/* The segments of one kind the registry holds. */
struct kind_count {
  unsigned kind;
  size_t n;
};

static void count_kind(struct hg_segment *s, void *arg)
{
  struct kind_count *k = arg;
  if (s->kind == k->kind)
    k->n++;
}

static size_t segments_of_kind(unsigned kind)
{
  struct kind_count k = { kind, 0 };
  hg_segment_for_each(count_kind, &k);
  return k.n;
}

/* ---- zero-size blocks ---- */

/*
 * More zero-size blocks than a segment holds: distinct, in zero segments;
 * once all are freed only one segment stays mapped, and a drain for lack
 * of memory unmaps it too. A freed slot is reused only when it leaves the
 * quarantine.
 */
static void zero_size_blocks_fill_and_leave_segments(void **state)
{
  (void)state;
  enum { MANY = HG_ZERO_SLOTS + 1000 };
  static char *p[MANY];
  struct heapguard_finding f = { 0 };
  for (int i = 0; i < MANY; i++) {
    p[i] = heap_alloc(0, HG_GRANULE, HG_KIND_MALLOC, &f);
    assert_non_null(p[i]);
    assert_true((hg_segment_lookup((uintptr_t)p[i])->kind == HG_SEGMENT_ZERO));
    assert_true(i == 0 || p[i] != p[i - 1]);
  }
  assert_int_equal(segments_of_kind(HG_SEGMENT_ZERO), 2);
  assert_true(hg_heap_check_all(&f));
  for (int i = 0; i < MANY; i++)
    assert_true(hg_heap_free(p[i], HG_KIND_MALLOC, 0, 0, &f));
  assert_int_equal(segments_of_kind(HG_SEGMENT_ZERO), 1);
  assert_false(hg_heap_free(p[MANY - 1], HG_KIND_MALLOC, 0, 0, &f));
  assert_int_equal(f.check, HG_CHECK_ZERO_ALREADY_FREE);

  hg_options.quarantine_bytes = 1;
  char *held = heap_alloc(0, HG_GRANULE, HG_KIND_MALLOC, &f);
  assert_true(hg_heap_free(held, HG_KIND_MALLOC, 0, 0, &f));
  char *next = heap_alloc(0, HG_GRANULE, HG_KIND_MALLOC, &f);
  assert_ptr_not_equal(next, held);
  assert_true(hg_heap_free(next, HG_KIND_MALLOC, 0, 0, &f));
  hg_options.quarantine_bytes = 0;

  assert_true(hg_heap_drain(&f));
  assert_int_equal(segments_of_kind(HG_SEGMENT_ZERO), 0);
}

/* ---- guard mode: these run last, it stays on in this process ---- */

static void enable_guard_mode(void)
{
  if (hg_options.guard_mode == HG_GUARD_ALL)
    return;
  hg_options.guard_mode = HG_GUARD_ALL;
  hg_guard_init();
}

/* Blocks of 60000 bytes get 16-page slots, 60 to a guard segment. */
#define MEDIUM 60000u
#define MEDIUM_BLOCKS 1200

static void free_medium_blocks(void)
{
  static void *p[MEDIUM_BLOCKS];
  struct heapguard_finding f = { 0 };
  for (int i = 0; i < MEDIUM_BLOCKS; i++) {
    p[i] = heap_alloc(MEDIUM, HG_GRANULE, HG_KIND_MALLOC, &f);
    assert_non_null(p[i]);
  }
  assert_true(segments_of_kind(HG_SEGMENT_GUARD) >= 20);
  for (int i = 0; i < MEDIUM_BLOCKS; i++)
    assert_true(hg_heap_free(p[i], HG_KIND_MALLOC, 0, 0, &f));
}

static void guard_segments_left_empty_are_unmapped(void **state)
{
  (void)state;
  enable_guard_mode();
  hg_options.quarantine_bytes = (size_t)MEDIUM * MEDIUM_BLOCKS;
  free_medium_blocks();
  /* Quarantined slots keep their segments mapped. */
  size_t medium_segments = segments_of_kind(HG_SEGMENT_GUARD);
  /*
   * A small working set pushes them out of a smaller quarantine: their
   * segments are left empty, and all but the one kept for reuse are unmapped.
   */
  hg_options.quarantine_bytes = 64 << 10;
  struct hg_segment *small_segments[64];
  size_t small_count = 0;
  struct heapguard_finding f = { 0 };
  for (int i = 0; i < 6000; i++) {
    void *p = heap_alloc(100, HG_GRANULE, HG_KIND_MALLOC, &f);
    assert_non_null(p);
    struct hg_segment *s = hg_segment_lookup((uintptr_t)p);
    assert_true((s->kind == HG_SEGMENT_GUARD));
    size_t k = 0;
    while (k < small_count && small_segments[k] != s)
      k++;
    if (k == small_count) {
      assert_true(small_count < 64);
      small_segments[small_count++] = s;
    }
    assert_true(hg_heap_free(p, HG_KIND_MALLOC, 0, 0, &f));
  }
  assert_true(segments_of_kind(HG_SEGMENT_GUARD) <= small_count + 1);
  assert_true(segments_of_kind(HG_SEGMENT_GUARD) < medium_segments);
  assert_true(hg_heap_check_all(&f));
  hg_options.quarantine_bytes = 0;
}

static void draining_for_oom_unmaps_empty_guard_segments(void **state)
{
  (void)state;
  enable_guard_mode();
  struct heapguard_finding f = { 0 };
  void *keep = heap_alloc(100, HG_GRANULE, HG_KIND_MALLOC, &f);
  struct hg_segment *kept = hg_segment_lookup((uintptr_t)keep);
  assert_true((kept->kind == HG_SEGMENT_GUARD));
  hg_options.quarantine_bytes = (size_t)MEDIUM * MEDIUM_BLOCKS;
  free_medium_blocks();
  /* Everything but the segment of the block in use goes, the cached one too. */
  assert_true(hg_heap_drain(&f));
  assert_int_equal(segments_of_kind(HG_SEGMENT_GUARD), 1);
  assert_ptr_equal(hg_segment_lookup((uintptr_t)keep), kept);
  assert_true(hg_heap_check_all(&f));
  assert_true(hg_heap_free(keep, HG_KIND_MALLOC, 0, 0, &f));
  assert_true(hg_heap_drain(&f));
  assert_int_equal(segments_of_kind(HG_SEGMENT_GUARD), 0);
  hg_options.quarantine_bytes = 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(bins_cover_sizes_in_order),
    cmocka_unit_test(registry_finds_segments_and_nothing_else),
    cmocka_unit_test(every_flipped_segment_byte_is_caught),
    cmocka_unit_test(heap_check_reads_the_top),
    cmocka_unit_test(carves_find_any_change_to_the_top),
    cmocka_unit_test(split_and_coalesce_keep_the_segment_tiled),
    cmocka_unit_test(freed_memory_is_reused),
    cmocka_unit_test(double_free_is_found_without_modifying),
    cmocka_unit_test(kind_mismatch_is_found),
    cmocka_unit_test(resize_in_place_grows_into_free_space),
    cmocka_unit_test(large_blocks_end_at_the_guard_page),
    cmocka_unit_test(interior_pointer_is_diagnosed),
    cmocka_unit_test(quarantine_holds_poisons_and_checks),
    cmocka_unit_test(recycled_blocks_return_at_their_size_checked),
    cmocka_unit_test(ready_blocks_of_old_sizes_make_room),
    cmocka_unit_test(pooled_blocks_are_checked_reused_and_merged_before_fresh_memory),
    cmocka_unit_test(threads_push_out_their_own_quarantine),
    cmocka_unit_test(a_thread_freeing_alone_keeps_the_whole_quarantine),
    cmocka_unit_test(large_frees_are_filed_at_once),
    cmocka_unit_test(blocks_freed_by_another_thread_go_home),
    cmocka_unit_test(random_placement_varies_neighbours),
    cmocka_unit_test(heap_check_walks_free_lists),
    cmocka_unit_test(heap_check_keeps_every_damaged_block),
    cmocka_unit_test(zero_size_blocks_fill_and_leave_segments),
    cmocka_unit_test(guard_segments_left_empty_are_unmapped),
    cmocka_unit_test(draining_for_oom_unmaps_empty_guard_segments),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
