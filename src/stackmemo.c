/*
 * stackmemo.c - the per-thread memo of unwound call sites.
 */
#include "stackmemo.h"

#include <stdbool.h>
#include <string.h>

#include "os.h"
#include "runtime.h"
#include "stackdepot.h"

#define MEMO_ENTRIES 32u
/* How far up the stack one return address is searched for. */
#define SLOT_SEARCH_BYTES ((uintptr_t)16 << 10)
/* Times a thread rereads its stack's bounds (the main stack grows). */
#define BOUNDS_READS 4u

struct memo {
  uintptr_t ra;
  uintptr_t sp;
  uint32_t id;
  uint32_t frames;
  uint32_t slot[HG_STACK_FRAMES]; /* where frame i's address lies, from sp */
};

static HG_TLS struct memo tls_memo[MEMO_ENTRIES];
static HG_TLS uintptr_t tls_stack_lo, tls_stack_hi;
static HG_TLS unsigned tls_bounds_reads;

extern void *__libc_stack_end;

static struct memo *memo_for(struct hg_caller from)
{
  uint64_t h = (from.ra ^ from.sp >> 4) * 0x9e3779b97f4a7c15ull;
  return &tls_memo[h >> 59 & (MEMO_ENTRIES - 1)];
}

static uintptr_t word_at(uintptr_t addr)
{
  uintptr_t w;
  memcpy(&w, (const void *)addr, sizeof w);
  return w;
}

uint32_t hg_stack_memo_find(struct hg_caller from)
{
  const struct memo *m = memo_for(from);
  if (m->id == 0 || m->ra != from.ra || m->sp != from.sp)
    return 0;
  size_t n;
  uint32_t tid;
  const uintptr_t *ip = hg_stack_get(m->id, &n, &tid);
  if (!ip || n != m->frames)
    return 0;
  for (size_t i = 1; i < n; i++)
    if (word_at(from.sp + m->slot[i]) != ip[i])
      return 0;
  return m->id;
}

/*
 * The mapping of this thread's own stack: the main thread's holds
 * __libc_stack_end; any other thread's holds its TLS, which glibc places at
 * the top of the thread's stack.
 */
static bool on_own_stack(uintptr_t sp)
{
  if (sp >= tls_stack_lo && sp < tls_stack_hi)
    return true;
  if (tls_bounds_reads >= BOUNDS_READS)
    return false;
  tls_bounds_reads++;
  uintptr_t anchor = hg_os_gettid() == hg_os_getpid() ? (uintptr_t)__libc_stack_end
                                                      : (uintptr_t)&tls_memo;
  uintptr_t lo, hi;
  if (!hg_os_mapping_of(anchor, &lo, &hi))
    return false;
  tls_stack_lo = lo;
  tls_stack_hi = hi;
  return sp >= lo && sp < hi;
}

/* The first word at or above from, within reach, that holds value; or 0. */
static uintptr_t find_slot(uintptr_t from, uintptr_t value)
{
  uintptr_t end = tls_stack_hi - from > SLOT_SEARCH_BYTES ? from + SLOT_SEARCH_BYTES
                                                         : tls_stack_hi;
  for (uintptr_t a = from; a + sizeof(uintptr_t) <= end; a += sizeof(uintptr_t))
    if (word_at(a) == value)
      return a;
  return 0;
}

void hg_stack_memo_note(struct hg_caller from, uint32_t id, const uintptr_t *ip, size_t n)
{
  /* ip[0] must be the caller itself: not so when heapguard called itself. */
  if (n == 0 || n > HG_STACK_FRAMES || ip[0] != from.ra || !on_own_stack(from.sp))
    return;
  struct memo m = { .ra = from.ra, .sp = from.sp, .id = id, .frames = (uint32_t)n };
  uintptr_t at = from.sp;
  for (size_t i = 1; i < n; i++) {
    uintptr_t slot = find_slot(at, ip[i]);
    if (!slot)
      return;
    m.slot[i] = (uint32_t)(slot - from.sp);
    at = slot + sizeof(uintptr_t);
  }
  *memo_for(from) = m;
}

void hg_stack_memo_forget(void)
{
  memset(tls_memo, 0, sizeof tls_memo);
  tls_stack_lo = tls_stack_hi = 0;
  tls_bounds_reads = 0;
}
