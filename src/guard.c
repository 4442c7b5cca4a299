/*
 * guard.c - guard-page mode: guard segments and their slots, the
 * quarantine of freed slots, the mapping budget, sampling, and what a fault
 * on guarded memory means (fault.c catches it, this file names it).
 *
 * A guard segment is one registered mapping (kind HG_SEGMENT_GUARD),
 * aligned to HG_SEGMENT_SIZE like every segment:
 *
 *   [guard page][hg_segment, read-only][guard_meta | slot table ...][fence page]
 *   [slot 0 data pages][guard page][slot 1 data pages][guard page] ...
 *
 * so every slot's data pages have a PROT_NONE page on both sides. The
 * segments of a class hold slots of 1, 2, 4, ... 256 data pages (as many as
 * fit in HG_SEGMENT_SIZE); a request needing more pages gets a dedicated
 * segment with one slot. With guard_underflow=0 a block is placed at the
 * end of its slot's data pages, aligned as requested: the calls that take
 * an alignment keep theirs, and malloc, calloc, realloc and new get
 * guard_alignment's (16 unless the user trades it for a closer guard: 1
 * ends every block at its guard page, as Electric Fence's EF_ALIGNMENT=1
 * does). Up to alignment - 1 bytes of slack may lie between a block's end
 * and the guard page, where a read is not caught; the trailing canary (the
 * keyed pattern of block.c, up to 64 bytes) covers them byte-precisely, so
 * a write there is found at free, realloc, malloc_usable_size and heap
 * checks. With guard_underflow=1 the block
 * starts at its first data page, right after the guard page before it.
 * (Blocks of 0 bytes are zero.c's, but for those aligned to more than
 * HG_GRANULE: such a block is placed as a 1-byte one, so that its pointer
 * stays inside its slot, where free() and the registry expect it.)
 *
 * Metadata is out of band: the slot table (state, requested size, data
 * offset, kind) sits in the segment's first pages, never next to user data.
 * A freed slot is PROT_NONE, so an in-band header could not be read at a
 * double free, nor by the fault handler; the table can. The segment
 * metadata is read-only (the table counts live slots), so the fault
 * handler can verify it with no lock held.
 *
 * A slot's life: UNUSED -> USED (data pages made read-write) -> QUARANTINED
 * (made PROT_NONE, queued in the quarantine of quarantine.h, where it
 * weighs its requested bytes) -> FREE (evicted from the FIFO onto its
 * segment's free list; a dedicated segment is unmapped instead) -> USED
 * again. A freed slot keeps its last block's size and offset, so that an
 * access to it is named a use after free at the right offset until the
 * slot is reused or its segment unmapped. A freed slot keeps its pages:
 * discarding them cost a system call at free and a page fault at reuse,
 * more than the two mprotect calls every slot's use costs; the block is
 * zeroed when the slot is reused instead, so guarded blocks always start
 * zeroed. Only when memory runs out are free slots' pages given back.
 *
 * With guard_recycle=1, a freed slot of the first RECYCLED_CLASSES classes
 * skips that protection: its block is poisoned and the slot waits, still
 * read-write, in its class's ring of RECYCLED_SLOTS; an allocation of the
 * class takes the oldest of them back once more than RECYCLED_WAIT later
 * frees of the class followed it, with no system call at either end, after
 * checking the poison (a write after free is reported then, or by a heap
 * check, as GUARD_POISON; a read is not seen). A slot pushed out of a full ring is
 * protected and quarantined as above. Each guarded allocation and free
 * otherwise costs an mprotect that splits or merges a VMA (about 3 us each
 * on the 2-core test machine), which a program making millions of small
 * allocations, such as bash, cannot afford.
 *
 * A segment whose slots are all free (none in use or quarantined) is
 * empty: EMPTY_SEGMENTS_KEPT of them per class stay mapped for reuse, the
 * others are unmapped at once, and when memory runs out (guard_drain) the
 * quarantine is emptied, every empty segment unmapped and the pages of the
 * other free slots given back, so that the memory and address space they
 * held can be used again.
 *
 * Mapping budget: a segment costs at most 4 VMAs (leading guard page,
 * read-only metadata, the read-write slot table, the PROT_NONE rest) and
 * each live slot at most 2
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

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "check.h"
#include "describe.h"
#include "kind.h"
#include "log.h"
#include "options.h"
#include "os.h"
#include "quarantine.h"
#include "runtime.h"
#include "segment.h"

#define PAGE ((size_t)HG_PAGE_SIZE)
#define CLASS_COUNT 9u /* 1, 2, 4, ... 256 data pages */
#define DEDICATED CLASS_COUNT
/*
 * Empty segments of a class kept mapped, so that a program freeing and
 * allocating around a segment boundary does not map and unmap one each
 * time; the rest are unmapped, and these too when memory runs out.
 */
#define EMPTY_SEGMENTS_KEPT 1u
/* VMAs a segment costs, and a live slot on top. */
#define SEGMENT_VMAS 4u
#define SLOT_VMAS 2u

static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hg_segment *open_segments[CLASS_COUNT]; /* those with a free slot */
static unsigned empty_segments[CLASS_COUNT];          /* open ones with no slot taken */
static struct hg_quarantine quarantine;
static _Atomic uint64_t vmas; /* mappings guard mode has created, estimated high */
static uint64_t max_maps, vma_budget;
static _Atomic bool budget_warned;

