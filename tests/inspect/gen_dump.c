/*
 * gen_dump.c - builds synthetic dumps; see gen_dump.h for the block plan.
 *
 * Sealing goes through block.c and segment_meta.c with the FAKE address
 * (the "_at"/"expected" variants), never hg_block_seal/hg_segment_seal,
 * which key on the struct's real address in this process.
 */
#include "gen_dump.h"

#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "guard.h"
#include "heapguard.h"
#include "heapguard_dump.h"
#include "names.h"
#include "segment.h"

static const uint64_t secret[2] = {0x0123456789abcdefull, 0xfedcba9876543210ull};

const size_t gen_block_offset[GEN_BLOCKS] = {0x1000, 0x1030, 0x10c0, 0x1100,
                                             0x1150, 0x11b0, 0x12a0, 0x1710};

#define USED HG_STATE_USED
#define QUARANTINED HG_STATE_QUARANTINED
#define FREE HG_STATE_FREE

static const struct plan {
  uint32_t bytes;
  uint16_t state;
  uint32_t requested;
  uint16_t kind;
  uint32_t stack;
} plan[GEN_BLOCKS] = {
    {48, USED, 10, HG_KIND_MALLOC, 11},   {144, USED, 100, HG_KIND_NEW, 12},
    {64, FREE, 0, 0, 13},                 {80, USED, 33, HG_KIND_MALLOC, 14},
    {96, FREE, 0, 0, 15},                 {240, USED, 200, HG_KIND_NEW_ARRAY, 16},
    {1136, QUARANTINED, 1000, HG_KIND_MALLOC, 17}, {176, FREE, 0, 0, 18},
};

static const char *const damage_names[GEN_DAMAGE_COUNT] = {
    [GEN_CLEAN] = "clean",
    [GEN_SMASH_HEADER] = "smash-header",
    [GEN_OVERFLOW] = "overflow",
    [GEN_TAIL] = "tail",
    [GEN_BAD_PREV] = "bad-prev",
    [GEN_PREV_UNSEALED] = "prev-unsealed",
    [GEN_BAD_LINK] = "bad-link",
    [GEN_LINK_TO_USED] = "link-to-used",
    [GEN_ZERO_SIZE] = "zero-size",
    [GEN_TWO_HEADERS] = "two-headers",
    [GEN_LOST] = "lost",
    [GEN_PAST_END] = "past-end",
    [GEN_META] = "meta",
    [GEN_NEIGHBOUR] = "neighbour",
    [GEN_ZERO_BLOCKS] = "zero-blocks",
    [GEN_SEALED_HOSTILE_META] = "sealed-hostile-meta",
    [GEN_POISON] = "poison",
    [GEN_BAD_KIND] = "bad-kind",
    [GEN_LARGE] = "large",
    [GEN_LARGE_FREE] = "large-free",
    [GEN_LARGE_FREE_WRITTEN] = "large-free-written",
    [GEN_LARGE_TAIL] = "large-tail",
    [GEN_GUARD] = "guard",
    [GEN_GUARD_SLOT] = "guard-slot",
    [GEN_GUARD_FREE_LIST] = "guard-free-list",
    [GEN_GUARD_COUNT] = "guard-count",
};

const char *gen_damage_name(enum gen_damage d)
{
  return (unsigned)d < GEN_DAMAGE_COUNT ? damage_names[d] : "?";
}

/* ---- the segment image ---- */

struct image {
  uint8_t *bytes; /* calloc'd, length bytes */
  size_t length;
  uint64_t address;
  struct hg_key key;
};

static uint64_t addr_of(const struct image *im, size_t off)
{
  return im->address + off;
}

static void seal_block(struct image *im, size_t off, struct hg_block *h)
{
  uintptr_t at = (uintptr_t)addr_of(im, off);
  h->prev_tag = hg_block_expected_prev_tag(&im->key, h->prev_size, at);
  h->tag = hg_block_expected_tag(&im->key, h, at);
  memcpy(im->bytes + off, h, sizeof *h);
}

static struct hg_block header_of(const struct image *im, size_t off)
{
  struct hg_block h;
  memcpy(&h, im->bytes + off, sizeof h);
  return h;
}

