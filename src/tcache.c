/*
 * tcache.c - per-thread caches, the quarantines of the shared heap (one
 * per arena), and stopping the world for whole-heap walks.
 */
#define _GNU_SOURCE
#include "tcache.h"

#include <pthread.h>
#include <string.h>

#include "arena.h"
#include "check.h"
#include "options.h"
#include "os.h"
#include "pool.h"
#include "runtime.h"

/* Caches are mapped this many at a time and never unmapped: reused. */
#define CACHES_PER_CHUNK 16u
#define CHUNK_BYTES                                                           \
  ((CACHES_PER_CHUNK * sizeof(struct hg_tcache) + HG_PAGE_SIZE - 1) & ~(size_t)(HG_PAGE_SIZE - 1))
/* Blocks taken out of the quarantine at once, in one hold of its lock. */
#define EVICT_BATCH 64u

volatile int hg_tcache_world_stopped;
bool hg_tcache_fence_always;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hg_tcache *live_caches; /* every thread's, under registry_lock */
static struct hg_tcache *spare_caches;             /* given back, to reuse */
static struct hg_tcache *fresh_caches, *fresh_end; /* never used */

static pthread_mutex_t world_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * One quarantine per arena, filed by the threads given that arena: threads
 * of different arenas share neither its lock nor its lines, and the blocks
 * a thread pushes out of it, to reuse, are mostly ones it freed itself.
 * With a single quarantine, two threads reused each other's blocks, and
 * each operation took twice as long (cache lines moving between cores).
 *
 * The shards hold at most quarantine_bytes together (held_bytes): a
 * filing pushes out of its own shard what puts them back under it, but
 * never below the shard's share (quarantine_bytes split among the arenas
 * given to threads so far); beyond that, it takes the excess from another
 * shard. So a thread that frees while the others do not keeps the whole
 * budget, and threads that free alike keep a share each.
 */
struct shard {
  pthread_mutex_t lock;
  struct hg_quarantine q;
} __attribute__((aligned(64)));
/* Initialized statically: a process that frees little touches only its own. */
static HG_LARGE_BSS struct shard shards[HG_MAX_ARENAS] = {
  [0 ... HG_MAX_ARENAS - 1] = { .lock = PTHREAD_MUTEX_INITIALIZER }
};
static size_t held_bytes; /* in all the shards; atomic */
/*
 * The shards stop_world locked: those of the arenas given to threads by
 * then (every live cache's arena is one: caches are made under the
 * registry's lock, which stop_world holds). The others are empty and
 * untouched, and their pages stay so.
 */
static unsigned shards_held;

static pthread_key_t exit_key;
HG_TLS struct hg_tcache *hg_tls_cache;

void hg_tcache_init(void (*on_thread_exit)(void *cache))
{
  pthread_key_create(&exit_key, on_thread_exit);
  hg_tcache_fence_always = !hg_os_membarrier_register();
}

/* ---- the caches ---- */

/*
 * A cache given back by an ended thread, else the next never-used one of
 * the current chunk: a chunk is mapped when the last is used up, and its
 * pages are touched only as its caches are handed out.
 */
static struct hg_tcache *take_spare(void)
{
  struct hg_tcache *c = spare_caches;
  if (c) {
    spare_caches = c->next;
    return c;
  }
  if (fresh_caches == fresh_end) {
    struct hg_tcache *chunk = hg_os_map_fenced(CHUNK_BYTES);
    if (!chunk)
      return NULL;
    fresh_caches = chunk;
    fresh_end = chunk + CACHES_PER_CHUNK;
  }
  return fresh_caches++;
}

static void link_live(struct hg_tcache *c)
{
  c->prev = NULL;
  c->next = live_caches;
  if (live_caches)
    live_caches->prev = c;
  live_caches = c;
}

static void unlink_live(struct hg_tcache *c)
{
  if (c->prev)
    c->prev->next = c->next;
  else
    live_caches = c->next;
  if (c->next)
    c->next->prev = c->prev;
}

