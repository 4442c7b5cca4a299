/*
 * guard.c - guard-page mode: guard segments and their slots, the
 * quarantine of freed slots, the mapping budget, sampling, and the
 * SIGSEGV/SIGBUS handler that turns a fault on guarded memory into a report.
 *
 * A guard segment is one registered mapping (owner HG_OWNER_GUARD), aligned
 * to HG_SEGMENT_SIZE like every segment:
 *
 *   [guard page][hg_segment | guard_meta | slot table ...][fence page]
 *   [slot 0 data pages][guard page][slot 1 data pages][guard page] ...
 *
 * so every slot's data pages have a PROT_NONE page on both sides. The
 * segments of a class hold slots of 1, 2, 4, ... 256 data pages (as many as
 * fit in HG_SEGMENT_SIZE); a request needing more pages gets a dedicated
 * segment with one slot. With guard_underflow=0 a block is placed at the
 * end of its slot's data pages, aligned as requested: with malloc's 16-byte
 * alignment up to 15 bytes of slack may lie between its end and the guard
 * page, and the trailing canary (the keyed pattern of block.c, up to 64
 * bytes) covers them byte-precisely, checked at free, realloc,
 * malloc_usable_size and heap checks. With guard_underflow=1 the block
 * starts at its first data page, right after the guard page before it.
 * (A 0-byte block is placed as a 1-byte one: its pointer stays inside its
 * slot, where free() and the registry expect it.)
 *
 * Metadata is out of band: the slot table (state, requested size, data
 * offset, kind) sits in the segment's first pages, never next to user data.
 * A freed slot is PROT_NONE, so an in-band header could not be read at a
 * double free, nor by the fault handler; the table can. The hg_segment
 * header is sealed once at creation and never changes afterwards (its
 * used_blocks stays 0; the table counts live slots), so the fault handler
 * can verify it with no lock held.
 *
 * A slot's life: UNUSED -> USED (data pages made read-write) -> QUARANTINED
 * (made PROT_NONE, its pages discarded, queued in a FIFO of at most
 * QUARANTINE_SLOTS slots and QUARANTINE_BYTES bytes) -> FREE (evicted from
 * the FIFO onto its segment's free list; a dedicated segment is unmapped
 * instead) -> USED again. A freed slot keeps its last block's size and
 * offset, so that an access to it is named a use after free at the right
 * offset until the slot is reused or its segment unmapped. Reused memory
 * was discarded: guarded blocks always start zeroed.
 *
 * A segment whose slots are all free (none in use or quarantined) is
 * empty: EMPTY_SEGMENTS_KEPT of them per class stay mapped for reuse, the
 * others are unmapped at once, and when memory runs out
 * (hg_guard_drain_quarantine) the quarantine is emptied and every empty
 * segment unmapped, so that the address space they held can be used again.
 *
 * Mapping budget: a segment costs at most 3 VMAs (leading guard page,
 * read-write metadata, the PROT_NONE rest) and each live slot at most 2
 * more (its read-write pages split the PROT_NONE area; a freed slot merges
 * back). Guard mode counts them and stops guarding new allocations, with
 * one warning, when the count would pass half of vm.max_map_count (read at
 * start-up), leaving the other half to the program and the normal heap; it
 * guards again once frees bring the count back down. A refused mprotect
 * (the kernel's own limit) has the same effect.
 *
 * Locking: one mutex guards all of this state. Whole-heap walks and fork
 * hold it too (hg_heap_lock_all), so a segment they visit is not unmapped
 * under them. The fault handler takes no lock: it reads the registry
 * (lock-free) and the slot table.
 */
#define _GNU_SOURCE
#include "guard.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <ucontext.h>

#include "backtrace.h"
#include "check.h"
#include "options.h"
#include "os.h"
#include "report.h"
#include "runtime.h"
#include "segment.h"

enum slot_state {
  SLOT_UNUSED = 0,
  SLOT_USED = 1,
  SLOT_QUARANTINED = 2,
  SLOT_FREE = 3,
};

struct guard_slot {
  struct guard_slot *next; /* its segment's free list */
  uint64_t requested;      /* of the block in it, or of the last one */
  uint64_t alignment;
  uint32_t data_off;       /* block data, from the slot's first data page */
  _Atomic uint16_t state;
  uint16_t kind;
  uint32_t alloc_stack;    /* stack-depot ids, 0 when unknown */
  uint32_t free_stack;
};

struct guard_meta {
  uint32_t slot_pages;  /* data pages per slot; a guard page follows them */
  uint32_t slot_count;
  uint32_t live;
  uint32_t class_index; /* CLASS_COUNT for a dedicated segment */
  uint32_t free_count;  /* slots on free_slots; all of them: the segment is empty */
  struct guard_slot *free_slots;
  struct hg_segment *prev, *next; /* in its class's list of open segments */
  struct guard_slot slots[];
};

#define PAGE ((size_t)HG_PAGE_SIZE)
#define CLASS_COUNT 9u /* 1, 2, 4, ... 256 data pages */
#define DEDICATED CLASS_COUNT
/*
 * Empty segments of a class kept mapped, so that a program freeing and
 * allocating around a segment boundary does not map and unmap one each
 * time; the rest are unmapped, and these too when memory runs out.
 */
