/*
 * block.c - sealing and verification of block headers, trailing canaries,
 * poison and link masks.
 */
#include "block.h"

#include <string.h>

void hg_key_derive(struct hg_key *key, const uint64_t secret[2])
{
  hg_tag_key_derive(&key->tag, secret);
}

static const char *const fault_names[] = {
  [HG_HEADER_OK] = "ok",
  [HG_HEADER_BAD_CANARY] = "header canary",
  [HG_HEADER_BAD_TAG] = "tag",
  [HG_HEADER_BAD_STATE] = "state",
  [HG_HEADER_BAD_SIZE] = "size",
};

const char *hg_header_fault_name(enum hg_header_fault f)
{
  return (unsigned)f < sizeof fault_names / sizeof *fault_names ? fault_names[f]
                                                                : "unknown";
}




static bool state_is_known(unsigned state)
{
  return state == HG_STATE_FREE || state == HG_STATE_USED || state == HG_STATE_QUARANTINED;
}

static bool size_is_plausible(const struct hg_block *b)
{
  if (b->size < HG_MIN_BLOCK_GRANULES)
    return false;
  if (b->state == HG_STATE_FREE)
    return b->tail == 0 && b->kind == 0 && b->stack == 0;
  return b->tail >= 1 && b->tail <= hg_block_capacity(b) && b->kind != HG_KIND_ANY;
}

HG_TAG_TARGET enum hg_header_fault hg_block_verify_at(const struct hg_key *key,
                                                      const struct hg_block *b, uintptr_t addr,
                                                      uint64_t *pattern)
{
  if (b->prev_tag != hg_block_expected_prev_tag(key, b->prev_size, addr))
    return HG_HEADER_BAD_CANARY;
  struct hg_tag mac = hg_block_mac(key, b, addr);
  if (b->tag != (uint32_t)mac.lo)
    return HG_HEADER_BAD_TAG;
  if (!state_is_known(b->state))
    return HG_HEADER_BAD_STATE;
  if (!size_is_plausible(b))
    return HG_HEADER_BAD_SIZE;
  if (pattern)
    *pattern = hg_tail_pattern(mac.hi);
  return HG_HEADER_OK;
}

HG_TAG_TARGET void hg_block_set_prev(const struct hg_key *key, struct hg_block *b, uint32_t prev_size)
{
  uint64_t word = (uint64_t)prev_size |
                  (uint64_t)hg_block_expected_prev_tag(key, prev_size, (uintptr_t)b) << 32;
  __atomic_store_n((uint64_t *)b, word, __ATOMIC_RELAXED);
}

uint64_t hg_canary_pattern_at(const struct hg_key *key, uintptr_t at, bool leading)
{
  return hg_tail_pattern(hg_tag_compute(&key->tag, HG_TAG_BYTES, at, leading, 0, 0).lo);
}

/* Whole words first: the common intact case costs a compare per 8 bytes. */
static bool tail_words_intact(const uint8_t *end, size_t n, uint64_t pattern)
{
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    __builtin_memcpy(&w, end + i, 8);
    if (w != hg_tail_word(pattern, i))
      return false;
  }
  for (; i < n; i++)
    if (end[i] != hg_tail_byte(pattern, i))
      return false;
  return true;
}

bool hg_tail_verify(const uint8_t *end, size_t n, uint64_t pattern, struct hg_damage *damage)
{
  if (__builtin_expect(tail_words_intact(end, n, pattern), 1))
    return true;
  bool intact = true;
  for (size_t i = 0; i < n; i++) {
    uint8_t want = hg_tail_byte(pattern, i);
    if (end[i] == want)
      continue;
    if (intact) {
      damage->first = i;
      damage->expected = want;
      damage->found = end[i];
      intact = false;
    }
    damage->last = i;
  }
  return intact;
}

bool hg_tail_check(const struct hg_block *b, uint64_t pattern, struct hg_damage *damage)
{
  return hg_tail_verify((const uint8_t *)hg_block_data(b) + hg_block_requested(b),
                        hg_tail_checked_bytes(b), pattern, damage);
}

void hg_poison_fill_long(uint8_t *data, size_t n)
{
  memset(data, 0, HG_POISON_ZERO_BYTES);
  memset(data + HG_POISON_ZERO_BYTES, HG_POISON, n - HG_POISON_ZERO_BYTES);
}

/* What long poison is compared with, a run at a time (read-only: never written). */
static const uint8_t poison_run[1024] = { [0 ... 1023] = HG_POISON };

bool hg_poison_intact_long(const uint8_t *data, size_t n)
{
  uint64_t zero;
  __builtin_memcpy(&zero, data, sizeof zero);
  if (zero != 0)
    return false;
  for (size_t i = HG_POISON_ZERO_BYTES; i < n; i += sizeof poison_run) {
    size_t run = n - i < sizeof poison_run ? n - i : sizeof poison_run;
    if (memcmp(data + i, poison_run, run) != 0)
      return false;
  }
  return true;
}

/* Index of the first byte of data[0..n) that is not poison, or n. */
static size_t first_unpoisoned(const uint8_t *data, size_t n)
{
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    __builtin_memcpy(&w, data + i, 8);
    if (w != (i < HG_POISON_ZERO_BYTES ? 0 : HG_POISON_WORD))
      break;
  }
  for (; i < n; i++)
    if (data[i] != hg_poison_byte(i))
      return i;
  return n;
}

bool hg_poison_verify(const uint8_t *data, size_t n, struct hg_damage *damage)
{
  size_t first = first_unpoisoned(data, n);
  if (__builtin_expect(first == n, 1))
    return true;
  size_t last = first;
  for (size_t i = first; i < n; i++)
    if (data[i] != hg_poison_byte(i))
      last = i;
  damage->first = first;
  damage->last = last;
  damage->expected = hg_poison_byte(first);
  damage->found = data[first];
  return false;
}

HG_TAG_TARGET uintptr_t hg_link_mask(const struct hg_key *key, const void *slot)
{
  return (uintptr_t)HG_TAG_COMPUTE(&key->tag, HG_TAG_LINK, (uintptr_t)slot, 0, 0, 0).lo;
}
