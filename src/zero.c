/*
 * zero.c - the zero-size kind: blocks of 0 bytes, each a slot of
 * PROT_NONE memory in a zero segment (layout: zero.h).
 *
 * A slot's life: UNUSED -> USED -> QUARANTINED (queued in the quarantine
 * of quarantine.h) -> FREE (evicted onto its segment's free list) -> USED
 * again. Slots cost address space and 16 bytes of table each, no memory:
 * they weigh nothing against quarantine_bytes, so the quarantine holds the
 * most recent freed slots up to its ring's capacity (65536), and a
 * double free or an access to a slot freed that recently is named as
 * such; quarantine_bytes=0 turns that off, as for every kind. A freed
 * slot keeps its state, stacks and kind until it is reused, so that an
 * access or a second free names where the block was allocated and freed.
 *
 * The slot area is never made accessible (but by fault.c, for a program
 * that goes on after a report with halt_on_error=0), so a segment costs
 * four mappings for its whole life. Segments with a slot to give are
 * linked; one whose slots are all free again is unmapped unless it is the
 * only one, and every such segment is unmapped when memory runs out.
 *
 * Locking: one mutex guards the tables and the quarantine. Whole-heap
 * walks and fork hold it too (hg_heap_lock_all). The fault handler takes
 * no lock: the segment's geometry is fixed (zero.h), so it reads only the
 * slot's own entry.
 */
#define _GNU_SOURCE
#include "zero.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "check.h"
#include "describe.h"
#include "kind.h"
#include "options.h"
#include "os.h"
#include "quarantine.h"
#include "runtime.h"

static pthread_mutex_t zero_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hg_segment *open_segments; /* those with a free or fresh slot */
static struct hg_quarantine quarantine;

/* ---- geometry: fixed, so only a slot's own entry is ever read ---- */

static struct hg_zero_meta *meta_of(const struct hg_segment *s)
{
  return (struct hg_zero_meta *)((char *)s + HG_SEGMENT_META_SIZE);
}

static uintptr_t slot_area(const struct hg_segment *s)
{
  return (uintptr_t)s + HG_ZERO_FIRST_SLOT;
}

static uintptr_t slot_address(const struct hg_segment *s, uint32_t i)
{
  return slot_area(s) + (uintptr_t)i * HG_GRANULE;
}

/* The index of the slot holding addr, or HG_ZERO_SLOTS when it is in none. */
static uint32_t slot_index(const struct hg_segment *s, uintptr_t addr)
{
  if (addr < slot_area(s) || addr >= (uintptr_t)s + HG_ZERO_END)
    return HG_ZERO_SLOTS;
  return (uint32_t)((addr - slot_area(s)) / HG_GRANULE);
}

/* The segment of a slot's table entry: tables open each segment's second page. */
static struct hg_segment *segment_of_entry(const struct hg_zero_slot *slot)
{
  return (struct hg_segment *)(((uintptr_t)slot & ~(uintptr_t)(HG_SEGMENT_SIZE - 1)) +
                               HG_PAGE_SIZE);
}

/* ---- the writable table, bounded before it is followed ---- */

static bool fail_table(const struct hg_segment *s, uint64_t limit, uint64_t found,
                       struct heapguard_finding *f)
{
  f->segment = (uintptr_t)s;
  return hg_fail(f, HG_CHECK_ZERO_TABLE, NULL, limit, found);
}

static bool state_is_known(uint16_t state)
{
  return state <= HG_ZERO_FREE;
}

/* A segment is empty when none of its slots is in use or in the quarantine. */
static bool segment_is_empty(const struct hg_zero_meta *m)
{
  return m->live == 0 && m->held == 0;
}

static bool segment_can_give(const struct hg_zero_meta *m)
{
  return m->free_head != 0 || m->fresh < HG_ZERO_SLOTS;
}

static void link_open(struct hg_segment *s)
{
  struct hg_zero_meta *m = meta_of(s);
  m->prev = NULL;
  m->next = open_segments;
  if (open_segments)
    meta_of(open_segments)->prev = s;
  open_segments = s;
}

static void unlink_open(struct hg_segment *s)
{
  struct hg_zero_meta *m = meta_of(s);
  if (m->prev)
    meta_of(m->prev)->next = m->next;
  else
    open_segments = m->next;
  if (m->next)
    meta_of(m->next)->prev = m->prev;
  m->prev = m->next = NULL;
}

static struct hg_segment *new_segment(void)
{
  struct hg_segment *s =
    hg_segment_create_zero(HG_SEGMENT_SIZE, HG_ZERO_FIRST_SLOT, HG_ZERO_END);
  if (!s)
    return NULL;
  /* The trailing guard page is PROT_NONE already; the slots join it. */
  if (!hg_os_protect_none((void *)slot_area(s), HG_ZERO_END - HG_ZERO_FIRST_SLOT)) {
    hg_segment_destroy(s);
    errno = ENOMEM;
    return NULL;
  }
  link_open(s);
  return s;
}