struct hg_tcache *hg_tcache_create(void)
{
  pthread_mutex_lock(&registry_lock);
  struct hg_tcache *c = take_spare();
  if (c) {
    /*
     * The fields before the arrays: no entry past a count is ever read,
     * so the arrays' pages this thread never fills stay untouched.
     */
    memset(c, 0, offsetof(struct hg_tcache, pending));
    c->tid = (uint32_t)hg_os_gettid();
    c->arena = hg_arena_index(hg_arena_of_thread());
    link_live(c);
  }
  pthread_mutex_unlock(&registry_lock);
  if (c) {
    hg_tls_cache = c;
    pthread_setspecific(exit_key, c);
  }
  return c;
}

/* ---- leaving the quarantine ---- */

static bool keep_first(bool ok, const struct heapguard_finding *found,
                       struct heapguard_finding *f)
{
  if (!ok && f->bug_class == HEAPGUARD_OK)
    *f = *found;
  return ok;
}

/*
 * A block out of the quarantine: its poison is intact, and (unless a cache
 * keeps it, which checks its header when it hands it out) the half of its
 * header its holders wrote is sound and says quarantined, at the size it
 * was filed with. Its prev link is the arena's, checked when it is merged.
 * A damaged one stays out of use, and f says why.
 */
static bool check_leaving(struct hg_quarantined e, bool header, enum hg_check moment,
                          struct heapguard_finding *f)
{
  const struct hg_segment *s = hg_segment_of_shared(e.item);
  f->segment = (uintptr_t)s;
  f->free_stack = e.free_stack;
  f->alloc_stack = ((const struct hg_block *)e.item)->stack;
  if (header && !hg_check_quarantined(&hg_key, s, e.item, e.granules, f))
    return false;
  return hg_check_poison(e.item, moment, f);
}

static bool poison_intact(struct hg_quarantined e)
{
  size_t capacity = ((size_t)e.granules << HG_GRANULE_SHIFT) - HG_HEADER_SIZE;
  return hg_poison_intact(hg_block_data(e.item), capacity);
}

static bool within_ready_bytes(const struct hg_tcache *c, struct hg_quarantined e)
{
  return c->ready_bytes + ((size_t)e.granules << HG_GRANULE_SHIFT) <= HG_TCACHE_READY_BYTES;
}

/* Merge checked blocks into their arenas, taking each arena's lock once per run. */
static bool merge_all(struct hg_quarantined *list, unsigned n, struct heapguard_finding *f)
{
  bool clean = true;
  for (unsigned i = 0; i < n;) {
    struct hg_segment *s = hg_segment_of_shared(list[i].item);
    struct heapguard_finding found = { .operation = f->operation, .address = f->address };
    struct hg_arena *a = hg_arena_of(s, &found);
    if (!a) {
      clean = keep_first(false, &found, f);
      i++;
      continue;
    }
    hg_arena_lock(a);
    for (; i < n && hg_arena_of(hg_segment_of_shared(list[i].item), &found) == a; i++) {
      found = (struct heapguard_finding){ .operation = f->operation, .address = f->address };
      struct hg_block *b = list[i].item;
      clean = keep_first(hg_arena_merge(a, hg_segment_of_shared(b), b, list[i].free_stack,
                                        &found),
                         &found, f) &&
              clean;
    }
    hg_arena_unlock(a);
  }
  return clean;
}

/* Blocks out of a pool, or refused by one: each checked whole, then merged. */
static bool merge_checked(struct hg_quarantined *list, unsigned n, enum hg_check moment,
                          struct heapguard_finding *f)
{
  bool clean = true;
  unsigned kept = 0;
  for (unsigned i = 0; i < n; i++) {
    struct heapguard_finding found = { .operation = f->operation, .address = f->address };
    if (keep_first(check_leaving(list[i], true, moment, &found), &found, f))
      list[kept++] = list[i];
    else
      clean = false;
  }
  return merge_all(list, kept, f) && clean;
}

/*
 * Blocks whose poison was checked, into the pools of their arenas, a run
 * of one arena at a time; what a full pool refuses is merged.
 */