/*
 * Freed slots of the smallest classes wait read-write and poisoned in a
 * ring of their class before the quarantine (guard_recycle).
 */
#define RECYCLED_CLASSES 4u /* slots of 1 to 8 pages */
#define RECYCLED_SLOTS 1024u /* a ring's capacity */
#define RECYCLED_WAIT 256u   /* later frees of its class a slot waits for, at least */
struct recycle_ring {
  struct hg_guard_slot *slot[RECYCLED_SLOTS];
  unsigned head, count;
};
static HG_LARGE_BSS struct recycle_ring recycled[RECYCLED_CLASSES];

static HG_TLS uint64_t sample_countdown;
static HG_TLS uint64_t sample_rng;

/* ---- geometry ---- */

/* The slot table starts on the page after the read-only metadata. */
static struct hg_guard_meta *meta_of(const struct hg_segment *s)
{
  return (struct hg_guard_meta *)((char *)s + HG_SEGMENT_META_SIZE);
}

static size_t slot_stride(const struct hg_guard_meta *m)
{
  return ((size_t)m->slot_pages + 1) * PAGE;
}

static char *slot_area(const struct hg_segment *s)
{
  return (char *)s + s->first_block;
}

static size_t slot_index(const struct hg_guard_meta *m, const struct hg_guard_slot *slot)
{
  return (size_t)(slot - m->slots);
}

static char *slot_base(const struct hg_segment *s, const struct hg_guard_meta *m,
                       const struct hg_guard_slot *slot)
{
  return slot_area(s) + slot_index(m, slot) * slot_stride(m);
}

static char *slot_data(const struct hg_segment *s, const struct hg_guard_meta *m,
                       const struct hg_guard_slot *slot)
{
  return slot_base(s, m, slot) + slot->data_off;
}

/* The slot table is in the segment's first chunk, like the header. */
static struct hg_segment *segment_of_slot(const struct hg_guard_slot *slot)
{
  return (struct hg_segment *)(((uintptr_t)slot & ~(uintptr_t)(HG_SEGMENT_SIZE - 1)) +
                               PAGE);
}

static size_t table_pages(size_t slots)
{
  size_t bytes = HG_SEGMENT_META_SIZE + sizeof(struct hg_guard_meta) +
                 slots * sizeof(struct hg_guard_slot);
  return (bytes + PAGE - 1) / PAGE;
}

/*
 * The slot table lives in writable memory that a wild write could reach:
 * bound it by the (checksummed) segment header before following it.
 */
static bool table_is_sane(const struct hg_segment *s, const struct hg_guard_meta *m)
{
  return m->slot_pages >= 1 && m->slot_count >= 1 &&
         s->first_block >= table_pages(m->slot_count) * PAGE &&
         (uint64_t)s->first_block + (uint64_t)m->slot_count * slot_stride(m) <=
           s->map_size - PAGE;
}

/* The slot whose data pages or following guard page hold addr, if any. */
static struct hg_guard_slot *slot_holding(const struct hg_segment *s,
                                       struct hg_guard_meta *m, uintptr_t addr,
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
  hg_log_note(1, b.p, b.len);
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
  struct hg_guard_meta *m = meta_of(s);
  struct hg_segment **head = &open_segments[m->class_index];
  m->prev = NULL;
  m->next = *head;
  if (*head)
    meta_of(*head)->prev = s;
  *head = s;
}

static void unlink_open(struct hg_segment *s)
{
  struct hg_guard_meta *m = meta_of(s);
  if (m->prev)
    meta_of(m->prev)->next = m->next;
  else
    open_segments[m->class_index] = m->next;
  if (m->next)
    meta_of(m->next)->prev = m->prev;
  m->prev = m->next = NULL;
}

static bool segment_is_empty(const struct hg_guard_meta *m)
{
  return m->free_count == m->slot_count;
}

static void push_free(struct hg_segment *s, struct hg_guard_slot *slot)
{
  struct hg_guard_meta *m = meta_of(s);
  if (!m->free_slots)
    link_open(s);
  slot->next = m->free_slots;
  m->free_slots = slot;
  m->free_count++;
}

static struct hg_guard_slot *pop_free(struct hg_segment *s)
{
  struct hg_guard_meta *m = meta_of(s);
  if (segment_is_empty(m))
    empty_segments[m->class_index]--;
  struct hg_guard_slot *slot = m->free_slots;
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
  atomic_fetch_add(&vmas, SEGMENT_VMAS);
  struct hg_guard_meta *m = meta_of(s);
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
  atomic_fetch_sub(&vmas, SEGMENT_VMAS);
}

static struct hg_guard_slot *take_slot(size_t pages)
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
static void give_back(struct hg_segment *s, struct hg_guard_meta *m, struct hg_guard_slot *slot)
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

/* The pages of a segment's free slots, which keep their last blocks' bytes. */
static void discard_free_slots(const struct hg_segment *s)
{
  const struct hg_guard_meta *m = meta_of(s);
  for (const struct hg_guard_slot *slot = m->free_slots; slot; slot = slot->next)
    if (atomic_load_explicit(&slot->state, memory_order_relaxed) == HG_SLOT_FREE)
      hg_os_discard(slot_base(s, m, slot), (size_t)m->slot_pages * PAGE);
}