static void write_tail(struct image *im, size_t off, const struct hg_block *h)
{
  size_t start = off + HG_HEADER_SIZE + hg_block_requested(h);
  size_t n = h->tail < HG_TAIL_CHECKED ? h->tail : HG_TAIL_CHECKED;
  uint64_t pattern =
      hg_tail_pattern(hg_block_mac(&im->key, h, (uintptr_t)addr_of(im, off)).hi);
  hg_tail_fill(im->bytes + start, n, pattern);
}

static void write_link(struct image *im, size_t slot, uint64_t target)
{
  uint64_t v = (uint64_t)hg_link_mangle(
      &im->key, (const void *)(uintptr_t)addr_of(im, slot),
      (const void *)(uintptr_t)target);
  memcpy(im->bytes + slot, &v, sizeof v);
}

static void seal_segment(const struct hg_key *key, struct hg_segment *s,
                         uint64_t address)
{
  s->checksum = hg_segment_expected_checksum(key, s, (uintptr_t)address);
}

static struct hg_segment segment_meta(uint32_t seq)
{
  struct hg_segment s = {
      .magic = HG_SEGMENT_MAGIC,
      .map_size = HG_SEGMENT_SIZE,
      .first_block = HG_SEGMENT_META_SIZE,
      .end = HG_SEGMENT_SIZE - 2 * HG_PAGE_SIZE,
      .kind = HG_SEGMENT_SHARED,
      .seq = seq,
  };
  return s;
}

static void build_shared(struct image *im)
{
  struct hg_segment s = segment_meta(3);
  s.end = GEN_SEGMENT_END;
  uint32_t prev = 0;
  for (int i = 0; i < GEN_BLOCKS; i++) {
    size_t off = gen_block_offset[i];
    struct hg_block h = {
        .size = plan[i].bytes >> HG_GRANULE_SHIFT,
        .prev_size = prev,
        .state = plan[i].state,
        .kind = plan[i].kind,
        .stack = plan[i].state != FREE ? plan[i].stack : 0,
        .free_stack = plan[i].state == FREE ? plan[i].stack : 0,
    };
    if (plan[i].state != FREE)
      h.tail = plan[i].bytes - HG_HEADER_SIZE - plan[i].requested;
    seal_block(im, off, &h);
    if (plan[i].state == USED) {
      memset(im->bytes + off + HG_HEADER_SIZE, 'a' + i, plan[i].requested);
      write_tail(im, off, &h);
    }
    /* Freed into the quarantine: every data byte is poison, tail included. */
    if (plan[i].state == QUARANTINED)
      hg_poison_fill(im->bytes + off + HG_HEADER_SIZE, hg_block_capacity(&h));
    prev = h.size;
  }
  /* Free list 2 <-> 4 <-> 7 -> (upper neighbour). */
  uint64_t b2 = addr_of(im, gen_block_offset[2]);
  uint64_t b4 = addr_of(im, gen_block_offset[4]);
  uint64_t b7 = addr_of(im, gen_block_offset[7]);
  uint64_t beyond = im->address + HG_SEGMENT_SIZE + 0x40;
  write_link(im, gen_block_offset[2] + 32, b4);
  write_link(im, gen_block_offset[2] + 40, 0);
  write_link(im, gen_block_offset[4] + 32, b7);
  write_link(im, gen_block_offset[4] + 40, b2);
  write_link(im, gen_block_offset[7] + 32, beyond);
  write_link(im, gen_block_offset[7] + 40, b4);

  seal_segment(&im->key, &s, im->address);
  memcpy(im->bytes, &s, sizeof s);
}

/*
 * A dedicated segment as large.c lays it out: one block placed so that its
 * data and one granule of trailing canary end at the trailing guard page.
 * In use, or freed into the cache of segments: sealed free with the free's
 * stack, no links, its data on the header's page poisoned and the rest
 * inaccessible (not in the image).
 */
static void build_large(struct image *im, uint16_t state)
{
  struct hg_segment s = {
      .magic = HG_SEGMENT_MAGIC,
      .map_size = GEN_LARGE_END + 2 * HG_PAGE_SIZE,
      .first_block = GEN_LARGE_FIRST,
      .end = GEN_LARGE_END,
      .kind = HG_SEGMENT_LARGE,
      .seq = 5,
  };
  struct hg_block h = {
      .size = (GEN_LARGE_END - GEN_LARGE_FIRST) >> HG_GRANULE_SHIFT,
      .state = state,
      .kind = state == USED ? HG_KIND_MALLOC : 0,
      .stack = state == USED ? 41 : 0,
      .free_stack = state == USED ? 0 : 42,
  };
  h.tail = state == USED ? (uint32_t)(hg_block_capacity(&h) - GEN_LARGE_REQUESTED) : 0;
  seal_block(im, GEN_LARGE_FIRST, &h);
  uint8_t *data = im->bytes + GEN_LARGE_FIRST + HG_HEADER_SIZE;
  if (state == USED) {
    memset(data, 'L', GEN_LARGE_REQUESTED);
    write_tail(im, GEN_LARGE_FIRST, &h);
  } else {
    hg_poison_fill(data, GEN_LARGE_CUT - GEN_LARGE_FIRST - HG_HEADER_SIZE);
  }
  seal_segment(&im->key, &s, im->address);
  memcpy(im->bytes, &s, sizeof s);
}

