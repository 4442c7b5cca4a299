/*
 * block.h - the in-band block header: layout, sealing and verification;
 * the trailing canary, the poison of freed blocks, free-list link masks.
 *
 * A pure module: every function takes the key explicitly and touches only
 * the header (and, for the canary and poison, the block's own bytes), so
 * the library and the dump inspector share one definition and the unit
 * tests can flip every byte of a header in isolation.
 *
 * Layout (32 bytes, immediately before the user data, granule aligned), in
 * two halves written by different owners:
 *
 *   0  u32 prev_size  size of the physical predecessor in granules, 0 for
 *                     the first block of a segment (the "prev link")
 *   4  u32 prev_tag   keyed tag of (address, prev_size): the first word an
 *                     overflow from the block before meets, the header canary
 *   8  u32 size       block size in granules, header included (the "next
 *                     link": next = header + size granules)
 *  12  u32 free_stack free blocks: stack-depot id of the free, else 0
 *  16  u32 tag        keyed tag of (address, size, free_stack, stack, info)
 *  20  u32 stack      stack-depot id of the allocation, 0 if none
 *  24  u32 info       state (2 bits), kind (2 bits), tail (28 bits): the
 *                     slack after the requested size, >= 1, which holds
 *                     the trailing canary
 *  28  u32 zero       always 0 (and in the tag): the high half of the word
 *                     a C++ delete[] reads as an array cookie, so that a
 *                     delete[] of a block made by new sees a small count
 *
 * Bytes 0-7 change when the block before is split or merged: the arena that
 * owns the segment writes them, under its lock, as one 8-byte store.
 * Bytes 8-15 change only while the block is free (arena-owned). Bytes
 * 16-31 belong to whoever holds the block (the program, or a thread's
 * quarantine and cache), who writes them as one 16-byte store
 * (hg_block_seal_half), so that a reader that takes a snapshot
 * (hg_block_snapshot) never sees half of a change.
 *
 * The next link is checked through the next block: its prev_size must be
 * this block's size, and its prev_tag must verify. Every tag comes from
 * tag.h: knowing any number of headers gives nothing toward another one.
 */
#ifndef HG_BLOCK_H
#define HG_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "tag.h"

enum hg_block_state {
  HG_STATE_FREE = 1,
  HG_STATE_USED = 2,
  HG_STATE_QUARANTINED = 3, /* freed, poisoned, not yet reusable */
};

enum hg_alloc_kind {
  HG_KIND_ANY = 0, /* in checks only: any allocation function will do */
  HG_KIND_MALLOC = 1,
  HG_KIND_NEW = 2,
  HG_KIND_NEW_ARRAY = 3,
};

/* The slack of a block must fit the header's 28-bit field. */
#define HG_MAX_TAIL (((uint32_t)1 << 28) - 1)

struct hg_block {
  uint32_t prev_size;
  uint32_t prev_tag;
  uint32_t size;
  uint32_t free_stack;
  uint32_t tag;
  uint32_t stack;
  uint32_t state : 2;
  uint32_t kind : 2;
  uint32_t tail : 28;
  uint32_t zero;
} __attribute__((aligned(16)));

static_assert(sizeof(struct hg_block) == HG_HEADER_SIZE, "header layout");
static_assert(offsetof(struct hg_block, tag) == 16, "the holder's half is 16-byte aligned");
static_assert(offsetof(struct hg_block, zero) == 28, "the cookie word ends the header");

/* The per-process key; derived from the secret, never stored in the heap. */
struct hg_key {
  struct hg_tag_key tag;
};

void hg_key_derive(struct hg_key *key, const uint64_t secret[2]);

/* What is wrong with a header, in the order the checks run. */
enum hg_header_fault {
  HG_HEADER_OK = 0,
  HG_HEADER_BAD_CANARY, /* prev_tag: the prev link or the word before it */
  HG_HEADER_BAD_TAG,    /* the tag over the rest */
  HG_HEADER_BAD_STATE,
  HG_HEADER_BAD_SIZE,
};

const char *hg_header_fault_name(enum hg_header_fault f);

/*
 * The tag computations are inline, compiled for the AES instructions
 * (HG_TAG_TARGET): the fast paths, compiled for them too, compute each
 * tag in place, with no call and the inputs in registers.
 */

/*
 * hg_block_expected_prev_tag and hg_block_mac always inline, for the fast
 * paths (compiled HG_TAG_TARGET, which these need), where a call would
 * cost about as much as the computation.
 */
