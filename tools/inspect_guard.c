/*
 * inspect_guard.c - a guard segment's slot table, decoded from a dump.
 *
 * A guard segment has no in-band headers: guard.c keeps each slot's
 * state, requested size, data offset, kind and stacks in a table right
 * after the metadata page (layout: guard.h), and keeps a freed slot's
 * pages PROT_NONE. The dump writer stops at the first page it cannot
 * read, the fence page after the table, so a dump holds the metadata and
 * the table, never a slot's data: there are no blocks to walk.
 *
 * Owns the decoding of the table and the checks of what guard.c relies
 * on: the geometry that bounds every slot (guard.c's table_is_sane, here
 * without overflow), each slot's fields for its state, the live count,
 * the free list and the open-segment links. Fields are read at their
 * guard.h offsets, never through a cast: the buffer has no alignment
 * promise, and the pointers in it are another process's.
 */
#include "inspect.h"

#include <stdlib.h>
#include <string.h>

#define PAGE ((uint64_t)HG_PAGE_SIZE)
/* The table opens the page after the metadata; its slots follow it. */
#define TABLE ((size_t)HG_SEGMENT_META_SIZE)
#define SLOTS (TABLE + sizeof(struct hg_guard_meta))
#define SLOT_BYTES sizeof(struct hg_guard_slot)

/* Offset and size of a field of a guard.h structure. */
#define FIELD(type, field) offsetof(type, field), sizeof(((type *)0)->field)

/* The little-endian field at p + off, of size bytes (at most 8). */
static uint64_t load(const uint8_t *p, size_t off, size_t size)
{
  uint64_t v = 0;
  memcpy(&v, p + off, size);
  return v;
}

/* ---- naming shared by the outputs ---- */

const char *hgi_slot_state_name(uint16_t state)
{
  switch (state) {
  case HG_SLOT_UNUSED: return "never used";
  case HG_SLOT_USED: return hg_state_name(HG_STATE_USED);
  case HG_SLOT_QUARANTINED: return hg_state_name(HG_STATE_QUARANTINED);
  case HG_SLOT_FREE: return hg_state_name(HG_STATE_FREE);
  }
  return "unknown";
}

const char *hgi_free_list_name(enum hgi_free_list f)
{
  switch (f) {
  case HGI_FREE_LIST_OK: return "OK";
  case HGI_FREE_LIST_UNDUMPED: return "a slot past the dump, not followed";
  case HGI_FREE_LIST_NOT_A_SLOT: return "not a slot of this table";
  case HGI_FREE_LIST_NOT_FREE: return "a slot in use or in quarantine";
  case HGI_FREE_LIST_LOOP: return "a slot already on the list: a loop";
  case HGI_FREE_LIST_LENGTH: return "fewer or more slots than free_count";
  }
  return "?";
}

const char *hgi_table_problem_name(unsigned bit)
{
  switch (bit) {
  case HGI_T_NOT_DUMPED: return "the dump ends before the slot table";
  case HGI_T_GEOMETRY: return "slot count and pages do not fit the segment";
  case HGI_T_LIVE: return "live is not the number of used slots";
  case HGI_T_FREE_LIST: return "free list broken";
  case HGI_T_OPEN_LINK: return "an open-segment link names no segment";
  case HGI_T_TOO_MANY: return "more slots than a segment holds: decoding stopped";
  }
  return "?";
}

void hgi_slot_status(const struct hgi_slot *s, char *buf, size_t n)
{
  static const struct {
    unsigned bit;
    const char *words;
  } problems[] = {
      {HGI_S_STATE, "bad state"},
      {HGI_S_NOT_CLEAR, "never used, yet not clear"},
      {HGI_S_KIND, "bad kind"},
      {HGI_S_ALIGNMENT, "bad alignment"},
      {HGI_S_OUTSIDE, "block outside its slot"},
      {HGI_S_FREE_STACK, "in use, yet a free stack"},
  };
  size_t at = 0;
  buf[0] = 0;
  for (size_t i = 0; i < sizeof problems / sizeof *problems; i++)
    if (s->problems & problems[i].bit)
      hgi_append(buf, n, &at, "%s%s", at ? "; " : "", problems[i].words);
  if (!s->problems)
    hgi_append(buf, n, &at, "OK");
}

/* ---- the table ---- */

static void decode_meta(struct hgi_guard *g, const uint8_t *p)
{
  g->slot_pages = (uint32_t)load(p, FIELD(struct hg_guard_meta, slot_pages));
  g->slot_count = (uint32_t)load(p, FIELD(struct hg_guard_meta, slot_count));
  g->live = (uint32_t)load(p, FIELD(struct hg_guard_meta, live));
  g->class_index = (uint32_t)load(p, FIELD(struct hg_guard_meta, class_index));
  g->free_count = (uint32_t)load(p, FIELD(struct hg_guard_meta, free_count));
  g->free_slots = load(p, FIELD(struct hg_guard_meta, free_slots));
  g->prev = load(p, FIELD(struct hg_guard_meta, prev));
  g->next = load(p, FIELD(struct hg_guard_meta, next));
}