/* ---- a guard segment ---- */

#define PAGE HG_PAGE_SIZE
#define GUARD_TABLE HG_SEGMENT_META_SIZE
#define GUARD_FIRST (3 * PAGE) /* metadata, table, fence */
#define GUARD_MAP_SIZE ((2 + 2 + GEN_GUARD_SLOTS * 2) * PAGE)

static const struct slot_plan {
  uint16_t state;
  uint64_t requested;
  uint32_t data_off;
  uint16_t kind;
  uint32_t alloc_stack, free_stack;
  int next; /* slot index, -1 for none */
} slot_plan[GEN_GUARD_SLOTS] = {
    {HG_SLOT_USED, 100, 0xf90, HG_KIND_MALLOC, 21, 0, -1},
    {HG_SLOT_QUARANTINED, 4000, 0x60, HG_KIND_NEW, 22, 23, -1},
    {HG_SLOT_FREE, 10, 0xff0, HG_KIND_NEW_ARRAY, 24, 25, 4},
    {HG_SLOT_USED, 0, 0xff0, HG_KIND_MALLOC, 26, 0, -1},
    {HG_SLOT_UNUSED, 0, 0, 0, 0, 0, 5},
    {HG_SLOT_UNUSED, 0, 0, 0, 0, 0, 6},
    {HG_SLOT_UNUSED, 0, 0, 0, 0, 0, 7},
    {HG_SLOT_UNUSED, 0, 0, 0, 0, 0, -1},
};

/* Writes a field of a guard.h structure at p, little-endian. */
#define PUT(p, type, field, v)                                                \
  put_field(p, offsetof(type, field), sizeof(((type *)0)->field), v)

static void put_field(uint8_t *p, size_t off, size_t size, uint64_t v)
{
  memcpy(p + off, &v, size);
}

static size_t slot_offset(int i)
{
  return GUARD_TABLE + sizeof(struct hg_guard_meta) + (size_t)i * sizeof(struct hg_guard_slot);
}

static uint64_t slot_address(const struct image *im, int i)
{
  return i < 0 ? 0 : addr_of(im, slot_offset(i));
}

static void build_guard(struct image *im)
{
  struct hg_segment s = {
      .magic = HG_SEGMENT_MAGIC,
      .map_size = GUARD_MAP_SIZE,
      .first_block = GUARD_FIRST,
      .end = GUARD_MAP_SIZE - 2 * PAGE,
      .kind = HG_SEGMENT_GUARD,
      .seq = 7,
  };
  uint8_t *t = im->bytes + GUARD_TABLE;
  PUT(t, struct hg_guard_meta, slot_pages, 1);
  PUT(t, struct hg_guard_meta, slot_count, GEN_GUARD_SLOTS);
  PUT(t, struct hg_guard_meta, live, 2);
  PUT(t, struct hg_guard_meta, free_count, 5);
  PUT(t, struct hg_guard_meta, free_slots, slot_address(im, 2));
  PUT(t, struct hg_guard_meta, next, im->address + HG_SEGMENT_SIZE);
  for (int i = 0; i < GEN_GUARD_SLOTS; i++) {
    const struct slot_plan *sp = &slot_plan[i];
    uint8_t *p = im->bytes + slot_offset(i);
    PUT(p, struct hg_guard_slot, next, slot_address(im, sp->next));
    PUT(p, struct hg_guard_slot, state, sp->state);
    if (sp->state == HG_SLOT_UNUSED)
      continue;
    PUT(p, struct hg_guard_slot, requested, sp->requested);
    PUT(p, struct hg_guard_slot, alignment, 16);
    PUT(p, struct hg_guard_slot, data_off, sp->data_off);
    PUT(p, struct hg_guard_slot, kind, sp->kind);
    PUT(p, struct hg_guard_slot, alloc_stack, sp->alloc_stack);
    PUT(p, struct hg_guard_slot, free_stack, sp->free_stack);
  }
  seal_segment(&im->key, &s, im->address);
  memcpy(im->bytes, &s, sizeof s);
}