static inline HG_TAG_INLINE uint32_t hg_prev_tag_inline(const struct hg_key *key,
                                                        uint32_t prev_size, uintptr_t addr)
{
  return (uint32_t)HG_TAG_COMPUTE(&key->tag, HG_TAG_PREV, addr, prev_size, 0, 0).lo;
}

/*
 * The word at bytes 24-27 (state, kind and tail) as it is stored: one
 * 4-byte load, which the bitfields' own 4-byte stores forward to.
 */
static inline uint32_t hg_block_info_of(const struct hg_block *b)
{
  uint32_t info;
  __builtin_memcpy(&info, (const char *)b + 24, sizeof info);
  return info;
}

static inline HG_TAG_INLINE struct hg_tag hg_mac_inline(const struct hg_key *key,
                                                        const struct hg_block *b, uintptr_t addr)
{
  return HG_TAG_COMPUTE(&key->tag, HG_TAG_HEADER, addr,
                        (uint64_t)b->size | (uint64_t)b->free_stack << 32,
                        (uint64_t)b->stack | (uint64_t)hg_block_info_of(b) << 32, b->zero);
}

/* The prev_tag a header at addr with this prev_size must hold. */
static inline HG_TAG_TARGET uint32_t hg_block_expected_prev_tag(const struct hg_key *key,
                                                                uint32_t prev_size,
                                                                uintptr_t addr)
{
  return hg_prev_tag_inline(key, prev_size, addr);
}

/*
 * The keyed function of the header b as if it lived at addr: its low 32
 * bits are the tag the header must hold, its high 64 the pattern of its
 * trailing canary (hg_tail_pattern).
 */
static inline HG_TAG_TARGET struct hg_tag hg_block_mac(const struct hg_key *key,
                                                       const struct hg_block *b, uintptr_t addr)
{
  return hg_mac_inline(key, b, addr);
}

static inline HG_TAG_TARGET uint32_t hg_block_expected_tag(const struct hg_key *key, const struct hg_block *b,
                                             uintptr_t addr)
{
  return (uint32_t)hg_block_mac(key, b, addr).lo;
}

/*
 * Verify a header that lives (or lived, for a dump) at address addr:
 * prev_tag, tag, then the plausibility of state and size. With pattern not
 * NULL, the trailing canary pattern of a sound header is stored there.
 * The checks never read past the 32 header bytes.
 */
enum hg_header_fault hg_block_verify_at(const struct hg_key *key, const struct hg_block *b,
                                        uintptr_t addr, uint64_t *pattern);

static inline enum hg_header_fault hg_block_verify(const struct hg_key *key,
                                                   const struct hg_block *b)
{
  return hg_block_verify_at(key, b, (uintptr_t)b, NULL);
}

/* Whether b's prev_size and prev_tag agree: its prev link is sealed. */
static inline HG_TAG_TARGET bool hg_block_prev_sound(const struct hg_key *key, const struct hg_block *b)
{
  return b->prev_tag == hg_block_expected_prev_tag(key, b->prev_size, (uintptr_t)b);
}

/* Set b's prev link, tagged, with one 8-byte store. */
void hg_block_set_prev(const struct hg_key *key, struct hg_block *b, uint32_t prev_size);

/*
 * The holder's half of a header, stored and loaded whole. may_alias: the
 * fields it holds are also read as the header's own, before and after,
 * and without it the compiler may keep a field's value from before a
 * store (a tail read before a seal and used after it).
 */
typedef long long hg_v2di __attribute__((vector_size(16), may_alias));

/* The 8-byte pattern from a tag's high half: every zero byte replaced. */
static inline uint64_t hg_tail_pattern(uint64_t raw)
{
  /* No byte may be zero (the commonest overflow writes a NUL): 0xa5 instead. */
  const uint64_t low7 = 0x7f7f7f7f7f7f7f7full;
  uint64_t nonzero = ((raw & low7) + low7) | raw; /* high bit set in nonzero bytes */
  uint64_t zero = ~nonzero & ~low7;                /* high bit set in zero bytes */
  return raw | (zero >> 7) * 0xa5;
}

/* The word at bytes 24-27 of a header with these fields, as the bitfields lay it out. */
static inline uint32_t hg_block_info_word(unsigned state, unsigned kind, uint32_t tail)
{
  return (uint32_t)state | (uint32_t)kind << 2 | tail << 4;
}