static bool pool_all(struct hg_quarantined *list, unsigned n, enum hg_check moment,
                     struct heapguard_finding *f)
{
  bool clean = true;
  for (unsigned i = 0; i < n;) {
    struct heapguard_finding found = { .operation = f->operation, .address = f->address };
    struct hg_arena *a = hg_arena_of(hg_segment_of_shared(list[i].item), &found);
    if (!a) {
      clean = keep_first(false, &found, f);
      i++;
      continue;
    }
    unsigned run = 1;
    while (i + run < n && hg_arena_of(hg_segment_of_shared(list[i + run].item), &found) == a)
      run++;
    unsigned pooled = hg_pool_put(hg_arena_index(a), list + i, run);
    clean = merge_checked(list + i + pooled, run - pooled, moment, f) && clean;
    i += run;
  }
  return clean;
}

static bool settle(struct hg_tcache *c, struct hg_quarantined *out, unsigned n,
                   enum hg_check moment, struct heapguard_finding *f);

/*
 * A cache whose ready blocks fill HG_TCACHE_READY_BYTES holds mostly
 * sizes the program no longer asks for (it moved on to other sizes, and
 * their blocks find no room): the older half of every size goes to the
 * pools. Without this, bash's string processing sent a quarter of its
 * allocations and frees through the arenas' splits and merges.
 */
static bool shed_ready(struct hg_tcache *c, struct heapguard_finding *f)
{
  bool clean = true;
  for (unsigned cls = 0; cls < HG_TCACHE_CLASSES; cls++) {
    struct hg_quarantined *ready = c->ready[cls];
    unsigned n = c->ready_count[cls], shed = (n + 1) / 2;
    clean = settle(NULL, ready, shed, HG_CHECK_POISON_LEAVING_CACHE, f) && clean;
    memmove(ready, ready + shed, (n - shed) * sizeof *ready);
    c->ready_count[cls] = n - shed;
    c->ready_bytes -= (size_t)shed * (HG_MIN_BLOCK_GRANULES + cls) << HG_GRANULE_SHIFT;
  }
  return clean;
}

/*
 * Blocks out of the quarantine were freed long ago and their lines have
 * left the caches: asking for the first two lines of each (the header,
 * and the poison after it) before checking any lets the misses overlap.
 */
static void prefetch_blocks(const struct hg_quarantined *out, unsigned n)
{
  for (unsigned i = 0; i < n; i++)
    hg_tcache_prefetch_block(out[i].item);
}

/*
 * Whether cache c may keep e ready: a size it keeps, from c's own arena.
 * A block of another arena (allocated by one of that arena's threads,
 * freed by c's) goes to the pool of its own arena, whose threads take it
 * back: a consumer thread that frees what a producer allocated would keep
 * it ready and never reuse it.
 */
static bool keeps_ready(const struct hg_tcache *c, struct hg_quarantined e, unsigned cls)
{
  return c && cls < HG_TCACHE_CLASSES && hg_segment_of_shared(e.item)->arena == c->arena;
}

/*
 * Blocks out of the quarantine (or out of a cache): each checked, then
 * kept ready by c (when not NULL, it has room, the block is of c's arena,
 * and placement is not random), else pooled when a cache would keep its
 * size, else merged; when
 * c's ready bytes were full, it sheds the older half of every size. A
 * block kept ready or pooled has its poison checked now and its header
 * when it is handed out or merged; a block merged now, both now. A write
 * after free fails the poison check `moment`, which names where the
 * blocks come from.
 */