/*
 * Memory is running out: unmap the empty segments kept for reuse too, and
 * give back the pages of the free slots of the others.
 */
static void release_free_memory(void)
{
  for (unsigned c = 0; c < CLASS_COUNT; c++) {
    struct hg_segment *next;
    for (struct hg_segment *s = open_segments[c]; s; s = next) {
      next = meta_of(s)->next;
      if (segment_is_empty(meta_of(s))) {
        unlink_open(s);
        destroy_segment(s);
      } else {
        discard_free_slots(s);
      }
    }
    empty_segments[c] = 0;
  }
}

static size_t tail_length(const struct hg_segment *s, const struct hg_guard_meta *m,
                          const struct hg_guard_slot *slot)
{
  const char *end = slot_data(s, m, slot) + slot->requested;
  size_t room = (size_t)(slot_base(s, m, slot) + (size_t)m->slot_pages * PAGE - end);
  return room < HG_TAIL_CHECKED ? room : HG_TAIL_CHECKED;
}

/* A guarded block has no header: its canaries are keyed on where they are. */
static uint64_t tail_pattern(const struct hg_segment *s, const struct hg_guard_meta *m,
                             const struct hg_guard_slot *slot)
{
  return hg_canary_pattern_at(&hg_key, (uintptr_t)slot_data(s, m, slot) + slot->requested,
                              false);
}

static void tail_write(const struct hg_segment *s, const struct hg_guard_meta *m,
                       const struct hg_guard_slot *slot)
{
  hg_tail_fill((uint8_t *)slot_data(s, m, slot) + slot->requested, tail_length(s, m, slot),
               tail_pattern(s, m, slot));
}

/*
 * The bytes just before a block placed at the end of its pages hold a
 * leading canary, so that an underflow is caught at free even without
 * guard_underflow=1. Byte i before the data is byte i - 1 of the pattern,
 * except before a block from operator new, whose 8 nearest bytes are zero:
 * what a delete[] of it reads there as an array's element count is then
 * 0, so it runs no destructor and releases the address 8 bytes before the
 * block, which guard_free names as the mismatch it is.
 */
static size_t lead_length(const struct hg_guard_slot *slot)
{
  return slot->data_off < HG_TAIL_CHECKED ? slot->data_off : HG_TAIL_CHECKED;
}

static uint64_t lead_pattern(const uint8_t *data)
{
  return hg_canary_pattern_at(&hg_key, (uintptr_t)data, true);
}

/* How many of the canary's bytes nearest to the block are zero (of n). */
static size_t lead_zeros(const struct hg_guard_slot *slot, size_t n)
{
  return slot->kind == HG_KIND_NEW ? (n < 8 ? n : 8) : 0;
}

/* Byte i before the data (1 the nearest), the first zeros of them zero. */
static uint8_t lead_byte(uint64_t pattern, size_t zeros, size_t i)
{
  return i <= zeros ? 0 : hg_tail_byte(pattern, i - 1);
}

/*
 * The 8 bytes ending j * 8 bytes before the data, read as a word: byte i
 * before the data is byte (i - 1) % 8 of the pattern, so every whole word
 * of the canary is the pattern byte-reversed, but the nearest when it is
 * zeros.
 */
static uint64_t lead_word(uint64_t pattern, size_t zeros, size_t j)
{
  return j == 0 && zeros == 8 ? 0 : __builtin_bswap64(pattern);
}

static void lead_write(const struct hg_segment *s, const struct hg_guard_meta *m,
                       const struct hg_guard_slot *slot)
{
  uint8_t *data = (uint8_t *)slot_data(s, m, slot);
  uint64_t pattern = lead_pattern(data);
  size_t n = lead_length(slot), zeros = lead_zeros(slot, n), i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w = lead_word(pattern, zeros, i / 8);
    __builtin_memcpy(data - i - 8, &w, 8);
  }
  for (i++; i <= n; i++)
    data[-(ptrdiff_t)i] = lead_byte(pattern, zeros, i);
}

/* The quick test of check_lead: whole words first. */
static bool lead_intact(const uint8_t *data, uint64_t pattern, size_t n, size_t zeros)
{
  uint64_t diff = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    __builtin_memcpy(&w, data - i - 8, 8);
    diff |= w ^ lead_word(pattern, zeros, i / 8);
  }
  for (i++; i <= n; i++)
    diff |= data[-(ptrdiff_t)i] ^ lead_byte(pattern, zeros, i);
  return diff == 0;
}

/* A changed byte i before the data: the nearest and farthest so far. */
static void note_lead_damage(size_t i, size_t *nearest, size_t *farthest)
{
  if (!*nearest)
    *nearest = i;
  *farthest = i;
}

static struct hg_guard_slot *take_recycled(unsigned c, struct heapguard_finding *f);