static void reseal_with(struct image *im, int block, void (*edit)(struct hg_block *))
{
  size_t off = gen_block_offset[block];
  struct hg_block h = header_of(im, off);
  edit(&h);
  seal_block(im, off, &h);
}

static void prev_seven(struct hg_block *h) { h->prev_size = 7; }
static void size_zero(struct hg_block *h) { h->size = 0; }
static void size_huge(struct hg_block *h) { h->size = 0x10000; }

static void inject(struct image *im, enum gen_damage d)
{
  switch (d) {
  case GEN_SMASH_HEADER:
    memset(im->bytes + gen_block_offset[3], 'A', 12);
    break;
  case GEN_OVERFLOW: {
    /* strcpy-style overrun: the 6 tail bytes of block 0, then 12 of 1. */
    size_t from = gen_block_offset[0] + HG_HEADER_SIZE + plan[0].requested;
    memset(im->bytes + from, 'B', 6 + 12);
    break;
  }
  case GEN_TAIL: {
    size_t at = gen_block_offset[5] + HG_HEADER_SIZE + plan[5].requested + 2;
    im->bytes[at] = 0;
    im->bytes[at + 1] = 0;
    break;
  }
  case GEN_BAD_PREV:
    reseal_with(im, 4, prev_seven);
    break;
  case GEN_PREV_UNSEALED: {
    uint32_t seven = 7;
    memcpy(im->bytes + gen_block_offset[4], &seven, sizeof seven);
    break;
  }
  case GEN_BAD_LINK:
    memset(im->bytes + gen_block_offset[4] + 32, 'A', 8);
    break;
  case GEN_LINK_TO_USED:
    write_link(im, gen_block_offset[2] + 32, addr_of(im, gen_block_offset[3]));
    break;
  case GEN_ZERO_SIZE:
    reseal_with(im, 3, size_zero);
    break;
  case GEN_TWO_HEADERS:
    memset(im->bytes + gen_block_offset[3], 'C', 16);
    memset(im->bytes + gen_block_offset[4], 'D', 16);
    break;
  case GEN_LOST:
    memset(im->bytes + gen_block_offset[7], 'E', 24);
    break;
  case GEN_PAST_END:
    reseal_with(im, 7, size_huge);
    break;
  case GEN_META: {
    struct hg_segment s;
    memcpy(&s, im->bytes, sizeof s);
    s.seq = 99;
    memcpy(im->bytes, &s, sizeof s);
    break;
  }
  case GEN_ZERO_BLOCKS:
    memset(im->bytes + HG_SEGMENT_META_SIZE, 0,
           im->length - HG_SEGMENT_META_SIZE);
    break;
  case GEN_POISON: {
    /* Writes after free: six bytes through a stale pointer, one far on. */
    size_t data = gen_block_offset[6] + HG_HEADER_SIZE;
    memcpy(im->bytes + data + 40, "WRITE!", 6);
    im->bytes[data + 1000] = 0;
    break;
  }
  case GEN_SEALED_HOSTILE_META: {
    struct hg_segment s;
    memcpy(&s, im->bytes, sizeof s);
    s.first_block = 0xfffffff0u;
    s.end = 0xfffffff0u;
    seal_segment(&im->key, &s, im->address);
    memcpy(im->bytes, &s, sizeof s);
    break;
  }
  case GEN_BAD_KIND: {
    struct hg_segment s;
    memcpy(&s, im->bytes, sizeof s);
    s.kind = 7;
    seal_segment(&im->key, &s, im->address);
    memcpy(im->bytes, &s, sizeof s);
    break;
  }
  case GEN_LARGE_FREE_WRITTEN:
    memcpy(im->bytes + GEN_LARGE_FIRST + HG_HEADER_SIZE + 100, "UAF", 3);
    break;
  case GEN_LARGE_TAIL:
    /* One NUL past the end: the first byte of the trailing canary. */
    im->bytes[GEN_LARGE_FIRST + HG_HEADER_SIZE + GEN_LARGE_REQUESTED] = 0;
    break;
  case GEN_GUARD_SLOT:
    memset(im->bytes + slot_offset(1) + offsetof(struct hg_guard_slot, requested), 'A', 16);
    break;
  case GEN_GUARD_FREE_LIST:
    PUT(im->bytes + slot_offset(5), struct hg_guard_slot, next, slot_address(im, 1));
    break;
  case GEN_GUARD_COUNT:
    PUT(im->bytes + GUARD_TABLE, struct hg_guard_meta, slot_count, 0x10000);
    break;
  default:
    break;
  }
}