#define EMPTY_SEGMENTS_KEPT 1u
#define QUARANTINE_SLOTS 4096u
#define QUARANTINE_BYTES ((uint64_t)256 << 20)
#define TAIL_CHECKED 64u

bool hg_guard_enabled;

static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hg_segment *open_segments[CLASS_COUNT]; /* those with a free slot */
static unsigned empty_segments[CLASS_COUNT];          /* open ones with no slot taken */
static struct guard_slot *quarantine[QUARANTINE_SLOTS];
static unsigned quarantine_head, quarantine_count;
static uint64_t quarantine_bytes;
static _Atomic uint64_t vmas; /* mappings guard mode has created, estimated high */
static uint64_t max_maps, vma_budget;
static _Atomic bool budget_warned;
static struct sigaction previous_segv, previous_bus;

static HG_TLS uint64_t sample_countdown;
static HG_TLS uint64_t sample_rng;

/* The `what` of every finding guard.c makes, recognised by address. */
static const char WHAT_GUARD_PAGE[] = "access to a guard page";
static const char WHAT_FREED[] = "access to a freed guarded block";
static const char WHAT_WILD[] = "access to a guard segment outside every block";
static const char WHAT_CANARY[] = "trailing canary of a guarded block";
static const char WHAT_LEAD[] = "leading canary of a guarded block";
static const char WHAT_DOUBLE_FREE[] = "guarded block already freed";
static const char WHAT_INTERIOR[] = "pointer into the middle of a guarded block";
static const char WHAT_INTO_FREED[] = "pointer into a freed guarded block";
static const char WHAT_NO_BLOCK[] = "pointer into a guard segment outside every block";
static const char WHAT_TABLE[] = "guard slot table";

/* ---- geometry ---- */

static struct guard_meta *meta_of(const struct hg_segment *s)
{
  return (struct guard_meta *)((char *)s + HG_SEGMENT_META_SIZE);
}

static size_t slot_stride(const struct guard_meta *m)
{
  return ((size_t)m->slot_pages + 1) * PAGE;
}

static char *slot_area(const struct hg_segment *s)
{
  return (char *)s + s->first_block;
}

static size_t slot_index(const struct guard_meta *m, const struct guard_slot *slot)
{
  return (size_t)(slot - m->slots);
}

static char *slot_base(const struct hg_segment *s, const struct guard_meta *m,
                       const struct guard_slot *slot)
{
  return slot_area(s) + slot_index(m, slot) * slot_stride(m);
}

static char *slot_data(const struct hg_segment *s, const struct guard_meta *m,
                       const struct guard_slot *slot)
{
  return slot_base(s, m, slot) + slot->data_off;
}

/* The slot table is in the segment's first chunk, like the header. */
static struct hg_segment *segment_of_slot(const struct guard_slot *slot)
{
  return (struct hg_segment *)(((uintptr_t)slot & ~(uintptr_t)(HG_SEGMENT_SIZE - 1)) +
                               PAGE);
}

static size_t table_pages(size_t slots)
{
  size_t bytes = HG_SEGMENT_META_SIZE + sizeof(struct guard_meta) +
                 slots * sizeof(struct guard_slot);
  return (bytes + PAGE - 1) / PAGE;
}

/*
 * The slot table lives in writable memory that a wild write could reach:
 * bound it by the (checksummed) segment header before following it.
 */
static bool table_is_sane(const struct hg_segment *s, const struct guard_meta *m)
{
  return m->slot_pages >= 1 && m->slot_count >= 1 &&
         s->first_block >= table_pages(m->slot_count) * PAGE &&
         (uint64_t)s->first_block + (uint64_t)m->slot_count * slot_stride(m) <=
           s->map_size - PAGE;
}

/* The slot whose data pages or following guard page hold addr, if any. */
static struct guard_slot *slot_holding(const struct hg_segment *s,
                                       struct guard_meta *m, uintptr_t addr,
                                       bool *in_guard)
{
  uintptr_t area = (uintptr_t)slot_area(s);
  if (addr < area)
    return NULL;
  size_t i = (addr - area) / slot_stride(m);
  if (i >= m->slot_count)
    return NULL;
  *in_guard = (addr - area) % slot_stride(m) >= (size_t)m->slot_pages * PAGE;
  return &m->slots[i];
}

static unsigned class_for(size_t pages)
{
  unsigned c = 0;
  while (c < CLASS_COUNT && ((size_t)1 << c) < pages)
    c++;
  return c;
}

static uint32_t slots_per_segment(uint32_t pages)
{
  size_t total = HG_SEGMENT_SIZE / PAGE;
  size_t n = (total - 3) / (pages + 1);
  while (n > 1 && 2 + table_pages(n) + n * (pages + 1) > total)
    n--;
  return (uint32_t)n;
}

/* ---- the mapping budget ---- */

static void warn_budget(void)
{
  if (atomic_exchange(&budget_warned, true))
    return;
  char text[160];
  struct hg_buf b = HG_BUF(text);
  hg_buf_str(&b, "heapguard: guard mode: mapping budget low (");
  hg_buf_dec(&b, atomic_load(&vmas));
  hg_buf_str(&b, " of ");
  hg_buf_dec(&b, max_maps);
  hg_buf_str(&b, "), new allocations are no longer guarded\n");
  hg_os_write_all(2, b.p, b.len);
}