/* The index of a slot to hand out in s (which can give one), or HG_ZERO_SLOTS. */
static uint32_t take_index(struct hg_segment *s, struct heapguard_finding *f)
{
  struct hg_zero_meta *m = meta_of(s);
  if (m->free_head == 0)
    return m->fresh++;
  uint32_t i = m->free_head - 1;
  struct hg_zero_slot *slot = i < m->fresh ? &m->slots[i] : NULL;
  if (!slot || slot->next > m->fresh ||
      atomic_load_explicit(&slot->state, memory_order_relaxed) != HG_ZERO_FREE) {
    fail_table(s, m->fresh, m->free_head, f);
    return HG_ZERO_SLOTS;
  }
  m->free_head = slot->next;
  slot->next = 0;
  return i;
}

static void *alloc_locked(uint16_t kind, uint32_t stack, struct heapguard_finding *f)
{
  struct hg_segment *s = open_segments ? open_segments : new_segment();
  if (!s)
    return NULL;
  struct hg_zero_meta *m = meta_of(s);
  if (m->fresh > HG_ZERO_SLOTS || m->free_head > HG_ZERO_SLOTS) {
    fail_table(s, HG_ZERO_SLOTS, m->fresh > HG_ZERO_SLOTS ? m->fresh : m->free_head, f);
    return NULL;
  }
  uint32_t i = take_index(s, f);
  if (i == HG_ZERO_SLOTS)
    return NULL;
  struct hg_zero_slot *slot = &m->slots[i];
  slot->alloc_stack = stack;
  slot->free_stack = 0;
  slot->kind = kind;
  atomic_store_explicit(&slot->state, HG_ZERO_USED, memory_order_release);
  m->live++;
  if (!segment_can_give(m))
    unlink_open(s);
  return (void *)slot_address(s, i);
}

static void *zero_alloc(size_t request, size_t alignment, uint16_t kind, uint32_t stack,
                        bool *zeroed, struct heapguard_finding *f)
{
  (void)request;
  (void)alignment;
  pthread_mutex_lock(&zero_lock);
  void *p = alloc_locked(kind, stack, f);
  pthread_mutex_unlock(&zero_lock);
  *zeroed = true; /* there is nothing to zero */
  return p;
}

/* ---- release ---- */

/* A freed slot becomes free to reuse; a segment left empty goes unless it is the last. */
static void give_back(struct hg_segment *s, struct hg_zero_slot *slot)
{
  struct hg_zero_meta *m = meta_of(s);
  if (!segment_can_give(m))
    link_open(s);
  atomic_store_explicit(&slot->state, HG_ZERO_FREE, memory_order_release);
  slot->next = m->free_head;
  m->free_head = (uint32_t)(slot - m->slots) + 1;
  if (segment_is_empty(m) && (m->prev || m->next)) {
    unlink_open(s);
    hg_segment_destroy(s);
  }
}

static void evict_oldest(void)
{
  struct hg_zero_slot *slot = hg_quarantine_pop(&quarantine).item;
  struct hg_segment *s = segment_of_entry(slot);
  meta_of(s)->held--;
  give_back(s, slot);
}

static void retire(struct hg_segment *s, struct hg_zero_slot *slot, uint32_t free_stack)
{
  struct hg_zero_meta *m = meta_of(s);
  slot->free_stack = free_stack;
  m->live--;
  struct hg_quarantined e = { slot, free_stack, 0 };
  if (!hg_options.quarantine_bytes || !hg_quarantine_push(&quarantine, e)) {
    give_back(s, slot);
    return;
  }
  atomic_store_explicit(&slot->state, HG_ZERO_QUARANTINED, memory_order_release);
  m->held++;
  /* Slots weigh no bytes: the ring's capacity is what pushes them out. */
  while (hg_quarantine_over(&quarantine, hg_quarantine_budget(1)))
    evict_oldest();
}

/*
 * After taking zero_lock: the used slot whose pointer is p, in segment s
 * (which may have been unmapped since the caller looked it up); otherwise
 * f says what p is.
 */
