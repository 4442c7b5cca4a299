/*
 * gen_dump.h - synthetic heapguard dumps for testing the inspector.
 *
 * Builds, in memory, the segment image a crashing process would have
 * written: a struct hg_segment sealed at a fake original address, then
 * blocks sealed at their fake addresses with block.c's own functions,
 * trailing canaries from hg_tail_byte, poison, mangled free-list links (or,
 * for a guard segment, its slot table in guard.h's layout). Damage is
 * injected afterwards, the way a bug would do it, and the whole is wrapped
 * in the container of heapguard_dump.h.
 *
 * The shared segment's block plan is fixed so that tests can name blocks
 * by index:
 *
 *   #  offset  bytes  state  requested (tail)
 *   0  0x1000    48   used     10 (6)
 *   1  0x1030   144   used    100 (12)
 *   2  0x10c0    64   free
 *   3  0x1100    80   used     33 (15)
 *   4  0x1150    96   free
 *   5  0x11b0   240   used    200 (8)
 *   6  0x12a0  1136   quarantined 1000 (104; all 1104 data bytes poison)
 *   7  0x1710   176   free          (the rest, to end = 0x17c0)
 *
 * (Blocks start after the metadata page, HG_SEGMENT_META_SIZE.)
 *
 * Free list: 2 <-> 4 <-> 7, and 7's next link points into the upper
 * neighbour segment (not in the dump).
 *
 * The GEN_LARGE dumps are of a dedicated segment at GEN_LARGE_ADDRESS
 * instead, laid out as large.c does it: one block, header at +0x18c0, of
 * 10000 bytes requested ('L's), whose data and 16 bytes of trailing canary
 * end at end = +0x4000, where the trailing guard page begins. Freed, its
 * data pages are inaccessible and the writer stops at the first of them,
 * +0x2000: the dump holds the header and the poisoned data before it.
 *
 * The GEN_GUARD dumps are of a guard segment at GEN_GUARD_ADDRESS, laid out
 * as guard.c lays out one of 1-page slots, with 8 slots: the metadata page,
 * the slot table at +0x1000, a fence page at +0x2000, and slot i's data
 * page at +0x3000 + i * 0x2000, a guard page after each. The writer stops
 * at the fence page, so the dump holds 0x2000 bytes: no slot's data.
 *
 *   slot  state        requested  data_off  kind      alloc  free  next
 *   0     used               100     0xf90  malloc       21     0  -
 *   1     quarantined       4000      0x60  new          22    23  -
 *   2     free                10     0xff0  new[]        24    25  4
 *   3     used                 0     0xff0  malloc       26     0  -
 *   4-7   never used (fields clear)                              5, 6, 7, -
 *
 * All aligned to 16; live 2; free_slots names slot 2, free_count 5;
 * class_index 0; next names the segment above, prev is NULL.
 */
#ifndef HG_GEN_DUMP_H
#define HG_GEN_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum gen_damage {
  GEN_CLEAN,
  GEN_SMASH_HEADER,   /* block 3: canary and size overwritten with 'A' */
  GEN_OVERFLOW,       /* block 0 overflows through its tail into 1's header */
  GEN_TAIL,           /* block 5: two bytes at +2 past the request zeroed */
  GEN_BAD_PREV,       /* block 4 sealed with prev_size 7, not 5 */
  GEN_PREV_UNSEALED,  /* block 4's prev_size changed without resealing */
  GEN_BAD_LINK,       /* block 4's next link overwritten with 'A's */
  GEN_LINK_TO_USED,   /* block 2's next link points at used block 3 */
  GEN_ZERO_SIZE,      /* block 3 sealed with size 0 */
  GEN_TWO_HEADERS,    /* blocks 3 and 4: headers smashed */
  GEN_LOST,           /* block 7 (the last): header smashed, no resync */
  GEN_PAST_END,       /* block 7 sealed with a size past the segment end */
  GEN_META,           /* segment metadata changed without resealing */
  GEN_NEIGHBOUR,      /* the lower neighbour's metadata checksum broken */
  GEN_ZERO_BLOCKS,    /* the whole block area zeroed */
  GEN_SEALED_HOSTILE_META, /* metadata sealed with absurd first_block/end */
  GEN_POISON,         /* block 6: "WRITE!" at +40 and a 0 at +1000 of its poison */
  GEN_BAD_KIND,       /* metadata sealed with kind 7, which names no kind */
  /* A dedicated segment instead (see below). */
  GEN_LARGE,          /* its block in use, intact */
  GEN_LARGE_FREE,     /* its block freed (the segment cached), intact */
  GEN_LARGE_FREE_WRITTEN, /* the same, "UAF" written at +100 of its poisoned head */
  GEN_LARGE_TAIL,     /* in use, a NUL written just past the requested end */
  /* A guard segment instead (see below). */
  GEN_GUARD,          /* its slot table intact */
  GEN_GUARD_SLOT,     /* slot 1's requested and alignment overwritten with 'A' */
  GEN_GUARD_FREE_LIST, /* slot 5's next names slot 1, which is in quarantine */
  GEN_GUARD_COUNT,    /* slot_count 65536: more slots than the segment holds */
  GEN_DAMAGE_COUNT
};

struct gen_options {
  enum gen_damage damage;
  unsigned neighbours;  /* 0..2 */
  bool hostile_text;    /* report text with quotes, controls, bad UTF-8 */
};

#define GEN_BLOCKS 8
#define GEN_SEGMENT_ADDRESS 0x7f3a12401000ull /* one page into its mapping */
#define GEN_SEGMENT_END 0x17c0u

#define GEN_LARGE_ADDRESS 0x7f3a12c01000ull
#define GEN_LARGE_FIRST 0x18c0u
#define GEN_LARGE_END 0x4000u
#define GEN_LARGE_CUT 0x2000u /* freed: the first inaccessible data page */
#define GEN_LARGE_REQUESTED 10000u

#define GEN_GUARD_ADDRESS 0x7f3a13001000ull
#define GEN_GUARD_SLOTS 8
#define GEN_GUARD_DUMPED 0x2000u

extern const size_t gen_block_offset[GEN_BLOCKS];

const char *gen_damage_name(enum gen_damage d);

/* The first byte of the large block's trailing canary, as the dumps hold it. */
uint8_t gen_large_tail_byte(void);

/* A malloc'd dump; *len its size. NULL when out of memory. */
uint8_t *gen_dump(const struct gen_options *o, size_t *len);

/*
 * A clean dump whose damaged segment is image_bytes long (a multiple of 16,
 * at least 256) and tiled with minimal 48-byte used blocks, the last block
 * free: the most blocks a segment of that size can hold. For bounding the
 * walk's time and memory.
 */
uint8_t *gen_dump_dense(size_t image_bytes, size_t *len);

#endif