static bool budget_allows(uint64_t more)
{
  return atomic_load_explicit(&vmas, memory_order_relaxed) + more <= vma_budget;
}

/* ---- segments and slots (under guard_lock) ---- */

/*
 * A segment of a class is open while it has a free slot: the open ones are
 * linked in open_segments[class], and slots are taken from the first.
 */
static void link_open(struct hg_segment *s)
{
  struct guard_meta *m = meta_of(s);
  struct hg_segment **head = &open_segments[m->class_index];
  m->prev = NULL;
  m->next = *head;
  if (*head)
    meta_of(*head)->prev = s;
  *head = s;
}

static void unlink_open(struct hg_segment *s)
{
  struct guard_meta *m = meta_of(s);
  if (m->prev)
    meta_of(m->prev)->next = m->next;
  else
    open_segments[m->class_index] = m->next;
  if (m->next)
    meta_of(m->next)->prev = m->prev;
  m->prev = m->next = NULL;
}

static bool segment_is_empty(const struct guard_meta *m)
{
  return m->free_count == m->slot_count;
}

static void push_free(struct hg_segment *s, struct guard_slot *slot)
{
  struct guard_meta *m = meta_of(s);
  if (!m->free_slots)
    link_open(s);
  slot->next = m->free_slots;
  m->free_slots = slot;
  m->free_count++;
}

static struct guard_slot *pop_free(struct hg_segment *s)
{
  struct guard_meta *m = meta_of(s);
  if (segment_is_empty(m))
    empty_segments[m->class_index]--;
  struct guard_slot *slot = m->free_slots;
  m->free_slots = slot->next;
  m->free_count--;
  slot->next = NULL;
  if (!m->free_slots)
    unlink_open(s);
  return slot;
}

static struct hg_segment *new_segment(uint32_t pages, uint32_t slots, unsigned c)
{
  size_t table = table_pages(slots);
  size_t map_size = (2 + table + (size_t)slots * (pages + 1)) * PAGE;
  if (map_size - 2 * PAGE > UINT32_MAX)
    return NULL;
  struct hg_segment *s = hg_segment_create_guard(
    map_size, (uint32_t)((table + 1) * PAGE), (uint32_t)(map_size - 2 * PAGE));
  if (!s)
    return NULL;
  /* The fence page and every slot start inaccessible. */
  if (!hg_os_protect_none((char *)s + table * PAGE, map_size - (table + 2) * PAGE)) {
    hg_segment_destroy(s);
    return NULL;
  }
  atomic_fetch_add(&vmas, 3);
  struct guard_meta *m = meta_of(s);
  m->slot_pages = pages;
  m->slot_count = slots;
  m->class_index = c;
  if (c != DEDICATED) {
    for (uint32_t i = slots; i-- > 0;)
      push_free(s, &m->slots[i]);
    empty_segments[c]++;
  }
  return s;
}

/* Whole-heap walks hold guard_lock (hg_heap_lock_all): none is reading s. */
static void destroy_segment(struct hg_segment *s)
{
  hg_segment_destroy(s);
  atomic_fetch_sub(&vmas, 3);
}

static struct guard_slot *take_slot(size_t pages)
{
  unsigned c = class_for(pages);
  if (c == DEDICATED) {
    struct hg_segment *s = new_segment((uint32_t)pages, 1, DEDICATED);
    return s ? &meta_of(s)->slots[0] : NULL;
  }
  if (!open_segments[c] && !new_segment(1u << c, slots_per_segment(1u << c), c))
    return NULL;
  return pop_free(open_segments[c]);
}

/*
 * A slot leaves use for good (evicted from the quarantine, or taken but
 * never made accessible): a dedicated segment is unmapped; a class slot
 * goes back on its segment's free list, and a segment that is then empty
 * is kept (up to EMPTY_SEGMENTS_KEPT per class) or unmapped.
 */
static void give_back(struct hg_segment *s, struct guard_meta *m, struct guard_slot *slot)
{
  if (m->class_index == DEDICATED) {
    destroy_segment(s);
    return;
  }
  push_free(s, slot);
  if (!segment_is_empty(m))
    return;
  if (empty_segments[m->class_index] < EMPTY_SEGMENTS_KEPT) {
    empty_segments[m->class_index]++;
    return;
  }
  unlink_open(s);
  destroy_segment(s);
}

/* Memory is running out: unmap the empty segments kept for reuse too. */
static void release_empty_segments(void)
{
  for (unsigned c = 0; c < CLASS_COUNT; c++) {
    struct hg_segment *next;
    for (struct hg_segment *s = open_segments[c]; s; s = next) {
      next = meta_of(s)->next;
      if (segment_is_empty(meta_of(s))) {
        unlink_open(s);
        destroy_segment(s);
      }
    }
    empty_segments[c] = 0;
  }
}

