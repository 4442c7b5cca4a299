/*
 * forge.h - what an attacker who can read the heap does with what it
 * read: forge block headers, trailing canaries and free-list links from
 * leaked ones, by the tricks that broke heapguard's first header format.
 *
 *   - A keyed CRC is affine: crc(K, M') = crc(K, M) ^ crc(0, M ^ M'), so
 *     one sealed header and its address give the checksum of any other.
 *   - A canary key ^ f(address) gives the key from one canary and address.
 *   - A trailing canary that is one pattern for every block is learnt
 *     from any block's slack.
 *   - A link stored as target ^ key ^ (slot >> 12) gives the key from one
 *     link whose target is known.
 *
 * The bug programs mount these attacks on the header they find. Version 1
 * (heapguard up to e2c8647: a 64-bit canary, a CRC32C checksum, a state
 * word "US", "QX" or "FR") is forged exactly as it was sealed, and the
 * attacks succeed there: that is what shows they are the real thing.
 * Version 2 (the keyed tags of src/tag.h) gets the same predictions: the
 * CRC-style difference for its tags, the leaked slack for its canary, the
 * XOR mask for its links; each must be caught.
 */
#ifndef HG_TEST_FORGE_H
#define HG_TEST_FORGE_H

#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bug.h"

#define FORGE_HEADER 32u

enum forge_state { FORGE_USED, FORGE_FREE };

/* The fields a forged header gets (sizes in 16-byte granules). */
struct forge_fields {
  uint32_t prev_size;
  uint32_t size;
  uint32_t tail; /* used blocks: slack after the requested size */
  enum forge_state state;
};

static inline uint32_t forge_get32(const uint8_t *h, unsigned off)
{
  uint32_t v;
  memcpy(&v, h + off, 4);
  return v;
}

static inline void forge_put32(uint8_t *h, unsigned off, uint32_t v)
{
  memcpy(h + off, &v, 4);
}

/* CRC32C of 64-bit words from a zero initial value (no final inversion). */
static inline uint32_t forge_crc0(const uint64_t *w, unsigned n)
{
  uint32_t crc = 0;
  for (unsigned i = 0; i < n; i++)
    for (unsigned byte = 0; byte < 8; byte++) {
      crc ^= (uint8_t)(w[i] >> (8 * byte));
      for (int k = 0; k < 8; k++)
        crc = crc & 1 ? crc >> 1 ^ 0x82f63b78u : crc >> 1;
    }
  return crc;
}

/* The affine prediction: tag' = tag ^ crc(0, words ^ words'). */
static inline uint32_t forge_predict(uint32_t tag, const uint64_t *words,
                                     const uint64_t *new_words, unsigned n)
{
  uint64_t diff[8];
  for (unsigned i = 0; i < n; i++)
    diff[i] = words[i] ^ new_words[i];
  return tag ^ forge_crc0(diff, n);
}

/* Version 1 has a state word at offset 20 and a checksum in its last word. */
static inline bool forge_is_v1(const uint8_t *h)
{
  uint16_t state;
  memcpy(&state, h + 20, 2);
  return (state == 0x5553 || state == 0x5158 || state == 0x4652) && forge_get32(h, 28);
}

/* ---- version 1: u64 canary, size, prev_size, tail, u16 state, u16 kind, stack, checksum */

static inline void forge_v1_words(const uint8_t *h, uintptr_t at, uint64_t w[5])
{
  uint64_t canary;
  memcpy(&canary, h, 8);
  uint16_t state, kind;
  memcpy(&state, h + 20, 2);
  memcpy(&kind, h + 22, 2);
  w[0] = at;
  w[1] = canary;
  w[2] = forge_get32(h, 8) | (uint64_t)forge_get32(h, 12) << 32;
  w[3] = forge_get32(h, 16) | (uint64_t)state << 32 | (uint64_t)kind << 48;
  w[4] = forge_get32(h, 24);
}

static inline void forge_v1(uint8_t *out, const uint8_t *leak, uintptr_t from, uintptr_t at,
                            const struct forge_fields *fl)
{
  const uint64_t golden = 0x9e3779b97f4a7c15ull;
  uint64_t canary;
  memcpy(&canary, leak, 8);
  canary ^= from * golden ^ at * golden;
  uint16_t state = fl->state == FORGE_USED ? 0x5553 : 0x4652;
  uint16_t kind = fl->state == FORGE_USED ? 1 : 0;
  memcpy(out, &canary, 8);
  forge_put32(out, 8, fl->size);
  forge_put32(out, 12, fl->prev_size);
  forge_put32(out, 16, fl->state == FORGE_USED ? fl->tail : 0);
  memcpy(out + 20, &state, 2);
  memcpy(out + 22, &kind, 2);
  forge_put32(out, 24, fl->state == FORGE_USED ? forge_get32(leak, 24) : 0);
  uint64_t w[5], nw[5];
  forge_v1_words(leak, from, w);
  forge_v1_words(out, at, nw);
  forge_put32(out, 28, forge_predict(forge_get32(leak, 28), w, nw, 5));
}

