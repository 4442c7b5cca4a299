/*
 * stackdepot.c - an append-only hash set of stacks, and the capture that
 * fills it.
 */
#define _GNU_SOURCE
#include "stackdepot.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "config.h"
#include "os.h"
#include "runtime.h"
#include "stackmemo.h"

#define DEPOT_BYTES ((size_t)256 << 20)
/* The first index's slots; each new index has twice as many. */
#define INDEX_FIRST_SLOTS ((size_t)1 << 10)

/*
 * A record: the stack's thread, its shape, and its frames in 4-byte
 * words: each return address as its signed 32-bit difference from the one
 * before when that fits (frames of one module, or of neighbouring
 * libraries), else whole, in two words, as the first one always is; the
 * shape says which. Eight frames of one module take 44 bytes instead of
 * 72, eight that go from the program into the C library and back 52, and
 * the depots of programs with many distinct stacks (half a million in
 * bench_bintree) shrink by as much.
 */
#define RECORD_HEAD_WORDS 2u
#define RECORD_MAX_WORDS (RECORD_HEAD_WORDS + 2u * HG_STACK_FRAMES)
#define SHAPE_FRAMES 0xffu
#define SHAPE_WHOLE_SHIFT 8u /* then a bit a frame: stored whole */

struct record {
  uint32_t tid;
  uint32_t shape; /* frame count, and which frames are whole */
  uint32_t word[];
};

static_assert(HG_STACK_FRAMES <= SHAPE_FRAMES && HG_STACK_FRAMES <= 32u - SHAPE_WHOLE_SHIFT,
              "a shape holds a record's frame count and one bit a frame");

/*
 * The index: open addressing over slots that each hold a record's id and
 * its hash, so that a probe touches only the record it finds. It is never
 * more than three quarters full; when it would be, a twice larger one is
 * filled and published, and the old one stays mapped for the readers
 * still on it, its pages given back: they read as empty slots, and a
 * reader that misses looks again under the lock. Slots are written once,
 * whole, after their record.
 */
struct depot_index {
  size_t mask;
  _Atomic uint64_t slot[]; /* hash << 32 | id; 0 is empty */
};

static char *depot;            /* reserved lazily, never unmapped */
static _Atomic size_t depot_used;
static _Atomic(struct depot_index *) depot_index;
static size_t index_ids;       /* ids in depot_index, under depot_lock */
static pthread_mutex_t depot_lock = PTHREAD_MUTEX_INITIALIZER;
static HG_TLS uint32_t tls_tid;
/* Frames a capture keeps (stack_frames). */
static size_t capture_frames = HG_STACK_FRAMES;
/* The id this thread's last store gave: the record after it is looked at first. */
static HG_TLS uint32_t tls_last_id;

/* Ids are 4-byte word offsets + 1, so 0 means "no stack". */
static struct record *record_of(uint32_t id)
{
  return (struct record *)(depot + (size_t)(id - 1) * 4);
}

static size_t shape_frames(uint32_t shape)
{
  return shape & SHAPE_FRAMES;
}

static bool shape_whole(uint32_t shape, size_t i)
{
  return (shape >> (SHAPE_WHOLE_SHIFT + i)) & 1;
}

/* A shape that some record could have: no bits past its frames, the first frame whole. */
static bool shape_is_sound(uint32_t shape)
{
  size_t n = shape_frames(shape);
  return n <= HG_STACK_FRAMES && (shape >> (SHAPE_WHOLE_SHIFT + n)) == 0 &&
         (n == 0 || shape_whole(shape, 0));
}

/* A word a frame, and one more for each frame stored whole. */
static size_t record_words(uint32_t shape)
{
  return RECORD_HEAD_WORDS + shape_frames(shape) +
         (size_t)__builtin_popcount(shape >> SHAPE_WHOLE_SHIFT);
}

/* A multiplicative hash: its high half depends on every bit of every frame. */
static uint32_t hash_stack(const uintptr_t *ip, size_t n, uint32_t tid)
{
  uint64_t h = 0x9e3779b97f4a7c15ull ^ tid;
  for (size_t i = 0; i < n; i++)
    h = (h + ip[i]) * 0xff51afd7ed558ccdull;
  return (uint32_t)(h >> 32);
}