static size_t tail_length(const struct hg_segment *s, const struct guard_meta *m,
                          const struct guard_slot *slot)
{
  const char *end = slot_data(s, m, slot) + slot->requested;
  size_t room = (size_t)(slot_base(s, m, slot) + (size_t)m->slot_pages * PAGE - end);
  return room < TAIL_CHECKED ? room : TAIL_CHECKED;
}

static void tail_write(const struct hg_segment *s, const struct guard_meta *m,
                       const struct guard_slot *slot)
{
  hg_tail_fill(&hg_key, (uint8_t *)slot_data(s, m, slot) + slot->requested,
               tail_length(s, m, slot));
}

/*
 * The bytes just before a block placed at the end of its pages hold a
 * leading canary, so that an underflow is caught at free even without
 * guard_underflow=1. Unlike the trailing pattern it is keyed on each
 * address, so bytes copied from before another block do not pass.
 */
static size_t lead_length(const struct guard_slot *slot)
{
  return slot->data_off < TAIL_CHECKED ? slot->data_off : TAIL_CHECKED;
}

static uint8_t lead_byte(uintptr_t at)
{
  uint64_t w = hg_key.canary ^ ((at >> 3) * 0x9e3779b97f4a7c15ull);
  w ^= w >> 29;
  w *= 0xbf58476d1ce4e5b9ull;
  w ^= w >> 32;
  uint8_t b = (uint8_t)(w >> ((at & 7) * 8));
  return b ? b : 0xa5;
}

static void lead_write(const struct hg_segment *s, const struct guard_meta *m,
                       const struct guard_slot *slot)
{
  uint8_t *data = (uint8_t *)slot_data(s, m, slot);
  size_t n = lead_length(slot);
  for (size_t i = 1; i <= n; i++)
    data[-(ptrdiff_t)i] = lead_byte((uintptr_t)(data - i));
}

static void *alloc_locked(size_t request, size_t alignment, size_t pages, uint16_t kind,
                          uint32_t stack)
{
  unsigned c = class_for(pages);
  uint64_t need = 2 + (c == DEDICATED || !open_segments[c] ? 3 : 0);
  if (!budget_allows(need)) {
    warn_budget();
    return NULL;
  }
  struct guard_slot *slot = take_slot(pages);
  if (!slot)
    return NULL;
  struct hg_segment *s = segment_of_slot(slot);
  struct guard_meta *m = meta_of(s);
  char *base = slot_base(s, m, slot);
  size_t bytes = (size_t)m->slot_pages * PAGE;
  if (!hg_os_protect_rw(base, bytes)) {
    give_back(s, m, slot);
    warn_budget();
    return NULL;
  }
  atomic_fetch_add(&vmas, 2);
  uintptr_t data = hg_options.guard_underflow
                     ? ((uintptr_t)base + alignment - 1) & ~(uintptr_t)(alignment - 1)
                     : ((uintptr_t)base + bytes - (request ? request : 1)) &
                         ~(uintptr_t)(alignment - 1);
  slot->data_off = (uint32_t)(data - (uintptr_t)base);
  slot->requested = request;
  slot->alignment = alignment;
  slot->kind = kind;
  slot->alloc_stack = stack;
  slot->free_stack = 0;
  atomic_store_explicit(&slot->state, SLOT_USED, memory_order_release);
  m->live++;
  lead_write(s, m, slot);
  tail_write(s, m, slot);
  return (void *)data;
}

/* ---- sampling ---- */

static uint64_t sample_next(void)
{
  if (!sample_rng)
    sample_rng = (hg_secret[0] ^ (uintptr_t)&sample_rng * 0x9e3779b97f4a7c15ull) | 1;
  sample_rng ^= sample_rng << 13;
  sample_rng ^= sample_rng >> 7;
  sample_rng ^= sample_rng << 17;
  /* Uniform over [1, 2N-1]: one in N on average. */
  return 1 + sample_rng % (2 * hg_options.guard_sample - 1);
}

static bool chosen(size_t request)
{
  if (request < hg_options.guard_min_size || request > hg_options.guard_max_size)
    return false;
  if (hg_options.guard_mode == HG_GUARD_ALL)
    return true;
  if (__builtin_expect(sample_countdown > 1, 1)) {
    sample_countdown--;
    return false;
  }
  if (sample_countdown == 0) { /* this thread's first allocation */
    sample_countdown = sample_next();
    if (sample_countdown > 1) {
      sample_countdown--;
      return false;
    }
  }
  sample_countdown = sample_next();
  return true;
}

void *hg_guard_alloc(size_t request, size_t alignment, uint16_t kind, uint32_t stack)
{
  if (!chosen(request) || request > HG_MAX_REQUEST || alignment > HG_SEGMENT_SIZE)
    return NULL;
  size_t extra = alignment > PAGE ? alignment - PAGE : 0;
  size_t pages = (request + extra + PAGE - 1) / PAGE;
  if (pages == 0)
    pages = 1;
  pthread_mutex_lock(&guard_lock);
  void *p = alloc_locked(request, alignment, pages, kind, stack);
  pthread_mutex_unlock(&guard_lock);
  return p;
}

/* ---- free and inspection (under guard_lock) ---- */