static bool settle(struct hg_tcache *c, struct hg_quarantined *out, unsigned n,
                   enum hg_check moment, struct heapguard_finding *f)
{
  bool pooling = !hg_options.random_placement;
  if (!pooling)
    c = NULL;
  prefetch_blocks(out, n);
  struct hg_quarantined to_pool[EVICT_BATCH + HG_TCACHE_PENDING];
  struct hg_quarantined to_merge[EVICT_BATCH + HG_TCACHE_PENDING];
  unsigned pooled = 0, merging = 0;
  bool clean = true, full = false;
  for (unsigned i = 0; i < n; i++) {
    unsigned cls = hg_tcache_class(out[i].granules);
    bool cacheable = keeps_ready(c, out[i], cls);
    bool room = cacheable && within_ready_bytes(c, out[i]);
    bool ready = room && c->ready_count[cls] < HG_TCACHE_DEPTH;
    bool pool = !ready && pooling && cls < HG_TCACHE_CLASSES;
    full |= cacheable && !room;
    if (!(ready || pool) || __builtin_expect(!poison_intact(out[i]), 0)) {
      struct heapguard_finding found = { .operation = f->operation, .address = f->address };
      if (!keep_first(check_leaving(out[i], !ready, moment, &found), &found, f)) {
        clean = false;
        continue;
      }
    }
    if (ready) {
      c->ready[cls][c->ready_count[cls]++] = out[i];
      c->ready_bytes += (size_t)out[i].granules << HG_GRANULE_SHIFT;
    } else if (pool) {
      to_pool[pooled++] = out[i];
      if (pooled == sizeof to_pool / sizeof *to_pool) {
        clean = pool_all(to_pool, pooled, moment, f) && clean;
        pooled = 0;
      }
    } else {
      to_merge[merging++] = out[i];
      if (merging == sizeof to_merge / sizeof *to_merge) {
        clean = merge_all(to_merge, merging, f) && clean;
        merging = 0;
      }
    }
  }
  clean = pool_all(to_pool, pooled, moment, f) && clean;
  clean = merge_all(to_merge, merging, f) && clean;
  return full ? shed_ready(c, f) && clean : clean;
}

/*
 * What shard q keeps when the shards hold held bytes together: all it has
 * while that is within quarantine_bytes, else what brings them back
 * within it, but at least its share.
 */
static size_t shard_keeps(const struct shard *q, size_t held)
{
  size_t budget = hg_options.quarantine_bytes;
  size_t over = held > budget ? held - budget : 0;
  size_t keep = q->q.bytes > over ? q->q.bytes - over : 0;
  size_t share = hg_quarantine_budget(hg_arenas_in_use());
  return keep > share ? keep : share;
}

/* With q's lock held: its oldest blocks out into out while it holds more than keep. */
static unsigned evict(struct shard *q, size_t keep, struct hg_quarantined *out, size_t max)
{
  size_t before = q->q.bytes;
  unsigned n = (unsigned)hg_quarantine_pop_over(&q->q, keep, out, max);
  __atomic_sub_fetch(&held_bytes, before - q->q.bytes, __ATOMIC_RELAXED);
  return n;
}

static bool over_budget(void)
{
  return __atomic_load_n(&held_bytes, __ATOMIC_RELAXED) > hg_options.quarantine_bytes;
}

/*
 * The shards hold more than quarantine_bytes while self keeps no more
 * than its share: the excess waits in the shard of threads that free less
 * (or ended). It comes out of the first other shard over its share whose
 * lock is free.
 */
static unsigned evict_elsewhere(const struct shard *self, struct hg_quarantined *out,
                                size_t max)
{
  unsigned n = 0;
  for (unsigned i = 0; n == 0 && i < hg_arenas_in_use() && over_budget(); i++) {
    struct shard *q = &shards[i];
    if (q == self || pthread_mutex_trylock(&q->lock) != 0)
      continue;
    n = evict(q, shard_keeps(q, __atomic_load_n(&held_bytes, __ATOMIC_RELAXED)), out, max);
    pthread_mutex_unlock(&q->lock);
  }
  return n;
}

/*
 * File the pending blocks in shard q, and take out what the shards hold
 * beyond quarantine_bytes, up to EVICT_BATCH at a time. Blocks the ring
 * has no room for come back out at once.
 */
static unsigned file_and_evict(struct shard *q, struct hg_quarantined *pending, unsigned count,
                               struct hg_quarantined *out)
{
  const size_t max = EVICT_BATCH + HG_TCACHE_PENDING;
  pthread_mutex_lock(&q->lock);
  size_t before = q->q.bytes;
  size_t filed = hg_quarantine_push_many(&q->q, pending, count);
  size_t n = count - filed;
  if (n)
    __builtin_memcpy(out, pending + filed, n * sizeof *out);
  size_t held = __atomic_add_fetch(&held_bytes, q->q.bytes - before, __ATOMIC_RELAXED);
  n += evict(q, shard_keeps(q, held), out + n, max - n);
  pthread_mutex_unlock(&q->lock);
  if (n < max && over_budget())
    n += evict_elsewhere(q, out + n, max - n);
  return (unsigned)n;
}