static void decode_slot(struct hgi_slot *s, const uint8_t *p)
{
  s->next = load(p, FIELD(struct hg_guard_slot, next));
  s->requested = load(p, FIELD(struct hg_guard_slot, requested));
  s->alignment = load(p, FIELD(struct hg_guard_slot, alignment));
  s->data_off = (uint32_t)load(p, FIELD(struct hg_guard_slot, data_off));
  s->state = (uint16_t)load(p, FIELD(struct hg_guard_slot, state));
  s->kind = (uint16_t)load(p, FIELD(struct hg_guard_slot, kind));
  s->alloc_stack = (uint32_t)load(p, FIELD(struct hg_guard_slot, alloc_stack));
  s->free_stack = (uint32_t)load(p, FIELD(struct hg_guard_slot, free_stack));
}

/* guard.c's table_pages: the metadata page and the table, in pages. */
static uint64_t table_pages(uint32_t slots)
{
  uint64_t bytes = SLOTS + (uint64_t)slots * SLOT_BYTES;
  return (bytes + PAGE - 1) / PAGE;
}

static uint64_t slot_stride(const struct hgi_guard *g)
{
  return ((uint64_t)g->slot_pages + 1) * PAGE;
}

/*
 * guard.c's table_is_sane, without its overflow: the table ends before
 * the slots begin, and slot_count slots of slot_pages data pages and a
 * guard page each end by the segment's trailing guard page.
 */
static bool geometry_is_sane(const struct hgi_guard *g, const struct hg_segment *m)
{
  if (g->slot_pages == 0 || g->slot_count == 0)
    return false;
  if (m->first_block < table_pages(g->slot_count) * PAGE)
    return false;
  if (m->map_size < PAGE || m->map_size - PAGE < m->first_block)
    return false;
  return g->slot_count <= (m->map_size - PAGE - m->first_block) / slot_stride(g);
}

/* Segments are mapped aligned to HG_SEGMENT_SIZE, metadata a page in. */
static bool is_segment_address(uint64_t a)
{
  return a == 0 || (a >= PAGE && (a - PAGE) % HG_SEGMENT_SIZE == 0);
}

/* ---- one slot ---- */

static bool slot_is_clear(const struct hgi_slot *s)
{
  return s->requested == 0 && s->alignment == 0 && s->data_off == 0 && s->kind == 0 &&
         s->alloc_stack == 0 && s->free_stack == 0;
}

static bool kind_is_known(uint16_t kind)
{
  return kind >= HG_KIND_MALLOC && kind <= HG_KIND_NEW_ARRAY;
}

/* guard.c aligns the data to alignment; a 0 alignment was never asked. */
static bool alignment_holds(const struct hgi_slot *s)
{
  if (s->alignment == 0 || (s->alignment & (s->alignment - 1)) != 0)
    return false;
  return s->data == 0 || s->data % s->alignment == 0;
}

/* The block lies in the slot's data pages; a 0-byte one is placed as 1 byte. */
static bool block_fits_slot(const struct hgi_slot *s, uint32_t slot_pages)
{
  uint64_t room = (uint64_t)slot_pages * PAGE;
  uint64_t bytes = s->requested ? s->requested : 1;
  return s->data_off < room && bytes <= room - s->data_off;
}

/* Where slot i's block data lived, when the geometry says; else 0. */
static uint64_t data_address(const struct hgi_guard *g, const struct hgi_image *img,
                             size_t i, const struct hgi_slot *s)
{
  if (!g->geometry_sane)
    return 0;
  /* Sane geometry keeps first_block + i * stride below map_size. */
  uint64_t off = img->meta.first_block + i * slot_stride(g) + s->data_off;
  return img->address <= UINT64_MAX - off ? img->address + off : 0;
}

static void mark_field(struct hgi_analysis *a, size_t slot, size_t off, size_t size,
                       const char *what)
{
  hgi_push_mark(a, HGI_MARK_SLOT, slot, a->guard.slots[slot].offset + off, size, what);
}

/* A never-used slot's fields after next are all zero: expect them so. */
static void mark_not_clear(struct hgi_analysis *a, size_t slot)
{
  size_t from = offsetof(struct hg_guard_slot, requested);
  struct hgi_mark *m = hgi_push_mark(a, HGI_MARK_SLOT, slot,
                                     a->guard.slots[slot].offset + from,
                                     SLOT_BYTES - from, "fields of a never-used slot");
  for (size_t i = 0; m && i < m->length; i++) {
    m->expected[i] = 0;
    m->known[i] = true;
  }
}