static bool check_guard_segment(const struct hg_segment *s, struct heapguard_finding *f)
{
  if (!hg_check_segment(s, f))
    return false;
  const struct guard_meta *m = meta_of(s);
  if (!table_is_sane(s, m))
    return hg_fail(f, HEAPGUARD_SEGMENT_CORRUPTION, WHAT_TABLE, NULL, s->first_block,
                   m->slot_count);
  return true;
}

static bool slot_was_used(const struct guard_slot *slot)
{
  uint16_t state = atomic_load_explicit(&slot->state, memory_order_acquire);
  return state == SLOT_QUARANTINED || state == SLOT_FREE;
}

/* The used slot whose block starts at p; otherwise f says what p is. */
static struct guard_slot *live_slot(const void *p, struct heapguard_finding *f)
{
  struct hg_segment *s = hg_segment_lookup((uintptr_t)p);
  if (!s || !hg_segment_is_guard(s)) { /* unmapped since the caller looked */
    hg_fail(f, HEAPGUARD_INVALID_FREE, "pointer not allocated by heapguard", NULL, 0,
            (uintptr_t)p);
    return NULL;
  }
  if (!check_guard_segment(s, f))
    return NULL;
  struct guard_meta *m = meta_of(s);
  bool in_guard = false;
  struct guard_slot *slot = slot_holding(s, m, (uintptr_t)p, &in_guard);
  if (!slot || slot->state == SLOT_UNUSED) {
    hg_fail(f, HEAPGUARD_INVALID_FREE, WHAT_NO_BLOCK, NULL, 0, (uintptr_t)p);
    return NULL;
  }
  char *data = slot_data(s, m, slot);
  f->requested = slot->requested;
  f->offset = (intptr_t)((uintptr_t)p - (uintptr_t)data);
  f->alloc_stack = slot->alloc_stack;
  f->free_stack = slot->state == SLOT_USED ? 0 : slot->free_stack;
  if (slot->state == SLOT_USED && f->offset == 0)
    return slot;
  if (f->offset == 0)
    hg_fail(f, HEAPGUARD_DOUBLE_FREE, WHAT_DOUBLE_FREE, NULL, SLOT_USED, slot->state);
  else if (slot->state == SLOT_USED)
    hg_fail(f, HEAPGUARD_INVALID_FREE, WHAT_INTERIOR, NULL, 0, (uint64_t)f->offset);
  else
    hg_fail(f, HEAPGUARD_INVALID_FREE, WHAT_INTO_FREED, NULL, 0, (uint64_t)f->offset);
  return NULL;
}

static bool check_kind(const struct guard_slot *slot, uint16_t kind, size_t size,
                       struct heapguard_finding *f)
{
  if (slot->kind != kind)
    return hg_fail(f, HEAPGUARD_ALLOC_DEALLOC_MISMATCH, "allocation kind", NULL,
                   slot->kind, kind);
  if (size && size != slot->requested)
    return hg_fail(f, HEAPGUARD_ALLOC_DEALLOC_MISMATCH, "size given to sized delete",
                   NULL, slot->requested, size);
  return true;
}

static bool check_lead(const struct hg_segment *s, const struct guard_meta *m,
                       const struct guard_slot *slot, struct heapguard_finding *f)
{
  const uint8_t *data = (const uint8_t *)slot_data(s, m, slot);
  size_t n = lead_length(slot);
  size_t nearest = 0, farthest = 0; /* distances before the data, 0: intact */
  for (size_t i = 1; i <= n; i++) {
    if (data[-(ptrdiff_t)i] == lead_byte((uintptr_t)(data - i)))
      continue;
    if (!nearest)
      nearest = i;
    farthest = i;
  }
  if (!nearest)
    return true;
  f->segment = (uintptr_t)s;
  f->requested = slot->requested;
  f->offset = -(intptr_t)farthest;
  f->extent = farthest - nearest + 1;
  return hg_fail(f, HEAPGUARD_HEAP_BUFFER_OVERFLOW, WHAT_LEAD, NULL,
                 lead_byte((uintptr_t)(data - farthest)), data[-(ptrdiff_t)farthest]);
}

static bool check_tail(const struct hg_segment *s, const struct guard_meta *m,
                       const struct guard_slot *slot, struct heapguard_finding *f)
{
  if (!check_lead(s, m, slot, f))
    return false;
  struct hg_tail_damage d;
  if (hg_tail_verify(&hg_key, (const uint8_t *)slot_data(s, m, slot) + slot->requested,
                     tail_length(s, m, slot), &d))
    return true;
  f->segment = (uintptr_t)s;
  f->requested = slot->requested;
  f->offset = (intptr_t)(slot->requested + d.first);
  f->extent = d.last - d.first + 1;
  return hg_fail(f, HEAPGUARD_HEAP_BUFFER_OVERFLOW, WHAT_CANARY, NULL, d.expected, d.found);
}

static void evict_oldest(void)
{
  struct guard_slot *slot = quarantine[quarantine_head];
  quarantine_head = (quarantine_head + 1) % QUARANTINE_SLOTS;
  quarantine_count--;
  struct hg_segment *s = segment_of_slot(slot);
  struct guard_meta *m = meta_of(s);
  quarantine_bytes -= (size_t)m->slot_pages * PAGE;
  atomic_store_explicit(&slot->state, SLOT_FREE, memory_order_release);
  give_back(s, m, slot);
}

