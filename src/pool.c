/*
 * pool.c - the arenas' pools of blocks out of the quarantine, per exact
 * size (pool.h).
 *
 * A pool keeps, per size, a stack of chunks that each hold 42 blocks'
 * addresses and free stacks: 12 bytes a block, where a list linked
 * through records took 16 (bench_churn pooled a million blocks).
 */
#define _GNU_SOURCE
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>

#include "arena.h"
#include "config.h"
#include "os.h"
#include "tcache.h"

#define CHUNK_SLOTS 42u
/*
 * Chunks a pool has at most: enough for HG_POOL_MAX_BYTES of the smallest
 * blocks, and a part-filled chunk for each size (2.1 MiB, touched as they
 * are used).
 */
#define POOL_CHUNKS                                                          \
  (HG_POOL_MAX_BYTES / ((size_t)HG_MIN_BLOCK_GRANULES << HG_GRANULE_SHIFT) / CHUNK_SLOTS + \
   HG_TCACHE_CLASSES)
#define POOL_MAP_BYTES                                                       \
  ((POOL_CHUNKS * sizeof(struct chunk) + HG_PAGE_SIZE - 1) & ~(size_t)(HG_PAGE_SIZE - 1))

struct chunk {
  uint32_t next;  /* index + 1 of the next chunk of its size, or spare; 0 ends */
  uint32_t count; /* slots in use */
  void *item[CHUNK_SLOTS];
  uint32_t free_stack[CHUNK_SLOTS];
};
_Static_assert(sizeof(struct chunk) == 512, "chunks fill their lines");

struct pool {
  pthread_mutex_t lock;
  /* Index + 1 of each size's newest chunk; read without the lock as a hint. */
  uint32_t head[HG_TCACHE_CLASSES];
  uint32_t spare; /* chunks given back */
  uint32_t fresh; /* chunks from here on were never used */
  _Atomic size_t bytes; /* of the blocks pooled */
  struct chunk *chunks; /* mapped at the first block pooled */
} __attribute__((aligned(64)));

/* Initialized statically: a process that pools nothing touches none of it. */
static struct pool pools[HG_MAX_ARENAS] = {
  [0 ... HG_MAX_ARENAS - 1] = { .lock = PTHREAD_MUTEX_INITIALIZER }
};

static struct chunk *chunk_at(struct pool *p, uint32_t index)
{
  return &p->chunks[index - 1];
}

/* A chunk with room at the head of size cls's stack; NULL when the pool is full. */
static struct chunk *room_for(struct pool *p, unsigned cls)
{
  uint32_t i = p->head[cls];
  if (i && chunk_at(p, i)->count < CHUNK_SLOTS)
    return chunk_at(p, i);
  uint32_t n = p->spare;
  if (n)
    p->spare = chunk_at(p, n)->next;
  else if (p->fresh < POOL_CHUNKS)
    n = ++p->fresh;
  else
    return NULL;
  struct chunk *c = chunk_at(p, n);
  c->next = i;
  c->count = 0;
  __atomic_store_n(&p->head[cls], n, __ATOMIC_RELAXED);
  return c;
}

static struct hg_quarantined pop(struct pool *p, unsigned cls)
{
  uint32_t i = p->head[cls];
  struct chunk *c = chunk_at(p, i);
  unsigned k = --c->count;
  struct hg_quarantined e = { c->item[k], c->free_stack[k], HG_MIN_BLOCK_GRANULES + cls };
  if (k == 0) {
    __atomic_store_n(&p->head[cls], c->next, __ATOMIC_RELAXED);
    c->next = p->spare;
    p->spare = i;
  }
  return e;
}

unsigned hg_pool_put(unsigned arena, const struct hg_quarantined *e, unsigned n)
{
  struct pool *p = &pools[arena];
  pthread_mutex_lock(&p->lock);
  if (!p->chunks)
    p->chunks = hg_os_map_fenced(POOL_MAP_BYTES);
  unsigned put = 0;
  size_t held = atomic_load_explicit(&p->bytes, memory_order_relaxed), bytes = 0;
  for (struct chunk *c; put < n && p->chunks; put++) {
    size_t size = (size_t)e[put].granules << HG_GRANULE_SHIFT;
    if (held + bytes + size > HG_POOL_MAX_BYTES ||
        (c = room_for(p, hg_tcache_class(e[put].granules))) == NULL)
      break;
    c->item[c->count] = e[put].item;
    c->free_stack[c->count++] = e[put].free_stack;
    bytes += size;
  }
  atomic_fetch_add_explicit(&p->bytes, bytes, memory_order_relaxed);
  pthread_mutex_unlock(&p->lock);
  return put;
}