/* The word at bytes 24-27 of b with its state replaced: kind and tail kept. */
static inline uint32_t hg_block_info_as(const struct hg_block *b, unsigned state)
{
  return (hg_block_info_of(b) & ~3u) | state;
}

/*
 * Seal a holder's half made of these fields as the header at b, whose
 * bytes 8-15 hold size and free_stack: the tag is computed and the half
 * assembled in registers, and written with one 16-byte store. Returns the
 * keyed function (its low 32 bits are the tag). A half assembled field by
 * field in a copy on the stack and then read back whole would wait for
 * those stores to drain (a failed store forwarding) on every free and
 * allocation.
 */
static inline HG_TAG_INLINE struct hg_tag hg_block_seal_half(const struct hg_key *key,
                                                             struct hg_block *b, uint32_t size,
                                                             uint32_t free_stack, uint32_t stack,
                                                             uint32_t info)
{
  struct hg_tag mac = HG_TAG_COMPUTE(&key->tag, HG_TAG_HEADER, (uintptr_t)b,
                                     (uint64_t)size | (uint64_t)free_stack << 32,
                                     (uint64_t)stack | (uint64_t)info << 32, 0);
  hg_v2di half = { (long long)((uint64_t)(uint32_t)mac.lo | (uint64_t)stack << 32),
                   (long long)info };
  *(volatile hg_v2di *)((char *)b + 16) = half;
  return mac;
}

/*
 * Seal the fields of copy as the header at b, into copy->tag; write its
 * holder's half (bytes 16-31) to b with one 16-byte store, and bytes 8-15
 * too when with_low_half. Returns the trailing canary pattern.
 */
static inline HG_TAG_TARGET uint64_t hg_block_publish(const struct hg_key *key,
                                                      struct hg_block *b, struct hg_block *copy,
                                                      bool with_low_half)
{
  if (with_low_half && copy != b)
    __builtin_memcpy((char *)b + 8, (const char *)copy + 8, 8);
  struct hg_tag mac = hg_block_seal_half(key, b, copy->size, copy->free_stack, copy->stack,
                                         hg_block_info_of(copy));
  if (copy != b) {
    copy->tag = (uint32_t)mac.lo;
    copy->zero = 0;
  }
  return hg_tail_pattern(mac.hi);
}

/* Seal every field of b but the prev link in place (blocks nobody else reads). */
static inline HG_TAG_TARGET uint64_t hg_block_seal(const struct hg_key *key, struct hg_block *b)
{
  return hg_block_publish(key, b, b, true);
}

/* A copy of b read as its writers write it: 8 bytes, 8 bytes, 16 bytes. */
static inline void hg_block_snapshot(const struct hg_block *b, struct hg_block *copy)
{
  uint64_t low[2];
  low[0] = __atomic_load_n((const uint64_t *)b, __ATOMIC_RELAXED);
  low[1] = __atomic_load_n((const uint64_t *)b + 1, __ATOMIC_RELAXED);
  hg_v2di half = *(const volatile hg_v2di *)((const char *)b + 16);
  __builtin_memcpy(copy, low, sizeof low);
  __builtin_memcpy((char *)copy + 16, &half, sizeof half);
}

static inline size_t hg_block_bytes(const struct hg_block *b)
{
  return (size_t)b->size << HG_GRANULE_SHIFT;
}

static inline size_t hg_block_capacity(const struct hg_block *b)
{
  return hg_block_bytes(b) - HG_HEADER_SIZE;
}

static inline size_t hg_block_requested(const struct hg_block *b)
{
  return hg_block_capacity(b) - b->tail;
}

static inline void *hg_block_data(const struct hg_block *b)
{
  return (char *)b + HG_HEADER_SIZE;
}

static inline struct hg_block *hg_block_of(const void *p)
{
  return (struct hg_block *)((uintptr_t)p - HG_HEADER_SIZE);
}

static inline struct hg_block *hg_block_next(const struct hg_block *b)
{
  return (struct hg_block *)((char *)b + hg_block_bytes(b));
}

static inline struct hg_block *hg_block_prev(const struct hg_block *b)
{
  return (struct hg_block *)((char *)b - ((size_t)b->prev_size << HG_GRANULE_SHIFT));
}