void hg_guard_drain_quarantine(void)
{
  pthread_mutex_lock(&guard_lock);
  while (quarantine_count)
    evict_oldest();
  release_empty_segments();
  pthread_mutex_unlock(&guard_lock);
}

static void retire(struct guard_slot *slot, uint32_t free_stack)
{
  struct hg_segment *s = segment_of_slot(slot);
  struct guard_meta *m = meta_of(s);
  char *base = slot_base(s, m, slot);
  size_t bytes = (size_t)m->slot_pages * PAGE;
  slot->free_stack = free_stack;
  atomic_store_explicit(&slot->state, SLOT_QUARANTINED, memory_order_release);
  m->live--;
  if (hg_os_protect_none(base, bytes))
    atomic_fetch_sub(&vmas, 2);
  hg_os_discard(base, bytes);
  while (quarantine_count == QUARANTINE_SLOTS ||
         (quarantine_count && quarantine_bytes + bytes > QUARANTINE_BYTES))
    evict_oldest();
  quarantine[(quarantine_head + quarantine_count) % QUARANTINE_SLOTS] = slot;
  quarantine_count++;
  quarantine_bytes += bytes;
}

bool hg_guard_free(void *p, uint16_t kind, size_t size, uint32_t free_stack,
                   struct heapguard_finding *f)
{
  pthread_mutex_lock(&guard_lock);
  struct guard_slot *slot = live_slot(p, f);
  struct hg_segment *s = slot ? segment_of_slot(slot) : NULL;
  bool ok = slot && check_kind(slot, kind, size, f) &&
            check_tail(s, meta_of(s), slot, f);
  if (ok)
    retire(slot, free_stack);
  pthread_mutex_unlock(&guard_lock);
  return ok;
}

/*
 * A header as the heap's callers read one (hg_block_requested, kind,
 * stack); a guarded block has none in memory, nothing seals or checks it.
 */
static void header_copy(const struct guard_slot *slot, struct hg_block *copy)
{
  *copy = (struct hg_block){ 0 };
  copy->size = (uint32_t)((HG_HEADER_SIZE + slot->requested + 1 + HG_GRANULE - 1) >>
                          HG_GRANULE_SHIFT);
  copy->tail = (uint32_t)(hg_block_capacity(copy) - slot->requested);
  copy->state = HG_STATE_USED;
  copy->kind = slot->kind;
  copy->stack = slot->alloc_stack;
}

bool hg_guard_inspect(const void *p, struct hg_block *copy, struct heapguard_finding *f)
{
  pthread_mutex_lock(&guard_lock);
  struct guard_slot *slot = live_slot(p, f);
  struct hg_segment *s = slot ? segment_of_slot(slot) : NULL;
  bool ok = slot && check_tail(s, meta_of(s), slot, f);
  if (ok)
    header_copy(slot, copy);
  pthread_mutex_unlock(&guard_lock);
  return ok;
}

bool hg_guard_resize_in_place(void *p, size_t request, size_t *old_request,
                              struct heapguard_finding *f)
{
  (void)request;
  struct hg_block copy;
  if (hg_guard_inspect(p, &copy, f))
    *old_request = hg_block_requested(&copy);
  return false;
}

/* The whole-heap walks below run under hg_heap_lock_all, guard_lock included. */

void hg_guard_for_each_used(const struct hg_segment *s, hg_live_visitor fn, void *arg)
{
  struct heapguard_finding f = { 0 };
  if (!check_guard_segment(s, &f))
    return;
  const struct guard_meta *m = meta_of(s);
  for (uint32_t i = 0; i < m->slot_count; i++) {
    const struct guard_slot *slot = &m->slots[i];
    if (slot->state == SLOT_USED)
      fn((uintptr_t)slot_data(s, m, slot), slot->requested, slot->alloc_stack, arg);
  }
}

bool hg_guard_check_segment(const struct hg_segment *s, struct heapguard_finding *f)
{
  bool ok = check_guard_segment(s, f);
  const struct guard_meta *m = meta_of(s);
  for (uint32_t i = 0; ok && i < m->slot_count; i++)
    if (m->slots[i].state == SLOT_USED) {
      ok = check_tail(s, m, &m->slots[i], f);
      if (!ok)
        f->alloc_stack = m->slots[i].alloc_stack;
    }
  return ok;
}

/* ---- faults ---- */

static const char *access_name(const void *uctx)
{
#if defined(__x86_64__)
  const ucontext_t *uc = uctx;
  return uc->uc_mcontext.gregs[REG_ERR] & 2 ? "WRITE" : "READ";
#else
  (void)uctx;
  return "READ or WRITE";
#endif
}

static uintptr_t fault_pc(const void *uctx)
{
#if defined(__x86_64__)
  return (uintptr_t)((const ucontext_t *)uctx)->uc_mcontext.gregs[REG_RIP];
#else
  (void)uctx;
  return 0;
#endif
}