/* c's pending blocks into its arena's shard; what that pushes out, settled. */
static bool file_pending(struct hg_tcache *c, struct hg_tcache *keeper, struct heapguard_finding *f)
{
  struct hg_quarantined out[EVICT_BATCH + HG_TCACHE_PENDING];
  unsigned n = file_and_evict(&shards[c->arena], c->pending, c->pending_count, out);
  c->pending_count = 0;
  return settle(keeper, out, n, HG_CHECK_POISON, f);
}

bool hg_tcache_file(struct hg_tcache *c, struct hg_quarantined e, struct heapguard_finding *f)
{
  c->pending[c->pending_count++] = e;
  if (c->pending_count < HG_TCACHE_PENDING && e.granules < HG_TCACHE_FILE_AT_ONCE_GRANULES)
    return true;
  return file_pending(c, c, f);
}

/* Empty every shard into the arenas, batch by batch. */
static bool drain_quarantine(struct heapguard_finding *f)
{
  bool clean = true;
  struct hg_quarantined out[EVICT_BATCH + HG_TCACHE_PENDING];
  for (unsigned i = 0; i < hg_arenas_in_use(); i++) {
    unsigned n;
    do {
      pthread_mutex_lock(&shards[i].lock);
      n = evict(&shards[i], 0, out, sizeof out / sizeof *out);
      pthread_mutex_unlock(&shards[i].lock);
      clean = settle(NULL, out, n, HG_CHECK_POISON, f) && clean;
    } while (n > 0);
  }
  return clean;
}

/* c's pending blocks into the quarantine, its ready ones back to the arenas. */
static bool release_cache(struct hg_tcache *c, struct heapguard_finding *f)
{
  bool clean = file_pending(c, NULL, f);
  for (unsigned cls = 0; cls < HG_TCACHE_CLASSES; cls++) {
    clean = settle(NULL, c->ready[cls], c->ready_count[cls], HG_CHECK_POISON_LEAVING_CACHE, f) &&
            clean;
    c->ready_count[cls] = 0;
  }
  c->ready_bytes = 0;
  return clean;
}

bool hg_tcache_refill(struct hg_tcache *c, unsigned cls)
{
  unsigned n = hg_pool_take(c->arena, cls, c->ready[cls], HG_TCACHE_PENDING);
  c->ready_count[cls] = n;
  c->ready_bytes += (size_t)n * (HG_MIN_BLOCK_GRANULES + cls) << HG_GRANULE_SHIFT;
  return n != 0;
}

bool hg_tcache_consolidate(unsigned arena, size_t keep, struct heapguard_finding *f)
{
  bool clean = true;
  struct hg_quarantined out[EVICT_BATCH];
  unsigned n;
  while (hg_pool_bytes(arena) > keep && (n = hg_pool_take_any(arena, out, EVICT_BATCH)) > 0)
    clean = merge_checked(out, n, HG_CHECK_POISON_LEAVING_CACHE, f) && clean;
  return clean;
}

bool hg_tcache_drain(struct heapguard_finding *f)
{
  bool clean = true;
  if (hg_tls_cache)
    clean = release_cache(hg_tls_cache, f);
  clean = drain_quarantine(f) && clean;
  for (unsigned i = 0; i < hg_arena_count(); i++)
    clean = hg_tcache_consolidate(i, 0, f) && clean;
  return clean;
}

bool hg_tcache_thread_exit(void *cache, struct heapguard_finding *f)
{
  struct hg_tcache *c = cache;
  bool clean = release_cache(c, f);
  pthread_mutex_lock(&registry_lock);
  unlink_live(c);
  c->next = spare_caches;
  spare_caches = c;
  pthread_mutex_unlock(&registry_lock);
  hg_tls_cache = NULL;
  return clean;
}

/* ---- stopping the world ---- */