static void *alloc_locked(size_t request, size_t alignment, size_t pages, uint16_t kind,
                          uint32_t stack, struct heapguard_finding *f)
{
  unsigned c = class_for(pages);
  struct hg_guard_slot *slot = take_recycled(c, f);
  if (f->bug_class != HEAPGUARD_OK)
    return NULL;
  bool reused = slot != NULL;
  if (!slot) {
    uint64_t need = SLOT_VMAS + (c == DEDICATED || !open_segments[c] ? SEGMENT_VMAS : 0);
    if (!budget_allows(need)) {
      warn_budget();
      return NULL;
    }
    slot = take_slot(pages);
    if (!slot)
      return NULL;
  }
  struct hg_segment *s = segment_of_slot(slot);
  struct hg_guard_meta *m = meta_of(s);
  char *base = slot_base(s, m, slot);
  size_t bytes = (size_t)m->slot_pages * PAGE;
  if (!reused) {
    if (!hg_os_protect_rw(base, bytes)) {
      give_back(s, m, slot);
      warn_budget();
      return NULL;
    }
    atomic_fetch_add(&vmas, SLOT_VMAS);
    reused = atomic_load_explicit(&slot->state, memory_order_relaxed) == HG_SLOT_FREE;
  }
  uintptr_t data = hg_options.guard_underflow
                     ? ((uintptr_t)base + alignment - 1) & ~(uintptr_t)(alignment - 1)
                     : ((uintptr_t)base + bytes - (request ? request : 1)) &
                         ~(uintptr_t)(alignment - 1);
  /* A reused slot kept its last block's bytes (retire). */
  if (reused)
    __builtin_memset((void *)data, 0, request);
  slot->data_off = (uint32_t)(data - (uintptr_t)base);
  slot->requested = request;
  slot->alignment = alignment;
  slot->kind = kind;
  slot->alloc_stack = stack;
  slot->free_stack = 0;
  atomic_store_explicit(&slot->state, HG_SLOT_USED, memory_order_release);
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

static void *guard_alloc(size_t request, size_t alignment, uint16_t kind, uint32_t stack,
                         bool *zeroed, struct heapguard_finding *f)
{
  /* malloc's own alignment is the user's to trade for a closer guard page. */
  if (!alignment)
    alignment = HG_GUARD_ALIGNMENT(hg_options);
  if (!chosen(request) || request > HG_MAX_REQUEST || alignment > HG_SEGMENT_SIZE)
    return NULL;
  size_t extra = alignment > PAGE ? alignment - PAGE : 0;
  size_t pages = (request + extra + PAGE - 1) / PAGE;
  if (pages == 0)
    pages = 1;
  int saved = errno;
  pthread_mutex_lock(&guard_lock);
  void *p = alloc_locked(request, alignment, pages, kind, stack, f);
  pthread_mutex_unlock(&guard_lock);
  /* Not guarded: the caller serves it from the normal heap, errno untouched. */
  errno = saved;
  *zeroed = true;
  return p;
}

/* ---- free and inspection (under guard_lock) ---- */

static bool check_guard_segment(const struct hg_segment *s, struct heapguard_finding *f)
{
  if (!hg_check_segment(&hg_key, s, f))
    return false;
  const struct hg_guard_meta *m = meta_of(s);
  if (!table_is_sane(s, m))
    return hg_fail(f, HG_CHECK_GUARD_TABLE, NULL, s->first_block, m->slot_count);
  return true;
}

static bool slot_was_used(const struct hg_guard_slot *slot)
{
  uint16_t state = atomic_load_explicit(&slot->state, memory_order_acquire);
  return state == HG_SLOT_QUARANTINED || state == HG_SLOT_FREE;
}

/*
 * The used slot whose block starts at p, released with kind (HG_KIND_ANY
 * when inspected); otherwise f says what p is.
 */
static struct hg_guard_slot *live_slot(const void *p, uint16_t kind,
                                       struct heapguard_finding *f)
{
  struct hg_segment *s = hg_segment_lookup((uintptr_t)p);
  if (!s || s->kind != HG_SEGMENT_GUARD) { /* unmapped since the caller looked */
    f->segment = 0;
    hg_fail(f, HG_CHECK_NOT_OURS, NULL, 0, (uintptr_t)p);
    return NULL;
  }
  if (!check_guard_segment(s, f))
    return NULL;
  struct hg_guard_meta *m = meta_of(s);
  bool in_guard = false;
  struct hg_guard_slot *slot = slot_holding(s, m, (uintptr_t)p, &in_guard);
  if (!slot || slot->state == HG_SLOT_UNUSED) {
    hg_fail(f, HG_CHECK_GUARD_OUTSIDE_SLOTS, NULL, 0, (uintptr_t)p);
    return NULL;
  }
  char *data = slot_data(s, m, slot);
  f->requested = slot->requested;
  f->offset = (intptr_t)((uintptr_t)p - (uintptr_t)data);
  f->alloc_stack = slot->alloc_stack;
  f->free_stack = slot->state == HG_SLOT_USED ? 0 : slot->free_stack;
  if (slot->state == HG_SLOT_USED && f->offset == 0)
    return slot;
  if (f->offset == 0)
    hg_fail(f, HG_CHECK_GUARD_ALREADY_FREE, NULL, HG_SLOT_USED, slot->state);
  else if (slot->state != HG_SLOT_USED)
    hg_fail(f, HG_CHECK_GUARD_INTO_FREED, NULL, 0, (uint64_t)f->offset);
  else if (hg_check_array_cookie(NULL, slot->kind, f->offset, kind, f))
    hg_fail(f, HG_CHECK_GUARD_INTERIOR, NULL, 0, (uint64_t)f->offset);
  return NULL;
}

static bool check_lead(const struct hg_segment *s, const struct hg_guard_meta *m,
                       const struct hg_guard_slot *slot, struct heapguard_finding *f)
{
  const uint8_t *data = (const uint8_t *)slot_data(s, m, slot);
  uint64_t pattern = lead_pattern(data);
  size_t n = lead_length(slot), zeros = lead_zeros(slot, n);
  if (__builtin_expect(lead_intact(data, pattern, n, zeros), 1))
    return true;
  size_t nearest = 0, farthest = 0; /* distances before the data, 0: intact */
  for (size_t i = 1; i <= zeros; i++)
    if (data[-(ptrdiff_t)i])
      note_lead_damage(i, &nearest, &farthest);
  for (size_t i = zeros + 1; i <= n; i++)
    if (data[-(ptrdiff_t)i] != hg_tail_byte(pattern, i - 1))
      note_lead_damage(i, &nearest, &farthest);
  if (!nearest)
    return true;
  f->segment = (uintptr_t)s;
  f->address = (uintptr_t)data;
  f->requested = slot->requested;
  f->offset = -(intptr_t)farthest;
  f->extent = farthest - nearest + 1;
  return hg_fail(f, HG_CHECK_GUARD_LEADING_CANARY, NULL, lead_byte(pattern, zeros, farthest),
                 data[-(ptrdiff_t)farthest]);
}

static bool check_tail(const struct hg_segment *s, const struct hg_guard_meta *m,
                       const struct hg_guard_slot *slot, struct heapguard_finding *f)
{
  if (!check_lead(s, m, slot, f))
    return false;
  struct hg_damage d;
  if (hg_tail_verify((const uint8_t *)slot_data(s, m, slot) + slot->requested,
                     tail_length(s, m, slot), tail_pattern(s, m, slot), &d))
    return true;
  f->segment = (uintptr_t)s;
  f->address = (uintptr_t)slot_data(s, m, slot);
  f->requested = slot->requested;
  f->offset = (intptr_t)(slot->requested + d.first);
  f->extent = d.last - d.first + 1;
  return hg_fail(f, HG_CHECK_GUARD_TRAILING_CANARY, NULL, d.expected, d.found);
}

/* A slot's weight in the quarantine: the bytes the program had in it. */
static uint32_t quarantine_granules(const struct hg_guard_slot *slot)
{
  uint64_t g = (slot->requested + HG_GRANULE - 1) >> HG_GRANULE_SHIFT;
  return g == 0 ? 1 : g > UINT32_MAX ? UINT32_MAX : (uint32_t)g;
}

static void evict_oldest(void)
{
  struct hg_guard_slot *slot = hg_quarantine_pop(&quarantine).item;
  struct hg_segment *s = segment_of_slot(slot);
  atomic_store_explicit(&slot->state, HG_SLOT_FREE, memory_order_release);
  give_back(s, meta_of(s), slot);
}

/* A freed slot made inaccessible and filed in the quarantine. */
static void protect_and_quarantine(struct hg_segment *s, struct hg_guard_meta *m,
                                   struct hg_guard_slot *slot)
{
  if (hg_os_protect_none(slot_base(s, m, slot), (size_t)m->slot_pages * PAGE))
    atomic_fetch_sub(&vmas, SLOT_VMAS);
  struct hg_quarantined e = { slot, slot->free_stack, quarantine_granules(slot) };
  if (!hg_options.quarantine_bytes || !hg_quarantine_push(&quarantine, e)) {
    atomic_store_explicit(&slot->state, HG_SLOT_FREE, memory_order_release);
    give_back(s, m, slot);
    return;
  }
  while (hg_quarantine_over(&quarantine, hg_quarantine_budget(1)))
    evict_oldest();
}

/* The 16-byte aligned span of a slot that covers its block: what is poisoned. */
static uint8_t *poison_span(const struct hg_segment *s, const struct hg_guard_meta *m,
                            const struct hg_guard_slot *slot, size_t *n)
{
  uintptr_t data = (uintptr_t)slot_data(s, m, slot);
  uintptr_t start = data & ~(uintptr_t)15;
  uintptr_t end = (data + (slot->requested ? slot->requested : 1) + 15) & ~(uintptr_t)15;
  uintptr_t limit = (uintptr_t)slot_base(s, m, slot) + (size_t)m->slot_pages * PAGE;
  *n = (end < limit ? end : limit) - start;
  return (uint8_t *)start;
}

static bool recycles(const struct hg_guard_meta *m)
{
  return m->class_index < RECYCLED_CLASSES && hg_options.guard_recycle;
}

static struct hg_guard_slot *recycled_pop(unsigned c)
{
  struct recycle_ring *r = &recycled[c];
  struct hg_guard_slot *slot = r->slot[r->head];
  r->head = (r->head + 1) % RECYCLED_SLOTS;
  r->count--;
  return slot;
}

/*
 * The oldest recycled slot of class c, once its ring is full, to be used
 * again without a system call; NULL when the ring is not full, or when its
 * poison shows a write after free (it is then reported, and filed in the
 * quarantine inaccessible, where it stays out of use).
 */
/* A recycled slot's poison is intact; otherwise f says where it was written. */
static bool check_recycled(const struct hg_segment *s, const struct hg_guard_meta *m,
                           const struct hg_guard_slot *slot, struct heapguard_finding *f)
{
  size_t n;
  const uint8_t *span = poison_span(s, m, slot, &n);
  struct hg_damage d;
  if (__builtin_expect(hg_poison_intact(span, n), 1) || hg_poison_verify(span, n, &d))
    return true;
  uintptr_t data = (uintptr_t)slot_data(s, m, slot);
  f->segment = (uintptr_t)s;
  f->address = data;
  f->requested = slot->requested;
  f->offset = (intptr_t)((uintptr_t)span + d.first - data);
  f->extent = d.last - d.first + 1;
  f->alloc_stack = slot->alloc_stack;
  f->free_stack = slot->free_stack;
  return hg_fail(f, HG_CHECK_GUARD_POISON, NULL, d.expected, d.found);
}

static struct hg_guard_slot *take_recycled(unsigned c, struct heapguard_finding *f)
{
  if (c >= RECYCLED_CLASSES || recycled[c].count <= RECYCLED_WAIT)
    return NULL;
  struct hg_guard_slot *slot = recycled_pop(c);
  struct hg_segment *s = segment_of_slot(slot);
  struct hg_guard_meta *m = meta_of(s);
  if (__builtin_expect(check_recycled(s, m, slot, f), 1))
    return slot;
  protect_and_quarantine(s, m, slot);
  return NULL;
}

static void retire(struct hg_guard_slot *slot, uint32_t free_stack)
{
  struct hg_segment *s = segment_of_slot(slot);
  struct hg_guard_meta *m = meta_of(s);
  slot->free_stack = free_stack;
  atomic_store_explicit(&slot->state, HG_SLOT_QUARANTINED, memory_order_release);
  m->live--;
  if (!recycles(m)) {
    protect_and_quarantine(s, m, slot);
    return;
  }
  size_t n;
  uint8_t *span = poison_span(s, m, slot, &n);
  hg_poison_fill(span, n);
  struct recycle_ring *r = &recycled[m->class_index];
  if (r->count == RECYCLED_SLOTS) {
    struct hg_guard_slot *old = recycled_pop(m->class_index);
    struct hg_segment *os = segment_of_slot(old);
    protect_and_quarantine(os, meta_of(os), old);
  }
  r->slot[(r->head + r->count) % RECYCLED_SLOTS] = slot;
  r->count++;
}

static bool guard_free(struct hg_segment *s, void *p, uint16_t kind, size_t size,
                       uint32_t free_stack, struct heapguard_finding *f)
{
  (void)s;
  pthread_mutex_lock(&guard_lock);
  struct hg_guard_slot *slot = live_slot(p, kind, f);
  struct hg_segment *seg = slot ? segment_of_slot(slot) : NULL;
  bool ok = slot && hg_check_kind(NULL, slot->kind, slot->requested, kind, size, f) &&
            check_tail(seg, meta_of(seg), slot, f);
  if (ok)
    retire(slot, free_stack);
  pthread_mutex_unlock(&guard_lock);
  return ok;
}

static bool guard_inspect(struct hg_segment *s, const void *p, struct hg_block_info *info,
                          struct heapguard_finding *f)
{
  (void)s;
  pthread_mutex_lock(&guard_lock);
  struct hg_guard_slot *slot = live_slot(p, HG_KIND_ANY, f);
  struct hg_segment *seg = slot ? segment_of_slot(slot) : NULL;
  bool ok = slot && check_tail(seg, meta_of(seg), slot, f);
  if (ok)
    *info = (struct hg_block_info){ slot->requested, slot->kind, slot->alloc_stack };
  pthread_mutex_unlock(&guard_lock);
  return ok;
}

/* A guarded block is never resized in place: its slot is sized for it. */
static bool guard_resize(struct hg_segment *s, void *p, size_t request, size_t *old_request,
                         struct heapguard_finding *f)
{
  (void)request;
  struct hg_block_info info;
  if (guard_inspect(s, p, &info, f))
    *old_request = info.requested;
  return false;
}

/* The whole-heap walks below run under hg_heap_lock_all, guard_lock included. */

static void guard_visit(const struct hg_segment *s, hg_live_visitor fn, void *arg)
{
  struct heapguard_finding f = { 0 };
  if (!check_guard_segment(s, &f))
    return;
  const struct hg_guard_meta *m = meta_of(s);
  for (uint32_t i = 0; i < m->slot_count; i++) {
    const struct hg_guard_slot *slot = &m->slots[i];
    if (slot->state == HG_SLOT_USED)
      fn((uintptr_t)slot_data(s, m, slot), slot->requested, slot->alloc_stack, arg);
  }
}

/* The slot table is out of band: one damaged tail does not stop the walk. */
static void guard_check(const struct hg_segment *s, struct hg_findings *out)
{
  if (!check_guard_segment(s, hg_findings_next(out))) {
    hg_findings_keep(out);
    return;
  }
  const struct hg_guard_meta *m = meta_of(s);
  for (uint32_t i = 0; i < m->slot_count && !hg_findings_full(out); i++) {
    struct heapguard_finding *f = hg_findings_next(out);
    if (m->slots[i].state == HG_SLOT_USED && !check_tail(s, m, &m->slots[i], f)) {
      f->alloc_stack = m->slots[i].alloc_stack;
      hg_findings_keep(out);
    }
  }
  /* The freed slots of s that wait accessible in a ring (guard_recycle). */
  unsigned c = m->class_index;
  for (unsigned k = 0; c < RECYCLED_CLASSES && k < recycled[c].count && !hg_findings_full(out);
       k++) {
    const struct hg_guard_slot *slot = recycled[c].slot[(recycled[c].head + k) % RECYCLED_SLOTS];
    if (segment_of_slot(slot) == s && !check_recycled(s, m, slot, hg_findings_next(out)))
      hg_findings_keep(out);
  }
}

/* The slots of s waiting in a ring, accessible: they cost mappings as live ones do. */
static uint64_t recycled_in(const struct hg_segment *s, const struct hg_guard_meta *m)
{
  uint64_t n = 0;
  unsigned c = m->class_index;
  for (unsigned k = 0; c < RECYCLED_CLASSES && k < recycled[c].count; k++)
    n += segment_of_slot(recycled[c].slot[(recycled[c].head + k) % RECYCLED_SLOTS]) == s;
  return n;
}

/* Slots by state; the mappings as the budget counts them. */
static void guard_count(const struct hg_segment *s, struct hg_heap_counts *c)
{
  struct heapguard_finding f = { 0 };
  c->segments++;
  c->mapped += s->map_size;
  if (!check_guard_segment(s, &f))
    return;
  const struct hg_guard_meta *m = meta_of(s);
  c->slots += m->slot_count;
  c->mappings += SEGMENT_VMAS + (uint64_t)SLOT_VMAS * (m->live + recycled_in(s, m));
  for (uint32_t i = 0; i < m->slot_count; i++) {
    const struct hg_guard_slot *slot = &m->slots[i];
    if (slot->state == HG_SLOT_USED) {
      c->used_blocks++;
      c->used_bytes += slot->requested;
    } else if (slot->state == HG_SLOT_QUARANTINED) {
      c->quarantined_blocks++;
      c->quarantined_bytes += slot->requested;
    } else {
      c->free_blocks++;
      c->free_bytes += (uint64_t)m->slot_pages * PAGE;
    }
  }
}

/* ---- faults ---- */

/* The fault handler names the access in f->operation before asking. */
static bool is_read(const struct heapguard_finding *f)
{
  return f->operation && hg_strncmp(f->operation, "READ", 5) == 0;
}

/*
 * A read of the 8 bytes before a block's data is what a delete[] does
 * first: it takes them for an array's element count. Before a block that
 * is in use and no array from new[], it is the mismatch of a delete[] of
 * it; at the start of a freed array from new[] (whose element count was
 * there), most likely a second delete[] of it, which the read of freed
 * memory stops before operator delete[] could say so.
 */
static enum hg_check fault_check(const struct hg_guard_slot *slot, bool used,
                                 const struct heapguard_finding *f)
{
  if (is_read(f) && used && f->offset == -8 && slot->kind != HG_KIND_NEW_ARRAY)
    return HG_CHECK_GUARD_ARRAY_COUNT;
  if (is_read(f) && !used && f->offset == 0 && slot->kind == HG_KIND_NEW_ARRAY)
    return HG_CHECK_GUARD_FREED_ARRAY_COUNT;
  return used ? HG_CHECK_GUARD_PAGE : HG_CHECK_GUARD_FREED;
}

static void fault_on_block(const struct hg_segment *s, const struct hg_guard_meta *m,
                           const struct hg_guard_slot *slot, uintptr_t addr,
                           struct heapguard_finding *f)
{
  bool used = atomic_load_explicit(&slot->state, memory_order_acquire) == HG_SLOT_USED;
  f->requested = slot->requested;
  f->offset = (intptr_t)(addr - (uintptr_t)slot_data(s, m, slot));
  f->alloc_stack = slot->alloc_stack;
  f->free_stack = used ? 0 : slot->free_stack;
  enum hg_check check = fault_check(slot, used, f);
  if (check == HG_CHECK_GUARD_ARRAY_COUNT)
    hg_fail(f, check, NULL, slot->kind, HG_KIND_NEW_ARRAY);
  else
    hg_fail(f, check, NULL, 0, addr);
}

/* A guard page holding the 8 bytes before a used block's data: read by a delete[]? */
static bool reads_array_count_of(const struct hg_segment *s, const struct hg_guard_meta *m,
                                 const struct hg_guard_slot *slot, uintptr_t addr,
                                 const struct heapguard_finding *f)
{
  return slot && is_read(f) && slot->state == HG_SLOT_USED &&
         slot->kind != HG_KIND_NEW_ARRAY && addr == (uintptr_t)slot_data(s, m, slot) - 8;
}

/*
 * Decide whether a fault at addr is a bad access to guarded memory and
 * describe it in f. Async-signal-safe: slot table reads only.
 */
static bool guard_fault(const struct hg_segment *s, uintptr_t addr,
                        struct heapguard_finding *f)
{
  struct hg_guard_meta *m = meta_of(s);
  if (!table_is_sane(s, m) || addr < (uintptr_t)slot_area(s) - PAGE)
    return false; /* the leading guard page or the table: not a block's */
  bool in_guard = true;
  struct hg_guard_slot *slot = slot_holding(s, m, addr, &in_guard);
  const struct hg_guard_slot *before = NULL, *after = NULL;
  if (slot && !in_guard) {
    /* In a slot's data pages: they are inaccessible only when it is free. */
    if (slot_was_used(slot)) {
      fault_on_block(s, m, slot, addr, f);
      return true;
    }
    if (slot->state == HG_SLOT_USED)
      return false;
  } else if (slot) {
    before = slot;
    after = slot_index(m, slot) + 1 < m->slot_count ? slot + 1 : NULL;
  } else if (addr < (uintptr_t)slot_area(s)) {
    after = &m->slots[0]; /* the fence page */
  } else {
    before = &m->slots[m->slot_count - 1];
  }
  if (reads_array_count_of(s, m, after, addr, f)) {
    fault_on_block(s, m, after, addr, f);
    return true;
  }
  /* A guard page: the block it borders on the side it guards, else the other. */
  const struct hg_guard_slot *order[2] = { before, after };
  if (hg_options.guard_underflow) {
    order[0] = after;
    order[1] = before;
  }
  for (int i = 0; i < 2; i++)
    if (order[i] && order[i]->state == HG_SLOT_USED) {
      fault_on_block(s, m, order[i], addr, f);
      return true;
    }
  for (int i = 0; i < 2; i++)
    if (order[i] && slot_was_used(order[i])) {
      fault_on_block(s, m, order[i], addr, f);
      return true;
    }
  hg_fail(f, HG_CHECK_GUARD_WILD, NULL, 0, addr);
  return true;
}

void hg_guard_init(void)
{
  if (hg_options.guard_mode == HG_GUARD_OFF)
    return;
  max_maps = hg_os_max_map_count();
  if (max_maps == 0)
    max_maps = 65530; /* the kernel's default */
  vma_budget = max_maps / 2;
}

/* ---- reports ---- */

/* The slot whose block's data starts at data, described in a line. */
static bool describe_slot(struct hg_buf *out, const struct hg_segment *s, uintptr_t data)
{
  struct hg_guard_meta *m = meta_of(s);
  bool in_guard = false;
  const struct hg_guard_slot *slot = slot_holding(s, m, data, &in_guard);
  if (!slot || (uintptr_t)slot_data(s, m, slot) != data)
    return false;
  uint16_t state = atomic_load_explicit(&slot->state, memory_order_acquire);
  hg_buf_str(out, "  guarded block ");
  hg_buf_hex(out, data);
  hg_buf_str(out, ": ");
  hg_buf_dec(out, slot->requested);
  hg_buf_str(out, " bytes requested with ");
  hg_buf_str(out, hg_alloc_kind_name(slot->kind));
  hg_buf_str(out, ", aligned to ");
  hg_buf_dec(out, slot->alignment);
  hg_buf_str(out, state == HG_SLOT_USED ? ", in use" : ", freed");
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
  return true;
}

/*
 * A guarded block has no header: the slot that holds it is described
 * instead. The finding's offset is from the block's data, which its
 * address and offset give back.
 */
static void guard_describe(struct hg_buf *out, const struct heapguard_finding *f)
{
  const struct hg_segment *s = (const struct hg_segment *)f->segment;
  bool names_a_slot = f->check != HG_CHECK_GUARD_WILD &&
                      f->check != HG_CHECK_GUARD_OUTSIDE_SLOTS &&
                      f->check != HG_CHECK_GUARD_TABLE;
  /*
   * A fault's address is offset bytes into the block; a finding of free
   * or of a heap check gives the block's own address, and offset is
   * where the damage starts.
   */
  if (names_a_slot && table_is_sane(s, meta_of(s)) &&
      !describe_slot(out, s, f->address - (uintptr_t)f->offset))
    describe_slot(out, s, f->address);
  hg_describe_segment(out, s, NULL, NULL, 0);
}

static bool guard_drain(struct heapguard_finding *f)
{
  (void)f;
  pthread_mutex_lock(&guard_lock);
  for (unsigned c = 0; c < RECYCLED_CLASSES; c++)
    while (recycled[c].count) {
      struct hg_guard_slot *slot = recycled_pop(c);
      struct hg_segment *s = segment_of_slot(slot);
      protect_and_quarantine(s, meta_of(s), slot);
    }
  while (quarantine.count)
    evict_oldest();
  release_free_memory();
  pthread_mutex_unlock(&guard_lock);
  return true;
}

static void guard_lock_all(void)
{
  pthread_mutex_lock(&guard_lock);
}

static void guard_unlock_all(void)
{
  pthread_mutex_unlock(&guard_lock);
}

static void guard_fork_child(void)
{
  pthread_mutex_init(&guard_lock, NULL);
}

const struct hg_kind_ops hg_guard_ops = {
  .alloc = guard_alloc,
  .free = guard_free,
  .inspect = guard_inspect,
  .resize = guard_resize,
  .check = guard_check,
  .visit = guard_visit,
  .count = guard_count,
  .describe = guard_describe,
  .fault = guard_fault,
  .drain = guard_drain,
  .lock_all = guard_lock_all,
  .unlock_all = guard_unlock_all,
  .fork_child = guard_fork_child,
};