static void fault_on_block(const struct hg_segment *s, const struct guard_meta *m,
                           const struct guard_slot *slot, uintptr_t addr,
                           struct heapguard_finding *f)
{
  bool used = atomic_load_explicit(&slot->state, memory_order_acquire) == SLOT_USED;
  f->requested = slot->requested;
  f->offset = (intptr_t)(addr - (uintptr_t)slot_data(s, m, slot));
  f->alloc_stack = slot->alloc_stack;
  f->free_stack = used ? 0 : slot->free_stack;
  hg_fail(f, used ? HEAPGUARD_HEAP_BUFFER_OVERFLOW : HEAPGUARD_USE_AFTER_FREE,
          used ? WHAT_GUARD_PAGE : WHAT_FREED, NULL, 0, addr);
}

/*
 * Decide whether a fault at addr is a bad access to guarded memory and
 * describe it in f. Async-signal-safe: registry and slot table reads only.
 */
static bool classify_fault(uintptr_t addr, struct heapguard_finding *f)
{
  struct hg_segment *s = hg_segment_lookup(addr);
  if (!s || !hg_segment_is_guard(s) ||
      hg_segment_verify(&hg_key, s) != HG_SEGMENT_OK)
    return false;
  struct guard_meta *m = meta_of(s);
  if (!table_is_sane(s, m) || addr < (uintptr_t)slot_area(s) - PAGE)
    return false; /* the leading guard page or the table: not a block's */
  f->segment = (uintptr_t)s;
  bool in_guard = true;
  struct guard_slot *slot = slot_holding(s, m, addr, &in_guard);
  const struct guard_slot *before = NULL, *after = NULL;
  if (slot && !in_guard) {
    /* In a slot's data pages: they are inaccessible only when it is free. */
    if (slot_was_used(slot)) {
      fault_on_block(s, m, slot, addr, f);
      return true;
    }
    if (slot->state == SLOT_USED)
      return false;
  } else if (slot) {
    before = slot;
    after = slot_index(m, slot) + 1 < m->slot_count ? slot + 1 : NULL;
  } else if (addr < (uintptr_t)slot_area(s)) {
    after = &m->slots[0]; /* the fence page */
  } else {
    before = &m->slots[m->slot_count - 1];
  }
  /* A guard page: the block it borders on the side it guards, else the other. */
  const struct guard_slot *order[2] = { before, after };
  if (hg_options.guard_underflow) {
    order[0] = after;
    order[1] = before;
  }
  for (int i = 0; i < 2; i++)
    if (order[i] && order[i]->state == SLOT_USED) {
      fault_on_block(s, m, order[i], addr, f);
      return true;
    }
  for (int i = 0; i < 2; i++)
    if (order[i] && slot_was_used(order[i])) {
      fault_on_block(s, m, order[i], addr, f);
      return true;
    }
  hg_fail(f, HEAPGUARD_HEAP_BUFFER_OVERFLOW, WHAT_WILD, NULL, 0, addr);
  return true;
}

static void on_fault(int sig, siginfo_t *info, void *uctx)
{
  struct heapguard_finding f = { .address = (uintptr_t)info->si_addr };
  if (info->si_code > 0 && classify_fault((uintptr_t)info->si_addr, &f)) {
    f.operation = access_name(uctx);
    hg_backtrace_start_at(fault_pc(uctx));
    hg_report(&f);
    /*
     * halt_on_error=0: the report returned. Open the faulting page so the
     * access completes and the program goes on; that page stays unguarded
     * (the slot's data pages are closed again when it is next freed).
     */
    uintptr_t page = f.address & ~(uintptr_t)(PAGE - 1);
    if (hg_os_protect_rw((void *)page, PAGE)) {
      atomic_fetch_add(&vmas, 2);
      return;
    }
    hg_os_abort();
  }
  /*
   * Not ours: hand it to the handler that was there before, or restore
   * the previous disposition and return, so that the access faults again
   * and the default action (or the old handler) takes it as usual.
   */
  struct sigaction *old = sig == SIGBUS ? &previous_bus : &previous_segv;
  if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
    old->sa_sigaction(sig, info, uctx);
    return;
  }
  if (!(old->sa_flags & SA_SIGINFO) && old->sa_handler != SIG_DFL &&
      old->sa_handler != SIG_IGN) {
    old->sa_handler(sig);
    return;
  }
  hg_os_sigaction(sig, old, NULL);
}

void hg_guard_init(void)
{
  if (hg_options.guard_mode == HG_GUARD_OFF)
    return;
  max_maps = hg_os_max_map_count();
  if (max_maps == 0)
    max_maps = 65530; /* the kernel's default */
  vma_budget = max_maps / 2;
  struct sigaction sa = { 0 };
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  hg_os_sigaction(SIGSEGV, &sa, &previous_segv);
  hg_os_sigaction(SIGBUS, &sa, &previous_bus);
  hg_guard_enabled = true;
}

/* ---- reports ---- */