/*
 * The trailing canary: the slack bytes after the requested size hold a
 * pattern that is never zero (even an off-by-one NUL is caught), derived
 * from the block's own tag computation, so it differs from block to block
 * and changes whenever the header does. Only the first HG_TAIL_CHECKED
 * bytes are written and checked: enough for byte precision, bounded for
 * blocks with large slack.
 */
#define HG_TAIL_CHECKED 64u

/*
 * The pattern for canary bytes that go with no header (guard slots): keyed
 * on where they start, and on whether they lead or trail the block.
 */
uint64_t hg_canary_pattern_at(const struct hg_key *key, uintptr_t at, bool leading);

/* Byte i of the canary starting at end, with the pattern. */
static inline uint8_t hg_tail_byte(uint64_t pattern, size_t i)
{
  return (uint8_t)(pattern >> ((i & 7) * 8));
}

/* The 8 canary bytes from offset i, as one word; i is taken mod 8. */
static inline uint64_t hg_tail_word(uint64_t pattern, size_t i)
{
  unsigned shift = (unsigned)(i & 7) * 8;
  return shift ? pattern >> shift | pattern << (64 - shift) : pattern;
}

/* Bytes found changed in a canary or in poison. */
struct hg_damage {
  size_t first;   /* offset, from the start of the bytes checked, of the first bad byte */
  size_t last;    /* ... and of the last bad byte */
  uint8_t expected;
  uint8_t found;
};

/* The canary bytes written and checked: the slack, at most HG_TAIL_CHECKED. */
static inline size_t hg_tail_checked_bytes(const struct hg_block *b)
{
  return b->tail < HG_TAIL_CHECKED ? b->tail : HG_TAIL_CHECKED;
}

/*
 * The pattern over n bytes from end: whole words, then the bytes left in
 * one store that overlaps the word before them when there is one.
 */
static inline void hg_tail_fill(uint8_t *end, size_t n, uint64_t pattern)
{
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    __builtin_memcpy(end + i, &pattern, 8);
  if (i < n && n >= 8) {
    uint64_t last = hg_tail_word(pattern, n - 8);
    __builtin_memcpy(end + n - 8, &last, 8);
    return;
  }
  for (; i < n; i++)
    end[i] = hg_tail_byte(pattern, i);
}

/* The canary of a used block, with the pattern of its header. */
static inline void hg_tail_write(const struct hg_block *b, uint64_t pattern)
{
  hg_tail_fill((uint8_t *)hg_block_data(b) + hg_block_requested(b), hg_tail_checked_bytes(b),
               pattern);
}

bool hg_tail_check(const struct hg_block *b, uint64_t pattern, struct hg_damage *damage);

/*
 * Seal b (its size and prev link set, nobody else reading it) in use for
 * request bytes allocated with kind at stack, and write its trailing canary.
 */
static inline HG_TAG_TARGET void hg_block_seal_used(const struct hg_key *key, struct hg_block *b,
                                      size_t request, uint16_t kind, uint32_t stack)
{
  b->free_stack = 0;
  b->tail = (uint32_t)(hg_block_capacity(b) - request);
  b->state = HG_STATE_USED;
  b->kind = kind;
  b->stack = stack;
  hg_tail_write(b, hg_block_seal(key, b));
}

/* Seal b (its size and prev link set) free, released at free_stack. */
static inline void hg_block_seal_free(const struct hg_key *key, struct hg_block *b,
                                      uint32_t free_stack)
{
  b->free_stack = free_stack;
  b->stack = 0;
  b->state = HG_STATE_FREE;
  b->kind = 0;
  b->tail = 0;
  hg_block_seal(key, b);
}

/*
 * The quick test of the canary of a block with requested bytes in use:
 * whole words, then the bytes left in one load ending at the canary's end.
 * Its bytes before the canary (data, or the header's last word: a block
 * has 32 header bytes before its data) are masked out.
 */
static inline bool hg_tail_intact(const struct hg_block *b, size_t requested, uint64_t pattern)
{
  const uint8_t *end = (const uint8_t *)hg_block_data(b) + requested;
  size_t n = hg_tail_checked_bytes(b);
  uint64_t diff = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    __builtin_memcpy(&w, end + i, 8);
    diff |= w ^ pattern;
  }
  if (i < n) {
    uint64_t w, keep = n >= 8 ? ~(uint64_t)0 : ~(uint64_t)0 << ((8 - n) * 8);
    __builtin_memcpy(&w, end + n - 8, 8);
    diff |= (w ^ hg_tail_word(pattern, n - 8)) & keep;
  }
  return diff == 0;
}