/* The fields of the block a slot holds, or held last. */
static void check_block_fields(struct hgi_analysis *a, size_t i)
{
  struct hgi_slot *s = &a->guard.slots[i];
  if (!kind_is_known(s->kind)) {
    s->problems |= HGI_S_KIND;
    mark_field(a, i, FIELD(struct hg_guard_slot, kind), "kind");
  }
  if (!alignment_holds(s)) {
    s->problems |= HGI_S_ALIGNMENT;
    mark_field(a, i, FIELD(struct hg_guard_slot, alignment), "alignment");
  }
  if (!block_fits_slot(s, a->guard.slot_pages)) {
    s->problems |= HGI_S_OUTSIDE;
    mark_field(a, i, FIELD(struct hg_guard_slot, requested), "requested");
    mark_field(a, i, FIELD(struct hg_guard_slot, data_off), "data_off");
  }
  if (s->state == HG_SLOT_USED && s->free_stack != 0) {
    s->problems |= HGI_S_FREE_STACK;
    struct hgi_mark *m = hgi_push_mark(a, HGI_MARK_SLOT, i,
                                       s->offset + offsetof(struct hg_guard_slot, free_stack),
                                       4, "free_stack");
    for (size_t k = 0; m && k < m->length; k++)
      m->known[k] = true; /* expected 0 */
  }
}

/* Each slot's fields, for its state. */
static void check_slot(struct hgi_analysis *a, size_t i)
{
  struct hgi_guard *g = &a->guard;
  struct hgi_slot *s = &g->slots[i];
  switch (s->state) {
  case HG_SLOT_UNUSED:
    g->unused++;
    if (!slot_is_clear(s)) {
      s->problems |= HGI_S_NOT_CLEAR;
      mark_not_clear(a, i);
    }
    return;
  case HG_SLOT_USED:
    g->used++;
    break;
  case HG_SLOT_QUARANTINED:
    g->quarantined++;
    break;
  case HG_SLOT_FREE:
    g->freed++;
    break;
  default:
    s->problems |= HGI_S_STATE;
    mark_field(a, i, FIELD(struct hg_guard_slot, state), "state");
    return;
  }
  check_block_fields(a, i);
}

/* ---- the lists ---- */

/* The index of the slot whose table entry lived at address, if any. */
static bool slot_at(const struct hgi_guard *g, const struct hgi_image *img,
                    uint64_t address, size_t *i)
{
  uint64_t first = img->address + SLOTS; /* the image holds SLOTS bytes */
  if (address < first || (address - first) % SLOT_BYTES != 0)
    return false;
  uint64_t k = (address - first) / SLOT_BYTES;
  if (k >= g->slot_count)
    return false;
  *i = (size_t)k;
  return true;
}

static enum hgi_free_list judge_link(const struct hgi_guard *g,
                                     const struct hgi_image *img, uint64_t link,
                                     size_t *i)
{
  if (!slot_at(g, img, link, i))
    return HGI_FREE_LIST_NOT_A_SLOT;
  if (*i >= g->slot_total)
    return HGI_FREE_LIST_UNDUMPED;
  if (g->slots[*i].on_free_list)
    return HGI_FREE_LIST_LOOP;
  uint16_t state = g->slots[*i].state;
  if (state != HG_SLOT_UNUSED && state != HG_SLOT_FREE)
    return HGI_FREE_LIST_NOT_FREE;
  return HGI_FREE_LIST_OK;
}

/* Marks the link field that broke the free list. */
static void mark_bad_link(struct hgi_analysis *a)
{
  const struct hgi_guard *g = &a->guard;
  if (g->free_list_from_head)
    hgi_push_mark(a, HGI_MARK_TABLE, 0,
                  TABLE + offsetof(struct hg_guard_meta, free_slots), 8, "free_slots");
  else
    mark_field(a, g->free_list_from, FIELD(struct hg_guard_slot, next), "next");
}

/*
 * From free_slots along each slot's next: slots of this table, never
 * used or free, each once, free_count of them. Each step takes a slot not
 * yet on the list, so the walk ends within slot_total steps.
 */
