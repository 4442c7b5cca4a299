/*
 * block.h - the in-band block header: layout, sealing and verification.
 *
 * A pure module: every function takes the key explicitly and touches only
 * the header (and, for the trailing canary, the block's own slack bytes),
 * so the library and the dump inspector share one definition and the unit
 * tests can flip every byte of a header in isolation.
 *
 * Layout (32 bytes, immediately before the user data, granule aligned):
 *
 *   0  u64 canary     keyed on the secret and the header's own address;
 *                     first so that an overflow from the block before
 *                     meets it before anything else
 *   8  u32 size       block size in granules, header included
 *  12  u32 prev_size  size of the physical predecessor, 0 for the first
 *                     block of a segment (the "prev link")
 *  16  u32 tail       used and quarantined: capacity minus requested size
 *                     (>= 1, holds the trailing canary); free: stack-depot
 *                     id of the free that released it, 0 if none
 *  20  u16 state      HG_STATE_USED, HG_STATE_QUARANTINED or HG_STATE_FREE
 *  22  u16 kind       how it was allocated (malloc, new, new[], ...)
 *  24  u32 stack      stack-depot id of the allocation, 0 if none
 *  28  u32 checksum   CRC32C keyed with the secret over the address and
 *                     every field above
 *
 * The "next link" is implied: next = header + size granules, and the
 * checks require next->prev_size == size, so the links tile the segment.
 * A free block keeps two mangled free-list pointers in its first 16 data
 * bytes.
 */
#ifndef HG_BLOCK_H
#define HG_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum hg_block_state {
  HG_STATE_FREE = 0x4652,        /* "FR" */
  HG_STATE_USED = 0x5553,        /* "US" */
  HG_STATE_QUARANTINED = 0x5158, /* "QX": freed, poisoned, not yet reusable */
};

enum hg_alloc_kind {
  HG_KIND_ANY = 0, /* in checks only: any allocation function will do */
  HG_KIND_MALLOC = 1,
  HG_KIND_NEW = 2,
  HG_KIND_NEW_ARRAY = 3,
};

struct hg_block {
  uint64_t canary;
  uint32_t size;
  uint32_t prev_size;
  uint32_t tail;
  uint16_t state;
  uint16_t kind;
  uint32_t stack;
  uint32_t checksum;
};

static_assert(sizeof(struct hg_block) == HG_HEADER_SIZE, "header layout");
static_assert(offsetof(struct hg_block, checksum) == 28, "checksum last");

/* The per-process key; derived from the secret, never stored in the heap. */
struct hg_key {
  uint64_t canary;
  uint32_t checksum;
  uint64_t tail;
  uint64_t link;
};

void hg_key_derive(struct hg_key *key, const uint64_t secret[2]);

/* What is wrong with a header, in the order the checks run. */
enum hg_header_fault {
  HG_HEADER_OK = 0,
  HG_HEADER_BAD_CANARY,
  HG_HEADER_BAD_CHECKSUM,
  HG_HEADER_BAD_STATE,
  HG_HEADER_BAD_SIZE,
};

const char *hg_header_fault_name(enum hg_header_fault f);

uint64_t hg_block_expected_canary(const struct hg_key *key, uintptr_t addr);
uint32_t hg_block_expected_checksum(const struct hg_key *key,
                                    const struct hg_block *b, uintptr_t addr);

/*
 * Verify a header that lives (or lived, for a dump) at address addr.
 * The checks never read past the 32 header bytes.
 */
enum hg_header_fault hg_block_verify_at(const struct hg_key *key,
                                        const struct hg_block *b,
                                        uintptr_t addr);

static inline enum hg_header_fault hg_block_verify(const struct hg_key *key,
                                                   const struct hg_block *b)
{
  return hg_block_verify_at(key, b, (uintptr_t)b);
}

static inline void hg_block_seal(const struct hg_key *key, struct hg_block *b)
{
  b->canary = hg_block_expected_canary(key, (uintptr_t)b);
  b->checksum = hg_block_expected_checksum(key, b, (uintptr_t)b);
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
 * The trailing canary: every slack byte after the requested size holds a
 * keyed pattern that is never zero, so even an off-by-one NUL is caught.
 * Only the first HG_TAIL_CHECKED bytes are written and checked: enough for
 * byte precision, bounded for blocks with large slack.
 */
#define HG_TAIL_CHECKED 64u

uint8_t hg_tail_byte(const struct hg_key *key, uintptr_t at);
void hg_tail_write(const struct hg_key *key, const struct hg_block *b);

/* Bytes found changed in a canary or in poison. */
struct hg_damage {
  size_t first;   /* offset, from the start of the bytes checked, of the first bad byte */
  size_t last;    /* ... and of the last bad byte */
  uint8_t expected;
  uint8_t found;
};

/* True when the trailing canary holds; otherwise fills *damage. */
bool hg_tail_check(const struct hg_key *key, const struct hg_block *b,
                   struct hg_damage *damage);

/* The same pattern over n bytes from end, for blocks without a header. */
void hg_tail_fill(const struct hg_key *key, uint8_t *end, size_t n);
bool hg_tail_verify(const struct hg_key *key, const uint8_t *end, size_t n,
                    struct hg_damage *damage);

/*
 * A quarantined block's data: every byte is HG_POISON until the block is
 * reused, so a write after free shows as a changed byte.
 */
#define HG_POISON 0xdf

/* True when the n bytes at data are all poison; otherwise fills *damage. */
bool hg_poison_verify(const uint8_t *data, size_t n, struct hg_damage *damage);

/* Free-list links, mangled with the key and the slot's own address. */
static inline uintptr_t hg_link_mangle(const struct hg_key *key,
                                       const void *slot, const void *target)
{
  return (uintptr_t)target ^ key->link ^ ((uintptr_t)slot >> 12);
}

static inline void *hg_link_demangle(const struct hg_key *key, const void *slot,
                                     uintptr_t stored)
{
  return (void *)(stored ^ key->link ^ ((uintptr_t)slot >> 12));
}

#endif