/* The record of a stack of n <= HG_STACK_FRAMES frames, into r; returns its length in words. */
static size_t encode(uint32_t tid, const uintptr_t *ip, size_t n, struct record *r)
{
  uint32_t shape = (uint32_t)n;
  uint32_t *w = r->word;
  for (size_t i = 0; i < n; i++) {
    int64_t d = i ? (int64_t)(ip[i] - ip[i - 1]) : 0;
    if (i && d == (int32_t)d) {
      *w++ = (uint32_t)d;
    } else {
      shape |= (uint32_t)1 << (SHAPE_WHOLE_SHIFT + i);
      *w++ = (uint32_t)ip[i];
      *w++ = (uint32_t)((uint64_t)ip[i] >> 32);
    }
  }
  r->tid = tid;
  r->shape = shape;
  return (size_t)(w - (uint32_t *)r);
}

/* Frame i of a record, from frame i - 1 (prev) and the words from *w on, which it moves past. */
static uintptr_t next_frame(uint32_t shape, size_t i, uintptr_t prev, const uint32_t **w)
{
  const uint32_t *at = *w;
  if (shape_whole(shape, i)) {
    *w = at + 2;
    return (uintptr_t)((uint64_t)at[0] | (uint64_t)at[1] << 32);
  }
  *w = at + 1;
  return prev + (uintptr_t)(intptr_t)(int32_t)at[0];
}

/* The frames of a record whose shape is sound, into ip; returns how many. */
static size_t decode(const struct record *r, uintptr_t *ip)
{
  size_t n = shape_frames(r->shape);
  const uint32_t *w = r->word;
  for (size_t i = 0; i < n; i++)
    ip[i] = next_frame(r->shape, i, i ? ip[i - 1] : 0, &w);
  return n;
}

/* Whether r is the record of these frames, read as they are stored (no encoding of the query). */
static bool record_matches(const struct record *r, uint32_t tid, const uintptr_t *ip, size_t n)
{
  uint32_t shape = r->shape;
  if (r->tid != tid || shape_frames(shape) != n)
    return false;
  const uint32_t *w = r->word;
  uintptr_t frame = 0;
  for (size_t i = 0; i < n; i++) {
    frame = next_frame(shape, i, frame, &w);
    if (frame != ip[i])
      return false;
  }
  return true;
}

static uint32_t find_in(const struct depot_index *x, uint32_t hash, uint32_t tid,
                        const uintptr_t *ip, size_t n)
{
  for (size_t i = hash & x->mask;; i = (i + 1) & x->mask) {
    uint64_t slot = atomic_load_explicit(&x->slot[i], memory_order_acquire);
    if (slot == 0)
      return 0;
    if (slot >> 32 == hash && record_matches(record_of((uint32_t)slot), tid, ip, n))
      return (uint32_t)slot;
  }
}

static uint32_t find(uint32_t hash, uint32_t tid, const uintptr_t *ip, size_t n)
{
  const struct depot_index *x = atomic_load_explicit(&depot_index, memory_order_acquire);
  return x ? find_in(x, hash, tid, ip, n) : 0;
}

static void put(struct depot_index *x, uint64_t slot)
{
  size_t i = (slot >> 32) & x->mask;
  while (atomic_load_explicit(&x->slot[i], memory_order_relaxed))
    i = (i + 1) & x->mask;
  atomic_store_explicit(&x->slot[i], slot, memory_order_release);
}

static size_t index_bytes(size_t slots)
{
  size_t bytes = sizeof(struct depot_index) + slots * sizeof(uint64_t);
  return (bytes + HG_PAGE_SIZE - 1) & ~(size_t)(HG_PAGE_SIZE - 1);
}

/* Room in the index for one more id, under depot_lock; false when memory ran out. */
static bool index_has_room(void)
{
  struct depot_index *old = atomic_load_explicit(&depot_index, memory_order_relaxed);
  size_t slots = old ? (old->mask + 1) : 0;
  if ((index_ids + 1) * 4 <= slots * 3)
    return true;
  size_t grown = slots ? slots * 2 : INDEX_FIRST_SLOTS;
  struct depot_index *x = hg_os_map_fenced(index_bytes(grown));
  if (!x)
    return false;
  x->mask = grown - 1;
  for (size_t i = 0; i < slots; i++) {
    uint64_t slot = atomic_load_explicit(&old->slot[i], memory_order_relaxed);
    if (slot)
      put(x, slot);
  }
  atomic_store_explicit(&depot_index, x, memory_order_release);
  if (old)
    hg_os_discard(old, index_bytes(slots));
  return true;
}