static void walk_free_list(struct hgi_analysis *a, const struct hgi_image *img)
{
  struct hgi_guard *g = &a->guard;
  uint64_t link = g->free_slots;
  g->free_list_from_head = true;
  while (link) {
    size_t i;
    g->free_list = judge_link(g, img, link, &i);
    if (g->free_list != HGI_FREE_LIST_OK) {
      g->free_list_target = link;
      if (g->free_list != HGI_FREE_LIST_UNDUMPED) {
        g->problems |= HGI_T_FREE_LIST;
        mark_bad_link(a);
      }
      return;
    }
    g->slots[i].on_free_list = true;
    g->free_list_length++;
    g->free_list_from_head = false;
    g->free_list_from = i;
    link = g->slots[i].next;
  }
  if (g->free_list_length != g->free_count) {
    g->free_list = HGI_FREE_LIST_LENGTH;
    g->problems |= HGI_T_FREE_LIST;
    struct hgi_mark *m = hgi_push_mark(a, HGI_MARK_TABLE, 0,
                                       TABLE + offsetof(struct hg_guard_meta, free_count),
                                       4, "free_count");
    for (size_t k = 0; m && k < m->length; k++) {
      m->expected[k] = (uint8_t)(g->free_list_length >> (8 * k));
      m->known[k] = true;
    }
  }
}

static void check_live(struct hgi_analysis *a)
{
  struct hgi_guard *g = &a->guard;
  if (g->slot_total < g->slot_count || g->live == g->used)
    return;
  g->problems |= HGI_T_LIVE;
  struct hgi_mark *m = hgi_push_mark(a, HGI_MARK_TABLE, 0,
                                     TABLE + offsetof(struct hg_guard_meta, live), 4,
                                     "live");
  for (size_t k = 0; m && k < m->length; k++) {
    m->expected[k] = (uint8_t)(g->used >> (8 * k));
    m->known[k] = true;
  }
}

/* The open-segment list links guard segments of one class, or nothing. */
static void check_open_links(struct hgi_analysis *a)
{
  struct hgi_guard *g = &a->guard;
  if (!is_segment_address(g->prev)) {
    g->problems |= HGI_T_OPEN_LINK;
    hgi_push_mark(a, HGI_MARK_TABLE, 0, TABLE + offsetof(struct hg_guard_meta, prev), 8,
                  "prev");
  }
  if (!is_segment_address(g->next)) {
    g->problems |= HGI_T_OPEN_LINK;
    hgi_push_mark(a, HGI_MARK_TABLE, 0, TABLE + offsetof(struct hg_guard_meta, next), 8,
                  "next");
  }
}

static void check_geometry(struct hgi_analysis *a, const struct hgi_image *img)
{
  struct hgi_guard *g = &a->guard;
  g->geometry_sane = geometry_is_sane(g, &img->meta);
  if (g->geometry_sane)
    return;
  g->problems |= HGI_T_GEOMETRY;
  hgi_push_mark(a, HGI_MARK_TABLE, 0, TABLE + offsetof(struct hg_guard_meta, slot_pages),
                8, "slot_pages and slot_count");
}

/* The slots the dump holds, at most slot_count and HGI_MAX_SLOTS of them. */
static size_t slots_to_decode(struct hgi_guard *g, const struct hgi_image *img)
{
  size_t dumped = (img->length - SLOTS) / SLOT_BYTES;
  size_t n = dumped < g->slot_count ? dumped : g->slot_count;
  if (n > HGI_MAX_SLOTS) {
    g->problems |= HGI_T_TOO_MANY;
    n = HGI_MAX_SLOTS;
  }
  return n;
}

bool hgi_guard_decode(const struct hgi_dump *d, struct hgi_analysis *a)
{
  const struct hgi_image *img = &d->damaged;
  struct hgi_guard *g = &a->guard;
  a->guard_segment = true;
  if (img->length < SLOTS) {
    g->problems |= HGI_T_NOT_DUMPED;
    return true;
  }
  decode_meta(g, img->bytes + TABLE);
  check_geometry(a, img);
  check_open_links(a);
  size_t n = slots_to_decode(g, img);
  g->slots = calloc(n ? n : 1, sizeof *g->slots);
  if (!g->slots)
    return false;
  g->slot_total = n;
  for (size_t i = 0; i < n; i++) {
    struct hgi_slot *s = &g->slots[i];
    s->offset = SLOTS + i * SLOT_BYTES;
    decode_slot(s, img->bytes + s->offset);
    if (s->state != HG_SLOT_UNUSED)
      s->data = data_address(g, img, i, s);
    check_slot(a, i);
    g->damaged_slots += s->problems != 0;
  }
  check_live(a);
  walk_free_list(a, img);
  return true;
}

bool hgi_guard_slot_of(const struct hgi_dump *d, const struct hgi_analysis *a,
                       uint64_t address, size_t *slot)
{
  const struct hgi_guard *g = &a->guard;
  const struct hgi_image *img = &d->damaged;
  if (!g->geometry_sane || img->address > UINT64_MAX - img->meta.first_block)
    return false;
  uint64_t area = img->address + img->meta.first_block;
  if (address < area)
    return false;
  uint64_t i = (address - area) / slot_stride(g);
  if (i >= g->slot_total)
    return false;
  *slot = (size_t)i;
  return true;
}