static struct hg_zero_slot *live_slot(struct hg_segment *s, const void *p,
                                      struct heapguard_finding *f)
{
  if (hg_segment_lookup((uintptr_t)p) != s) {
    f->segment = 0;
    hg_fail(f, HG_CHECK_NOT_OURS, NULL, 0, (uintptr_t)p);
    return NULL;
  }
  f->segment = (uintptr_t)s;
  struct hg_zero_meta *m = meta_of(s);
  uint32_t i = slot_index(s, (uintptr_t)p);
  struct hg_zero_slot *slot = i < m->fresh && i < HG_ZERO_SLOTS ? &m->slots[i] : NULL;
  uint16_t state = slot ? atomic_load_explicit(&slot->state, memory_order_relaxed)
                        : HG_ZERO_UNUSED;
  if (state == HG_ZERO_UNUSED || !state_is_known(state)) {
    hg_fail(f, HG_CHECK_ZERO_OUTSIDE_SLOTS, NULL, 0, (uintptr_t)p);
    return NULL;
  }
  f->offset = (intptr_t)((uintptr_t)p - slot_address(s, i));
  f->alloc_stack = slot->alloc_stack;
  f->free_stack = state == HG_ZERO_USED ? 0 : slot->free_stack;
  if (state == HG_ZERO_USED && f->offset == 0)
    return slot;
  if (f->offset != 0)
    hg_fail(f, HG_CHECK_ZERO_INTERIOR, NULL, 0, (uint64_t)f->offset);
  else
    hg_fail(f, HG_CHECK_ZERO_ALREADY_FREE, NULL, HG_ZERO_USED, state);
  return NULL;
}

static bool zero_free(struct hg_segment *s, void *p, uint16_t kind, size_t size,
                      uint32_t free_stack, struct heapguard_finding *f)
{
  pthread_mutex_lock(&zero_lock);
  struct hg_zero_slot *slot = live_slot(s, p, f);
  bool ok = slot && hg_check_kind(NULL, slot->kind, 0, kind, size, f);
  if (ok)
    retire(s, slot, free_stack);
  pthread_mutex_unlock(&zero_lock);
  return ok;
}

static bool zero_inspect(struct hg_segment *s, const void *p, struct hg_block_info *info,
                         struct heapguard_finding *f)
{
  pthread_mutex_lock(&zero_lock);
  struct hg_zero_slot *slot = live_slot(s, p, f);
  if (slot)
    *info = (struct hg_block_info){ 0, slot->kind, slot->alloc_stack };
  pthread_mutex_unlock(&zero_lock);
  return slot != NULL;
}

/* A zero-size block is never resized in place: it has no memory to grow. */
static bool zero_resize(struct hg_segment *s, void *p, size_t request, size_t *old_request,
                        struct heapguard_finding *f)
{
  (void)request;
  struct hg_block_info info;
  if (zero_inspect(s, p, &info, f))
    *old_request = 0;
  return false;
}

/* ---- whole-heap walks, under hg_heap_lock_all ---- */

static bool check_slot_table(const struct hg_segment *s, struct heapguard_finding *f)
{
  const struct hg_zero_meta *m = meta_of(s);
  if (m->fresh > HG_ZERO_SLOTS || m->free_head > m->fresh)
    return fail_table(s, HG_ZERO_SLOTS, m->fresh, f);
  uint32_t live = 0, held = 0;
  for (uint32_t i = 0; i < m->fresh; i++) {
    uint16_t state = atomic_load_explicit(&m->slots[i].state, memory_order_relaxed);
    if (!state_is_known(state) || m->slots[i].next > m->fresh)
      return fail_table(s, HG_ZERO_FREE, state, f);
    live += state == HG_ZERO_USED;
    held += state == HG_ZERO_QUARANTINED;
  }
  if (live != m->live || held != m->held)
    return fail_table(s, m->live, live, f);
  return true;
}

static void zero_check(const struct hg_segment *s, struct hg_findings *out)
{
  if (!check_slot_table(s, hg_findings_next(out)))
    hg_findings_keep(out);
}

static void zero_visit(const struct hg_segment *s, hg_live_visitor fn, void *arg)
{
  const struct hg_zero_meta *m = meta_of(s);
  uint32_t fresh = m->fresh < HG_ZERO_SLOTS ? m->fresh : HG_ZERO_SLOTS;
  for (uint32_t i = 0; i < fresh; i++)
    if (atomic_load_explicit(&m->slots[i].state, memory_order_relaxed) == HG_ZERO_USED)
      fn(slot_address(s, i), 0, m->slots[i].alloc_stack, arg);
}

/* Slots by state: four mappings, whatever they hold (see the top). */
static void zero_count(const struct hg_segment *s, struct hg_heap_counts *c)
{
  struct heapguard_finding f = { 0 };
  c->segments++;
  c->mapped += s->map_size;
  c->mappings += HG_SEGMENT_MAPPINGS;
  if (!check_slot_table(s, &f))
    return;
  const struct hg_zero_meta *m = meta_of(s);
  c->used_blocks += m->live;
  c->quarantined_blocks += m->held;
}

/* ---- faults and reports ---- */

/*
 * Any access to the slot area is a bad one: to a block in use, to a freed
 * one, or to a slot never handed out. Async-signal-safe: one entry read.
 */