/* Whether the n bytes from end hold the pattern; otherwise fills *damage. */
bool hg_tail_verify(const uint8_t *end, size_t n, uint64_t pattern, struct hg_damage *damage);

/*
 * A quarantined block's data: its first 8 bytes zero, every other byte
 * HG_POISON, until the block is reused; a write after free shows as a
 * changed byte. The zero word is what a C++ delete[] reads as the array
 * cookie of a second delete[]: a count of 0, so no destructor runs on the
 * freed memory before the second release is reported.
 */
#define HG_POISON 0xdf
#define HG_POISON_ZERO_BYTES 8u

#define HG_POISON_WORD (0x0101010101010101ull * HG_POISON)

/* What byte i of a quarantined block's data holds. */
static inline uint8_t hg_poison_byte(size_t i)
{
  return i < HG_POISON_ZERO_BYTES ? 0 : HG_POISON;
}

typedef uint64_t hg_v2u64 __attribute__((vector_size(16), aligned(8)));

/*
 * From this many bytes on, poison is written and tested by glibc's memset
 * and memcmp (hg_poison_fill_long, hg_poison_intact_long), which use the
 * widest vectors the CPU has, and rep stosb, rather than the 16-byte
 * loops below (README: round 7).
 */
#define HG_POISON_LONG_BYTES 512u

void hg_poison_fill_long(uint8_t *data, size_t n);
bool hg_poison_intact_long(const uint8_t *data, size_t n);

/*
 * Poison n bytes, and test them, 16 at a time: n is a block's capacity, a
 * multiple of the granule (16) and at least one granule. After the first
 * 16 bytes, one granule alone if an odd number follow, then two at a time:
 * small blocks, the commonest, pay for few loop steps.
 */
static inline void hg_poison_fill(uint8_t *data, size_t n)
{
  if (__builtin_expect(n >= HG_POISON_LONG_BYTES, 0)) {
    hg_poison_fill_long(data, n);
    return;
  }
  const hg_v2u64 first = { 0, HG_POISON_WORD }, rest = { HG_POISON_WORD, HG_POISON_WORD };
  __builtin_memcpy(data, &first, 16);
  size_t i = 16;
  if (!(n & 16)) {
    __builtin_memcpy(data + i, &rest, 16);
    i += 16;
  }
  for (; i < n; i += 32) {
    __builtin_memcpy(data + i, &rest, 16);
    __builtin_memcpy(data + i + 16, &rest, 16);
  }
}

/* Whether the n bytes at data (n as above) are all poison: the quick test. */
static inline bool hg_poison_intact(const uint8_t *data, size_t n)
{
  if (__builtin_expect(n >= HG_POISON_LONG_BYTES, 0))
    return hg_poison_intact_long(data, n);
  const hg_v2u64 first = { 0, HG_POISON_WORD }, rest = { HG_POISON_WORD, HG_POISON_WORD };
  hg_v2u64 w, v, diff;
  __builtin_memcpy(&diff, data, 16);
  diff ^= first;
  size_t i = 16;
  if (!(n & 16)) {
    __builtin_memcpy(&w, data + i, 16);
    diff |= w ^ rest;
    i += 16;
  }
  for (; i < n; i += 32) {
    __builtin_memcpy(&w, data + i, 16);
    __builtin_memcpy(&v, data + i + 16, 16);
    diff |= (w ^ rest) | (v ^ rest);
  }
  return (diff[0] | diff[1]) == 0;
}

/* True when the n bytes at data are poison; otherwise fills *damage. */
bool hg_poison_verify(const uint8_t *data, size_t n, struct hg_damage *damage);

/*
 * Free-list links: stored as the target XORed with a keyed mask of the
 * slot's own address, so a link read tells nothing of any other slot's mask.
 */
uintptr_t hg_link_mask(const struct hg_key *key, const void *slot);

static inline uintptr_t hg_link_mangle(const struct hg_key *key, const void *slot,
                                       const void *target)
{
  return (uintptr_t)target ^ hg_link_mask(key, slot);
}

static inline void *hg_link_demangle(const struct hg_key *key, const void *slot,
                                     uintptr_t stored)
{
  return (void *)(stored ^ hg_link_mask(key, slot));
}

#endif