static enum hg_segment_kind kind_of(enum gen_damage d)
{
  switch (d) {
  case GEN_LARGE:
  case GEN_LARGE_FREE:
  case GEN_LARGE_FREE_WRITTEN:
  case GEN_LARGE_TAIL: return HG_SEGMENT_LARGE;
  case GEN_GUARD:
  case GEN_GUARD_SLOT:
  case GEN_GUARD_FREE_LIST:
  case GEN_GUARD_COUNT: return HG_SEGMENT_GUARD;
  default: return HG_SEGMENT_SHARED;
  }
}

/* The segment a dump is of, built and damaged; false when out of memory. */
static bool build(struct image *im, enum gen_damage d)
{
  enum hg_segment_kind kind = kind_of(d);
  im->address = kind == HG_SEGMENT_LARGE   ? GEN_LARGE_ADDRESS
                : kind == HG_SEGMENT_GUARD ? GEN_GUARD_ADDRESS
                                           : GEN_SEGMENT_ADDRESS;
  bool cached = d == GEN_LARGE_FREE || d == GEN_LARGE_FREE_WRITTEN;
  im->length = cached                     ? GEN_LARGE_CUT
               : kind == HG_SEGMENT_LARGE ? GEN_LARGE_END
               : kind == HG_SEGMENT_GUARD ? GEN_GUARD_DUMPED
                                          : GEN_SEGMENT_END;
  im->bytes = calloc(1, im->length);
  if (!im->bytes)
    return false;
  hg_key_derive(&im->key, secret);
  if (kind == HG_SEGMENT_LARGE)
    build_large(im, cached ? FREE : USED);
  else if (kind == HG_SEGMENT_GUARD)
    build_guard(im);
  else
    build_shared(im);
  inject(im, d);
  return true;
}

/* ---- the container ---- */

struct out {
  uint8_t *p;
  size_t n, cap;
  bool failed;
};

static void put(struct out *o, const void *p, size_t n)
{
  if (o->failed)
    return;
  if (o->n + n + 8 > o->cap) {
    size_t cap = (o->cap + n + 8) * 2;
    uint8_t *q = realloc(o->p, cap);
    if (!q) {
      o->failed = true;
      return;
    }
    o->p = q;
    o->cap = cap;
  }
  memcpy(o->p + o->n, p, n);
  o->n += n;
}

static void section(struct out *o, uint32_t type, uint32_t flags,
                    const void *a, size_t an, const void *b, size_t bn)
{
  static const uint8_t zeros[8];
  struct hg_dump_section sh = {type, flags, an + bn};
  put(o, &sh, sizeof sh);
  put(o, a, an);
  if (bn)
    put(o, b, bn);
  put(o, zeros, (8 - (an + bn) % 8) % 8);
}

static const char plain_text[] =
    "==4242== heapguard: heap-buffer-overflow on address 0x7f3a1240124a\n"
    "==4242== WRITE past the end of a 10-byte block allocated by malloc\n"
    "    #0 0x55d0c0de1234 in main demo.c:12\n";

/* Everything a JSON or terminal writer can get wrong, in one report. */
static const char hostile_text[] =
    "quote \" backslash \\ tab \t cr \r esc \x1b[31mred\x1b[0m nul-free\n"
    "</script><script>alert(1)</script> & <b>\n"
    "bad utf-8 \xff\xfe \xc0\xaf overlong \xed\xa0\x80 surrogate, "
    "good \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 c1 \xc2\x9b end\n";