/* Store the record of these frames if it is new, under the lock: its id, 0 when memory ran out. */
static uint32_t insert(uint32_t hash, uint32_t tid, const uintptr_t *ip, size_t n)
{
  pthread_mutex_lock(&depot_lock);
  uint32_t id = find(hash, tid, ip, n);
  if (!id && !depot)
    depot = hg_os_map_fenced(DEPOT_BYTES);
  size_t used = atomic_load_explicit(&depot_used, memory_order_relaxed);
  if (!id && depot && used + RECORD_MAX_WORDS * 4 <= DEPOT_BYTES && index_has_room()) {
    size_t words = encode(tid, ip, n, (struct record *)(depot + used));
    id = (uint32_t)(used / 4 + 1);
    atomic_store_explicit(&depot_used, used + words * 4, memory_order_release);
    put(atomic_load_explicit(&depot_index, memory_order_relaxed), (uint64_t)hash << 32 | id);
    index_ids++;
  }
  pthread_mutex_unlock(&depot_lock);
  return id;
}

/*
 * The id of the record stored right after last's, if it is this thread's
 * record of these frames; else 0. A program that repeats a run of work (a
 * loop that builds and frees trees of one shape, a compiler's passes over
 * functions alike) captures stacks it stored in that order again, one
 * after the other: the next record is then the answer, read from memory
 * next to the last one's, where an index probe would miss the cache at a
 * random slot (half a million stacks in bench_bintree, 8 MiB of slots).
 * Records are whole before depot_used moves past them.
 */
static uint32_t record_after(uint32_t last, uint32_t tid, const uintptr_t *ip, size_t n)
{
  if (last == 0)
    return 0;
  size_t at = (size_t)(last - 1) * 4 + record_words(record_of(last)->shape) * 4;
  if (at >= atomic_load_explicit(&depot_used, memory_order_acquire))
    return 0;
  uint32_t next = (uint32_t)(at / 4 + 1);
  return record_matches(record_of(next), tid, ip, n) ? next : 0;
}

static uint32_t current_tid(void)
{
  if (__builtin_expect(tls_tid == 0, 0))
    tls_tid = (uint32_t)hg_os_gettid();
  return tls_tid;
}

void hg_stack_set_frames(size_t frames)
{
  capture_frames = frames < HG_STACK_FRAMES ? frames : HG_STACK_FRAMES;
}

uint32_t hg_stack_store(const uintptr_t *ip, size_t n)
{
  n = n < HG_STACK_FRAMES ? n : HG_STACK_FRAMES;
  uint32_t tid = current_tid();
  uint32_t id = record_after(tls_last_id, tid, ip, n);
  if (!id) {
    uint32_t hash = hash_stack(ip, n, tid);
    id = find(hash, tid, ip, n);
    id = id ? id : insert(hash, tid, ip, n);
  }
  if (id)
    tls_last_id = id;
  return id;
}

/* A capture the inline memo could not answer: a variant's answer, or walk, look up or store, remember. */
static uint32_t walk_and_store(struct hg_caller from)
{
  struct hg_memo_plan plan;
  uint32_t id = hg_stack_memo_recall(from, &plan);
  if (id)
    return id;
  uintptr_t ip[HG_STACK_FRAMES];
  struct hg_unwind_trace trace;
  bool remember = plan.entry || plan.variant;
  size_t n = hg_unwind(from, ip, capture_frames, remember ? &trace : NULL);
  id = hg_stack_store(ip, n);
  if (id && remember)
    hg_stack_memo_note(from, id, &trace, &plan);
  return id;
}

uint32_t hg_stack_capture_walked(struct hg_caller from)
{
  bool was_reentered = hg_tls_reentered;
  hg_tls_reentered = true;
  uint32_t id = walk_and_store(from);
  hg_tls_reentered = was_reentered;
  return id;
}

bool hg_stack_get(uint32_t id, uintptr_t ip[HG_STACK_FRAMES], size_t *n, uint32_t *tid)
{
  *n = 0;
  size_t used = atomic_load_explicit(&depot_used, memory_order_acquire);
  size_t at = (size_t)(id - 1) * 4;
  if (id == 0 || at + sizeof(struct record) > used)
    return false;
  const struct record *r = record_of(id);
  if (!shape_is_sound(r->shape) || at + record_words(r->shape) * 4 > used)
    return false;
  *n = decode(r, ip);
  *tid = r->tid;
  return true;
}

void hg_stack_fork_prepare(void)
{
  pthread_mutex_lock(&depot_lock);
}

void hg_stack_fork_parent(void)
{
  pthread_mutex_unlock(&depot_lock);
}

void hg_stack_fork_child(void)
{
  pthread_mutex_init(&depot_lock, NULL);
  tls_tid = 0;
  tls_last_id = 0;
  hg_stack_memo_forget();
}
