/*
 * stackdepot.c - an append-only hash set of stacks.
 */
#define _GNU_SOURCE
#include "stackdepot.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "os.h"
#include "runtime.h"
#include "stackmemo.h"

#define BUCKETS ((size_t)1 << 16)
#define DEPOT_BYTES ((size_t)256 << 20)

struct record {
  uint32_t next;     /* id of the next record in the bucket, 0 ends */
  uint32_t hash;
  uint32_t tid;
  uint32_t frames;
  uintptr_t ip[];
};

static _Atomic uint32_t buckets[BUCKETS];
static char *depot;            /* reserved lazily, never unmapped */
static _Atomic size_t depot_used;
static pthread_mutex_t depot_lock = PTHREAD_MUTEX_INITIALIZER;
static HG_TLS uint32_t tls_tid;

/* Ids are 8-byte word offsets + 1, so 0 means "no stack". */
static struct record *record_of(uint32_t id)
{
  return (struct record *)(depot + (size_t)(id - 1) * 8);
}

static uint32_t hash_stack(const uintptr_t *ip, size_t n, uint32_t tid)
{
  uint64_t h = 0x9e3779b97f4a7c15ull ^ tid;
  for (size_t i = 0; i < n; i++) {
    h ^= ip[i];
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  return (uint32_t)h;
}

static bool record_matches(const struct record *r, uint32_t hash, uint32_t tid,
                           const uintptr_t *ip, size_t n)
{
  if (r->hash != hash || r->tid != tid || r->frames != n)
    return false;
  for (size_t i = 0; i < n; i++)
    if (r->ip[i] != ip[i])
      return false;
  return true;
}

static uint32_t find(uint32_t hash, uint32_t tid, const uintptr_t *ip, size_t n)
{
  uint32_t id = atomic_load_explicit(&buckets[hash % BUCKETS], memory_order_acquire);
  for (; id; id = record_of(id)->next)
    if (record_matches(record_of(id), hash, tid, ip, n))
      return id;
  return 0;
}

static uint32_t insert(uint32_t hash, uint32_t tid, const uintptr_t *ip, size_t n)
{
  size_t bytes = sizeof(struct record) + n * sizeof(uintptr_t);
  uint32_t id = 0;
  pthread_mutex_lock(&depot_lock);
  id = find(hash, tid, ip, n);
  if (!id && !depot)
    depot = hg_os_map_fenced(DEPOT_BYTES);
  size_t used = atomic_load_explicit(&depot_used, memory_order_relaxed);
  if (!id && depot && used + bytes <= DEPOT_BYTES) {
    struct record *r = (struct record *)(depot + used);
    r->hash = hash;
    r->tid = tid;
    r->frames = (uint32_t)n;
    for (size_t i = 0; i < n; i++)
      r->ip[i] = ip[i];
    id = (uint32_t)(used / 8 + 1);
    r->next = atomic_load_explicit(&buckets[hash % BUCKETS], memory_order_relaxed);
    atomic_store_explicit(&depot_used, used + bytes, memory_order_release);
    atomic_store_explicit(&buckets[hash % BUCKETS], id, memory_order_release);
  }
  pthread_mutex_unlock(&depot_lock);
  return id;
}

static uint32_t current_tid(void)
{
  if (__builtin_expect(tls_tid == 0, 0))
    tls_tid = (uint32_t)hg_os_gettid();
  return tls_tid;
}

/* A capture the memo could not answer: walk, look up or store, remember. */
static __attribute__((noinline)) uint32_t capture_walked(struct hg_caller from)
{
  uintptr_t ip[HG_STACK_FRAMES];
  struct hg_unwind_trace trace;
  bool remember = hg_stack_memo_wants(from);
  size_t n = hg_unwind(from, ip, HG_STACK_FRAMES, remember ? &trace : NULL);
  uint32_t tid = current_tid();
  uint32_t hash = hash_stack(ip, n, tid);
  uint32_t id = find(hash, tid, ip, n);
  if (!id)
    id = insert(hash, tid, ip, n);
  if (id && remember)
    hg_stack_memo_note(from, id, &trace);
  return id;
}

uint32_t hg_stack_capture(struct hg_caller from)
{
  uint32_t id = hg_stack_memo_find(from);
  return id ? id : capture_walked(from);
}

const uintptr_t *hg_stack_get(uint32_t id, size_t *n, uint32_t *tid)
{
  *n = 0;
  size_t used = atomic_load_explicit(&depot_used, memory_order_acquire);
  if (id == 0 || (size_t)(id - 1) * 8 + sizeof(struct record) > used)
    return NULL;
  const struct record *r = record_of(id);
  if ((size_t)(id - 1) * 8 + sizeof *r + r->frames * sizeof(uintptr_t) > used ||
      r->frames > HG_STACK_FRAMES)
    return NULL;
  *n = r->frames;
  *tid = r->tid;
  return r->ip;
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
  hg_stack_memo_forget();
}