/* Up to max blocks of size cls into out, after n already there; with the lock held. */
static unsigned pop_into(struct pool *p, unsigned cls, struct hg_quarantined *out, unsigned n,
                         unsigned max)
{
  for (; n < max && p->head[cls]; n++)
    out[n] = pop(p, cls);
  return n;
}

/* The n blocks popped leave the pool's count of bytes; its lock is released. */
static unsigned release_taken(struct pool *p, const struct hg_quarantined *out, unsigned n)
{
  atomic_fetch_sub_explicit(&p->bytes, hg_quarantined_bytes(out, n), memory_order_relaxed);
  pthread_mutex_unlock(&p->lock);
  return n;
}

unsigned hg_pool_take(unsigned arena, unsigned cls, struct hg_quarantined *out, unsigned max)
{
  struct pool *p = &pools[arena];
  if (!__atomic_load_n(&p->head[cls], __ATOMIC_RELAXED))
    return 0;
  pthread_mutex_lock(&p->lock);
  return release_taken(p, out, pop_into(p, cls, out, 0, max));
}

unsigned hg_pool_take_any(unsigned arena, struct hg_quarantined *out, unsigned max)
{
  struct pool *p = &pools[arena];
  if (!hg_pool_bytes(arena))
    return 0;
  pthread_mutex_lock(&p->lock);
  unsigned n = 0;
  for (unsigned cls = HG_TCACHE_CLASSES; cls-- > 0 && n < max;)
    n = pop_into(p, cls, out, n, max);
  return release_taken(p, out, n);
}

size_t hg_pool_bytes(unsigned arena)
{
  return atomic_load_explicit(&pools[arena].bytes, memory_order_relaxed);
}

/*
 * A report may read a pool whose lock another thread holds (the world
 * stopped by someone else): every index read is a whole word, so each
 * is valid, and the walk of a list being changed is bounded.
 */
static bool find_in(const struct pool *p, const void *block, uint32_t *free_stack)
{
  for (unsigned cls = 0; cls < HG_TCACHE_CLASSES; cls++)
    for (uint32_t i = p->head[cls], steps = 0; i && steps < POOL_CHUNKS;
         i = p->chunks[i - 1].next, steps++)
      for (unsigned k = 0; k < p->chunks[i - 1].count && k < CHUNK_SLOTS; k++)
        if (p->chunks[i - 1].item[k] == block) {
          *free_stack = p->chunks[i - 1].free_stack[k];
          return true;
        }
  return false;
}

bool hg_pool_find(const void *block, bool world_stopped, uint32_t *free_stack)
{
  bool found = false;
  for (unsigned i = 0; !found && i < hg_arena_count(); i++) {
    struct pool *p = &pools[i];
    if (!hg_pool_bytes(i)) {
      continue;
    } else if (world_stopped) {
      found = find_in(p, block, free_stack);
    } else if (pthread_mutex_trylock(&p->lock) == 0) {
      found = find_in(p, block, free_stack);
      pthread_mutex_unlock(&p->lock);
    }
  }
  return found;
}

/* Only the pools of arenas in use: the others' pages stay untouched. */
void hg_pool_lock_all(void)
{
  for (unsigned i = 0; i < hg_arena_count(); i++)
    pthread_mutex_lock(&pools[i].lock);
}

void hg_pool_unlock_all(void)
{
  for (unsigned i = hg_arena_count(); i-- > 0;)
    pthread_mutex_unlock(&pools[i].lock);
}

void hg_pool_fork_child(void)
{
  for (unsigned i = 0; i < hg_arena_count(); i++)
    pthread_mutex_init(&pools[i].lock, NULL);
}