/* The check the report names; its bug class comes from the same table. */
static enum hg_check check_of(enum gen_damage d)
{
  switch (d) {
  case GEN_CLEAN: return HG_CHECK_ALREADY_FREE;
  case GEN_OVERFLOW:
  case GEN_TAIL: return HG_CHECK_TRAILING_CANARY;
  case GEN_META:
  case GEN_NEIGHBOUR: return HG_CHECK_SEGMENT_CHECKSUM;
  case GEN_SEALED_HOSTILE_META: return HG_CHECK_SEGMENT_BOUNDS;
  case GEN_BAD_KIND: return HG_CHECK_SEGMENT_KIND;
  case GEN_POISON:
  case GEN_LARGE_FREE_WRITTEN: return HG_CHECK_POISON;
  case GEN_LARGE_TAIL: return HG_CHECK_TRAILING_CANARY;
  case GEN_GUARD_COUNT: return HG_CHECK_GUARD_TABLE;
  case GEN_LARGE:
  case GEN_LARGE_FREE:
  case GEN_GUARD:
  case GEN_GUARD_SLOT:
  case GEN_GUARD_FREE_LIST: return HG_CHECK_NONE; /* on-demand dumps */
  default: return HG_CHECK_HEADER_CANARY;
  }
}

/* Header address of the block the report is about; 0 for none. */
static uint64_t report_block_of(enum gen_damage d, const struct image *im)
{
  switch (d) {
  case GEN_TAIL: return addr_of(im, gen_block_offset[5]);
  case GEN_POISON: return addr_of(im, gen_block_offset[6]);
  case GEN_LARGE_TAIL: return addr_of(im, GEN_LARGE_FIRST);
  default:
    return kind_of(d) == HG_SEGMENT_SHARED ? addr_of(im, gen_block_offset[3]) : 0;
  }
}

/* The address the report names: a block's data, or what was asked about. */
static uint64_t report_address_of(enum gen_damage d, const struct image *im, uint64_t block)
{
  if (block)
    return block + HG_HEADER_SIZE;
  if (kind_of(d) == HG_SEGMENT_GUARD) /* slot 0's data */
    return im->address + GUARD_FIRST + slot_plan[0].data_off;
  return addr_of(im, GEN_LARGE_FIRST + HG_HEADER_SIZE);
}

uint8_t gen_large_tail_byte(void)
{
  struct image im;
  if (!build(&im, GEN_LARGE))
    return 0;
  struct hg_block h;
  memcpy(&h, im.bytes + GEN_LARGE_FIRST, sizeof h);
  uint64_t pattern = hg_tail_pattern(
    hg_block_mac(&im.key, &h, (uintptr_t)addr_of(&im, GEN_LARGE_FIRST)).hi);
  free(im.bytes);
  return hg_tail_byte(pattern, 0);
}

uint8_t *gen_dump(const struct gen_options *opt, size_t *len)
{
  struct image im;
  struct out o = {0};

  if (!build(&im, opt->damage))
    return NULL;

  struct hg_dump_file_header fh = {.version = HG_DUMP_VERSION,
                                   .header_size = sizeof fh,
                                   .section_count = 4 + opt->neighbours};
  memcpy(fh.magic, HG_DUMP_MAGIC, sizeof fh.magic);
  put(&o, &fh, sizeof fh);

  struct hg_dump_process p = {
      .pid = 4242,
      .tid = 4243,
      .unix_time = 1700000000,
      .version = HEAPGUARD_VERSION_STRING,
      .build_id = {0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04},
      .build_id_size = 8,
      .secret = {secret[0], secret[1]},
      .header_size = HG_HEADER_SIZE,
      .granule = HG_GRANULE,
  };
  section(&o, HG_DUMP_PROCESS, 0, &p, sizeof p, NULL, 0);

  uint64_t block = report_block_of(opt->damage, &im);
  enum hg_check check = check_of(opt->damage);
  const struct hg_check_info *info = hg_check_info(check);
  struct hg_dump_report r = {
      .bug_class = info ? info->bug_class : HEAPGUARD_OK,
      .check = check,
      .address = report_address_of(opt->damage, &im, block),
      .block = block,
      .segment = im.address,
      .expected = 0x1111,
      .found = 0x2222,
  };
  section(&o, HG_DUMP_REPORT, 0, &r, sizeof r, NULL, 0);

  const char *text = opt->hostile_text ? hostile_text : plain_text;
  size_t text_len = opt->hostile_text ? sizeof hostile_text - 1
                                      : sizeof plain_text - 1;
  section(&o, HG_DUMP_REPORT_TEXT, 0, text, text_len, NULL, 0);

  struct hg_dump_segment ds = {im.address, im.length};
  section(&o, HG_DUMP_SEGMENT, HG_DUMP_SEGMENT_DAMAGED, &ds, sizeof ds,
          im.bytes, im.length);
  free(im.bytes);

  for (unsigned i = 0; i < opt->neighbours && i < 2; i++) {
    uint64_t at = i == 0 ? im.address - HG_SEGMENT_SIZE
                         : im.address + HG_SEGMENT_SIZE;
    struct hg_segment n = segment_meta(i == 0 ? 2 : 4);
    seal_segment(&im.key, &n, at);
    if (opt->damage == GEN_NEIGHBOUR && i == 0)
      n.checksum ^= 0x10;
    struct hg_dump_segment ns = {at, sizeof n};
    section(&o, HG_DUMP_SEGMENT, HG_DUMP_SEGMENT_META_ONLY, &ns, sizeof ns, &n,
            sizeof n);
  }
  if (o.failed) {
    free(o.p);
    return NULL;
  }
  *len = o.n;
  return o.p;
}