static bool zero_fault(const struct hg_segment *s, uintptr_t addr,
                       struct heapguard_finding *f)
{
  uint32_t i = slot_index(s, addr);
  if (i == HG_ZERO_SLOTS)
    return hg_fail(f, HG_CHECK_SEGMENT_GUARD_PAGE, NULL, 0, addr), true;
  const struct hg_zero_slot *slot = &meta_of(s)->slots[i];
  uint16_t state = atomic_load_explicit(&slot->state, memory_order_acquire);
  f->offset = (intptr_t)(addr - slot_address(s, i));
  if (state == HG_ZERO_USED) {
    f->alloc_stack = slot->alloc_stack;
    return hg_fail(f, HG_CHECK_ZERO_ACCESS, NULL, 0, addr), true;
  }
  if (state == HG_ZERO_QUARANTINED || state == HG_ZERO_FREE) {
    f->alloc_stack = slot->alloc_stack;
    f->free_stack = slot->free_stack;
    return hg_fail(f, HG_CHECK_ZERO_FREED, NULL, 0, addr), true;
  }
  f->offset = 0;
  return hg_fail(f, HG_CHECK_ZERO_WILD, NULL, 0, addr), true;
}

/* Whether a finding of this check is about one slot, at address - offset. */
static bool names_a_slot(uint32_t check)
{
  return check == HG_CHECK_ZERO_ACCESS || check == HG_CHECK_ZERO_FREED ||
         check == HG_CHECK_ZERO_ALREADY_FREE || check == HG_CHECK_ZERO_INTERIOR ||
         check == HG_CHECK_ALLOC_KIND || check == HG_CHECK_SIZED_DELETE;
}

/* "zero-size block X (the address is N bytes past it): 0 bytes requested with ..." */
static void describe_slot(struct hg_buf *out, const struct hg_segment *s,
                          const struct heapguard_finding *f)
{
  uintptr_t p = f->address - (uintptr_t)f->offset;
  uint32_t i = slot_index(s, p);
  if (i == HG_ZERO_SLOTS)
    return;
  const struct hg_zero_slot *slot = &meta_of(s)->slots[i];
  uint16_t state = atomic_load_explicit(&slot->state, memory_order_acquire);
  hg_buf_str(out, "  zero-size block ");
  hg_buf_hex(out, p);
  if (f->offset) {
    hg_buf_str(out, " (the address is ");
    hg_buf_dec(out, (uint64_t)f->offset);
    hg_buf_str(out, f->offset == 1 ? " byte past it)" : " bytes past it)");
  }
  hg_buf_str(out, ": 0 bytes requested with ");
  hg_buf_str(out, hg_alloc_kind_name(slot->kind));
  hg_buf_str(out, state == HG_ZERO_USED ? ", in use" : ", freed");
  hg_buf_str(out, ", in slot ");
  hg_buf_dec(out, i);
  hg_buf_str(out, " of its segment\n");
}

static void zero_describe(struct hg_buf *out, const struct heapguard_finding *f)
{
  const struct hg_segment *s = (const struct hg_segment *)f->segment;
  if (names_a_slot(f->check))
    describe_slot(out, s, f);
  hg_describe_segment(out, s, " zero-size block in use", " zero-size blocks in use",
                      meta_of(s)->live);
}

/* ---- memory pressure, locks, fork ---- */

/* Memory is running out: the quarantine goes, and every empty segment with it. */
static bool zero_drain(struct heapguard_finding *f)
{
  (void)f;
  pthread_mutex_lock(&zero_lock);
  while (quarantine.count)
    evict_oldest();
  struct hg_segment *next;
  for (struct hg_segment *s = open_segments; s; s = next) {
    next = meta_of(s)->next;
    if (segment_is_empty(meta_of(s))) {
      unlink_open(s);
      hg_segment_destroy(s);
    }
  }
  pthread_mutex_unlock(&zero_lock);
  return true;
}

static void zero_lock_all(void)
{
  pthread_mutex_lock(&zero_lock);
}

static void zero_unlock_all(void)
{
  pthread_mutex_unlock(&zero_lock);
}

static void zero_fork_child(void)
{
  pthread_mutex_init(&zero_lock, NULL);
}

const struct hg_kind_ops hg_zero_ops = {
  .alloc = zero_alloc,
  .free = zero_free,
  .inspect = zero_inspect,
  .resize = zero_resize,
  .check = zero_check,
  .visit = zero_visit,
  .count = zero_count,
  .describe = zero_describe,
  .fault = zero_fault,
  .drain = zero_drain,
  .lock_all = zero_lock_all,
  .unlock_all = zero_unlock_all,
  .fork_child = zero_fork_child,
};