void hg_tcache_stop_world(void)
{
  pthread_mutex_lock(&world_lock);
  pthread_mutex_lock(&registry_lock);
  __atomic_store_n(&hg_tcache_world_stopped, 1, __ATOMIC_SEQ_CST);
  /*
   * After this, a thread either has its active flag visible to us or sees
   * the flag we set: membarrier makes every thread pass a full barrier,
   * which the fast paths then need not pay for themselves (without it they
   * fence on every operation, see hg_tcache_enter).
   */
  if (!hg_tcache_fence_always)
    hg_os_membarrier();
  for (struct hg_tcache *c = live_caches; c; c = c->next)
    while (__atomic_load_n(&c->active, __ATOMIC_ACQUIRE) && c != hg_tls_cache)
      hg_os_yield();
  shards_held = hg_arenas_in_use();
  for (unsigned i = 0; i < shards_held; i++)
    pthread_mutex_lock(&shards[i].lock);
}

void hg_tcache_resume_world(void)
{
  for (unsigned i = shards_held; i-- > 0;)
    pthread_mutex_unlock(&shards[i].lock);
  __atomic_store_n(&hg_tcache_world_stopped, 0, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&registry_lock);
  pthread_mutex_unlock(&world_lock);
}

void hg_tcache_wait_world(void)
{
  pthread_mutex_lock(&world_lock);
  pthread_mutex_unlock(&world_lock);
}

/* ---- reports ---- */

static bool find_in(const struct hg_quarantined *list, unsigned n, const void *block,
                    uint32_t *free_stack)
{
  for (unsigned i = 0; i < n; i++)
    if (list[i].item == block) {
      *free_stack = list[i].free_stack;
      return true;
    }
  return false;
}

/* Pending blocks are quarantined, only not filed yet; ready ones have left the quarantine. */
static bool find_in_cache(const struct hg_tcache *c, const void *block, struct hg_waiting *w)
{
  w->in = HG_WAITS_IN_QUARANTINE;
  if (find_in(c->pending, c->pending_count, block, &w->free_stack))
    return true;
  w->in = HG_WAITS_IN_CACHE;
  for (unsigned cls = 0; cls < HG_TCACHE_CLASSES; cls++)
    if (find_in(c->ready[cls], c->ready_count[cls], block, &w->free_stack))
      return true;
  return false;
}

/* A shard can be read while the world is stopped (its lock is held) or when its lock is free. */
static bool find_in_shards(const void *block, bool stopped, uint32_t *free_stack)
{
  bool found = false;
  for (unsigned i = 0; !found && i < hg_arenas_in_use(); i++) {
    if (stopped) {
      found = hg_quarantine_find(&shards[i].q, block, free_stack);
    } else if (pthread_mutex_trylock(&shards[i].lock) == 0) {
      found = hg_quarantine_find(&shards[i].q, block, free_stack);
      pthread_mutex_unlock(&shards[i].lock);
    }
  }
  return found;
}

/*
 * The calling thread's cache can always be read; the others, the shards
 * and the pools only while the world is stopped (by this thread: walks
 * call this), or a shard and a pool when its lock is free.
 */
struct hg_waiting hg_tcache_find(const void *block)
{
  bool stopped = __atomic_load_n(&hg_tcache_world_stopped, __ATOMIC_ACQUIRE);
  struct hg_waiting w;
  if (hg_tls_cache && find_in_cache(hg_tls_cache, block, &w))
    return w;
  for (const struct hg_tcache *c = live_caches; stopped && c; c = c->next)
    if (c != hg_tls_cache && find_in_cache(c, block, &w))
      return w;
  w.in = HG_WAITS_IN_QUARANTINE;
  if (find_in_shards(block, stopped, &w.free_stack))
    return w;
  w.in = HG_WAITS_IN_POOL;
  if (hg_pool_find(block, stopped, &w.free_stack))
    return w;
  return (struct hg_waiting){ 0, HG_WAITS_UNKNOWN };
}

/* ---- fork ---- */

/*
 * The parent forked with the world stopped (hg_heap_lock_all). Only this
 * thread lives on: the other caches, and what they hold, stay out of use.
 */
void hg_tcache_fork_child(void)
{
  for (unsigned i = 0; i < shards_held; i++)
    pthread_mutex_init(&shards[i].lock, NULL);
  pthread_mutex_init(&registry_lock, NULL);
  pthread_mutex_init(&world_lock, NULL);
  hg_tcache_world_stopped = 0;
  live_caches = NULL;
  if (hg_tls_cache) {
    hg_tls_cache->tid = (uint32_t)hg_os_gettid();
    link_live(hg_tls_cache);
  }
}