/* ---- version 2: prev_size, prev_tag, size, free_stack, tag, stack, info, zero */

static inline void forge_v2_tag_words(const uint8_t *h, uintptr_t at, uint64_t w[4])
{
  w[0] = at;
  w[1] = forge_get32(h, 8) | (uint64_t)forge_get32(h, 12) << 32;
  w[2] = forge_get32(h, 20) | (uint64_t)forge_get32(h, 24) << 32;
  w[3] = forge_get32(h, 28);
}

/* The prev link (prev_size and its tag) of a header at at, predicted from leak's. */
static inline void forge_v2_prev(uint8_t *out, const uint8_t *leak, uintptr_t from,
                                 uintptr_t at, uint32_t prev_size)
{
  uint64_t w[2] = { from, forge_get32(leak, 0) }, nw[2] = { at, prev_size };
  forge_put32(out, 0, prev_size);
  forge_put32(out, 4, forge_predict(forge_get32(leak, 4), w, nw, 2));
}

static inline void forge_v2(uint8_t *out, const uint8_t *leak, uintptr_t from, uintptr_t at,
                            const struct forge_fields *fl)
{
  forge_v2_prev(out, leak, from, at, fl->prev_size);
  bool used = fl->state == FORGE_USED;
  forge_put32(out, 8, fl->size);
  forge_put32(out, 12, 0);
  forge_put32(out, 20, used ? forge_get32(leak, 20) : 0);
  /* info: state (used 2, free 1), kind (malloc 1), tail from bit 4. */
  forge_put32(out, 24, used ? 2u | 1u << 2 | fl->tail << 4 : 1u);
  forge_put32(out, 28, 0);
  uint64_t w[4], nw[4];
  forge_v2_tag_words(leak, from, w);
  forge_v2_tag_words(out, at, nw);
  forge_put32(out, 16, forge_predict(forge_get32(leak, 16), w, nw, 4));
}

/* A header at at with fields fl, forged from the header leak read at from. */
static inline void forge_header(void *at, const uint8_t *leak, const void *from,
                                const struct forge_fields *fl)
{
  uint8_t out[FORGE_HEADER];
  if (forge_is_v1(leak))
    forge_v1(out, leak, (uintptr_t)from, (uintptr_t)at, fl);
  else
    forge_v2(out, leak, (uintptr_t)from, (uintptr_t)at, fl);
  memcpy(opaque(at), out, sizeof out);
}

/*
 * Give the header at h a new prev_size, its tags predicted from its own.
 * Version 1 keeps prev_size inside the checksummed header, version 2 in
 * the prev link.
 */
static inline void forge_prev_size(void *h, uint32_t prev_size)
{
  uint8_t leak[FORGE_HEADER], out[FORGE_HEADER];
  memcpy(leak, opaque(h), sizeof leak);
  memcpy(out, leak, sizeof out);
  if (forge_is_v1(leak)) {
    uint64_t w[5], nw[5];
    forge_v1_words(leak, (uintptr_t)h, w);
    forge_put32(out, 12, prev_size);
    forge_v1_words(out, (uintptr_t)h, nw);
    forge_put32(out, 28, forge_predict(forge_get32(leak, 28), w, nw, 5));
  } else {
    forge_v2_prev(out, leak, (uintptr_t)h, (uintptr_t)h, prev_size);
  }
  memcpy(h, out, sizeof out);
}

/* The stored link to target in slot, from the link leaked at leak_slot to leak_target. */
static inline uintptr_t forge_link(const void *slot, const void *target, uintptr_t leaked,
                                   const void *leak_slot, const void *leak_target)
{
  uintptr_t key = leaked ^ (uintptr_t)leak_target ^ (uintptr_t)leak_slot >> 12;
  return (uintptr_t)target ^ key ^ (uintptr_t)slot >> 12;
}

/*
 * The attack went through: say so, with what heapguard_check_heap (found
 * at run time: the program is not linked with heapguard) says of the heap.
 */
static inline int forge_succeeded(const char *what)
{
  int (*check_heap)(void *) = (int (*)(void *))dlsym(RTLD_DEFAULT, "heapguard_check_heap");
  printf("attack succeeded: %s; heapguard_check_heap: %s\n", what,
         !check_heap ? "not found" : check_heap(NULL) ? "damage found" : "sound");
  return 0;
}

#endif