static void describe_access(struct hg_buf *out, const struct heapguard_finding *f)
{
  hg_buf_str(out, "  ");
  hg_buf_str(out, f->operation ? f->operation : "access");
  hg_buf_str(out, " of address ");
  hg_buf_hex(out, f->address);
  if (f->what == WHAT_WILD) {
    hg_buf_str(out, ": in a guard segment, but in no block\n");
    return;
  }
  hg_buf_str(out, ": offset ");
  hg_buf_sdec(out, f->offset);
  hg_buf_str(out, " of a ");
  hg_buf_dec(out, f->requested);
  hg_buf_str(out, "-byte block");
  if (f->what == WHAT_FREED) {
    hg_buf_str(out, " that was freed (freed guarded blocks stay inaccessible until "
                    "their slot is reused)\n");
  } else if (f->offset < 0) {
    hg_buf_str(out, ", ");
    hg_buf_dec(out, (uint64_t)-f->offset);
    hg_buf_str(out, f->offset == -1 ? " byte" : " bytes");
    hg_buf_str(out, " before its start; it hit the guard page before the block\n");
  } else {
    uint64_t after = (uint64_t)f->offset - f->requested;
    hg_buf_str(out, ", ");
    hg_buf_dec(out, after);
    hg_buf_str(out, after == 1 ? " byte" : " bytes");
    hg_buf_str(out, " after its end; it hit the guard page after the block\n");
  }
}

static void describe_slot(struct hg_buf *out, const struct hg_segment *s, uintptr_t data)
{
  struct guard_meta *m = meta_of(s);
  bool in_guard = false;
  const struct guard_slot *slot = slot_holding(s, m, data, &in_guard);
  if (!slot || (uintptr_t)slot_data(s, m, slot) != data)
    return;
  uint16_t state = atomic_load_explicit(&slot->state, memory_order_acquire);
  hg_buf_str(out, "  guarded block ");
  hg_buf_hex(out, data);
  hg_buf_str(out, ": ");
  hg_buf_dec(out, slot->requested);
  hg_buf_str(out, " bytes requested with ");
  hg_buf_str(out, hg_kind_name(slot->kind));
  hg_buf_str(out, ", aligned to ");
  hg_buf_dec(out, slot->alignment);
  hg_buf_str(out, state == SLOT_USED ? ", in use" : ", freed");
  hg_buf_str(out, ", in slot ");
  hg_buf_dec(out, slot_index(m, slot));
  hg_buf_str(out, " (");
  hg_buf_dec(out, m->slot_pages);
  hg_buf_str(out, m->slot_pages == 1 ? " page" : " pages");
  hg_buf_str(out, " between guard pages, ");
  hg_buf_dec(out, m->live);
  hg_buf_str(out, " of ");
  hg_buf_dec(out, m->slot_count);
  hg_buf_str(out, " slots in use)\n");
}

bool hg_guard_finding(const struct heapguard_finding *f)
{
  const char *w = f->what;
  return w == WHAT_GUARD_PAGE || w == WHAT_FREED || w == WHAT_WILD || w == WHAT_CANARY ||
         w == WHAT_LEAD ||
         w == WHAT_DOUBLE_FREE || w == WHAT_INTERIOR || w == WHAT_INTO_FREED ||
         w == WHAT_NO_BLOCK || w == WHAT_TABLE;
}

bool hg_guard_describe(struct hg_buf *out, const struct heapguard_finding *f)
{
  const char *w = f->what;
  if (!hg_guard_finding(f))
    return false;
  uintptr_t data = f->address - (uintptr_t)f->offset;
  if (w == WHAT_GUARD_PAGE || w == WHAT_FREED || w == WHAT_WILD) {
    describe_access(out, f);
  } else if (w == WHAT_CANARY) {
    hg_report_damaged_bytes(out, f, f->address, " written past the end of a ",
                            " (in the slack before its guard page)", "trailing canary");
    data = f->address;
  } else if (w == WHAT_LEAD) {
    hg_report_damaged_bytes(out, f, f->address, " written before the start of a ", "",
                            "leading canary");
    data = f->address;
  } else if (w == WHAT_DOUBLE_FREE) {
    hg_buf_str(out, "  the block was already freed (its guard slot is inaccessible)\n");
  } else if (w == WHAT_INTERIOR || w == WHAT_INTO_FREED) {
    hg_buf_str(out, "  ");
    hg_buf_str(out, w);
    hg_buf_str(out, ": offset ");
    hg_buf_sdec(out, f->offset);
    hg_buf_str(out, " from the start of block data at ");
    hg_buf_hex(out, data);
    hg_buf_char(out, '\n');
  } else if (w == WHAT_NO_BLOCK) {
    hg_buf_str(out, "  address is inside a guard segment but in no block\n");
  } else {
    hg_buf_str(out, "  check failed: guard slot table: first slot at ");
    hg_buf_hex(out, f->expected);
    hg_buf_str(out, ", slot count ");
    hg_buf_dec(out, f->found);
    hg_buf_char(out, '\n');
    return true;
  }
  const struct hg_segment *s = (const struct hg_segment *)f->segment;
  if (s && w != WHAT_WILD && w != WHAT_NO_BLOCK &&
      hg_segment_verify(&hg_key, s) == HG_SEGMENT_OK && table_is_sane(s, meta_of(s)))
    describe_slot(out, s, data);
  return true;
}

/* ---- whole-heap walks and fork ---- */

void hg_guard_lock(void)
{
  pthread_mutex_lock(&guard_lock);
}

void hg_guard_unlock(void)
{
  pthread_mutex_unlock(&guard_lock);
}

void hg_guard_fork_child(void)
{
  pthread_mutex_init(&guard_lock, NULL);
}