uint8_t *gen_dump_dense(size_t image_bytes, size_t *len)
{
  struct hg_key key;
  const uint64_t address = GEN_SEGMENT_ADDRESS;
  struct out o = {0};

  if (image_bytes % HG_GRANULE || image_bytes < 256)
    return NULL;
  hg_key_derive(&key, secret);
  uint8_t *img = calloc(1, image_bytes);
  if (!img)
    return NULL;

  struct hg_segment s = segment_meta(9);
  s.end = (uint32_t)image_bytes;
  s.map_size = (image_bytes + 2 * HG_PAGE_SIZE + HG_PAGE_SIZE - 1) &
               ~(uint64_t)(HG_PAGE_SIZE - 1);
  if (s.map_size < 3 * HG_PAGE_SIZE)
    s.map_size = 3 * HG_PAGE_SIZE;
  size_t off = HG_SEGMENT_META_SIZE;
  uint32_t prev = 0;
  while (off < image_bytes) {
    size_t left = image_bytes - off;
    bool last = left < 2 * 48;
    struct hg_block h = {
        .size = (uint32_t)((last ? left : 48) >> HG_GRANULE_SHIFT),
        .prev_size = prev,
        .tail = last ? 0 : 1,
        .state = last ? HG_STATE_FREE : HG_STATE_USED,
        .kind = last ? 0 : HG_KIND_MALLOC,
        .stack = last ? 0 : 1,
        .free_stack = last ? 1 : 0,
    };
    uint64_t at = address + off;
    h.prev_tag = hg_block_expected_prev_tag(&key, h.prev_size, (uintptr_t)at);
    h.tag = hg_block_expected_tag(&key, &h, (uintptr_t)at);
    memcpy(img + off, &h, sizeof h);
    if (last) {
      /* Both links NULL: the only free block of the segment. */
      for (int k = 0; k < 2; k++) {
        size_t slot = off + HG_HEADER_SIZE + 8 * (size_t)k;
        uint64_t v = (uint64_t)hg_link_mangle(
            &key, (const void *)(uintptr_t)(address + slot), NULL);
        memcpy(img + slot, &v, sizeof v);
      }
    } else {
      size_t t = off + 48 - 1; /* requested 15: one tail byte */
      img[t] = hg_tail_byte(hg_tail_pattern(hg_block_mac(&key, &h, (uintptr_t)at).hi), 0);
    }
    prev = h.size;
    off += (size_t)h.size << HG_GRANULE_SHIFT;
  }
  seal_segment(&key, &s, address);
  memcpy(img, &s, sizeof s);

  struct hg_dump_file_header fh = {.version = HG_DUMP_VERSION,
                                   .header_size = sizeof fh,
                                   .section_count = 2};
  memcpy(fh.magic, HG_DUMP_MAGIC, sizeof fh.magic);
  put(&o, &fh, sizeof fh);
  struct hg_dump_process p = {.pid = 1, .tid = 1, .version = "dense",
                              .secret = {secret[0], secret[1]},
                              .header_size = HG_HEADER_SIZE,
                              .granule = HG_GRANULE};
  section(&o, HG_DUMP_PROCESS, 0, &p, sizeof p, NULL, 0);
  struct hg_dump_segment ds = {address, image_bytes};
  section(&o, HG_DUMP_SEGMENT, HG_DUMP_SEGMENT_DAMAGED, &ds, sizeof ds, img,
          image_bytes);
  free(img);
  if (o.failed) {
    free(o.p);
    return NULL;
  }
  *len = o.n;
  return o.p;
}
