/*
 * block.c - sealing and verification of block headers and trailing canaries.
 */
#include "block.h"

#include "checksum.h"

static uint64_t mix64(uint64_t x)
{
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

void hg_key_derive(struct hg_key *key, const uint64_t secret[2])
{
  key->canary = mix64(secret[0] ^ 0x63616e617279ull);
  key->checksum = (uint32_t)mix64(secret[1] ^ 0x636865636bull);
  key->tail = mix64(secret[0] + secret[1]);
  /* No tail byte may be zero: the commonest overflow writes a NUL. */
  for (int i = 0; i < 64; i += 8)
    if (((key->tail >> i) & 0xff) == 0)
      key->tail |= (uint64_t)0xa5 << i;
  key->link = mix64(secret[1] ^ 0x6c696e6bull) & ~(uint64_t)0xf;
}

static const char *const fault_names[] = {
  [HG_HEADER_OK] = "ok",
  [HG_HEADER_BAD_CANARY] = "leading canary",
  [HG_HEADER_BAD_CHECKSUM] = "checksum",
  [HG_HEADER_BAD_STATE] = "state",
  [HG_HEADER_BAD_SIZE] = "size",
};

const char *hg_header_fault_name(enum hg_header_fault f)
{
  return (unsigned)f < sizeof fault_names / sizeof *fault_names ? fault_names[f]
                                                                : "unknown";
}

uint64_t hg_block_expected_canary(const struct hg_key *key, uintptr_t addr)
{
  return key->canary ^ (addr * 0x9e3779b97f4a7c15ull);
}

static inline __attribute__((always_inline)) uint32_t
block_checksum_with(hg_crc32c_step step, const struct hg_key *key,
                    const struct hg_block *b, uintptr_t addr)
{
  uint32_t crc = key->checksum;
  crc = step(crc, addr);
  crc = step(crc, b->canary);
  crc = step(crc, (uint64_t)b->size | (uint64_t)b->prev_size << 32);
  crc = step(crc, (uint64_t)b->tail | (uint64_t)b->state << 32 | (uint64_t)b->kind << 48);
  crc = step(crc, b->stack);
  return crc;
}

HG_CRC32C_DISPATCH(block_checksum,
                   (const struct hg_key *key, const struct hg_block *b, uintptr_t addr),
                   key, b, addr)

uint32_t hg_block_expected_checksum(const struct hg_key *key,
                                    const struct hg_block *b, uintptr_t addr)
{
  return block_checksum_dispatch(key, b, addr);
}

static bool state_is_known(uint16_t state)
{
  return state == HG_STATE_FREE || state == HG_STATE_USED ||
         state == HG_STATE_QUARANTINED;
}

static bool size_is_plausible(const struct hg_block *b)
{
  if (b->size < HG_MIN_BLOCK_GRANULES)
    return false;
  if (b->state == HG_STATE_FREE)
    return true;
  return b->tail >= 1 && b->tail <= hg_block_capacity(b);
}

enum hg_header_fault hg_block_verify_at(const struct hg_key *key,
                                        const struct hg_block *b,
                                        uintptr_t addr)
{
  if (b->canary != hg_block_expected_canary(key, addr))
    return HG_HEADER_BAD_CANARY;
  if (b->checksum != hg_block_expected_checksum(key, b, addr))
    return HG_HEADER_BAD_CHECKSUM;
  if (!state_is_known(b->state))
    return HG_HEADER_BAD_STATE;
  if (!size_is_plausible(b))
    return HG_HEADER_BAD_SIZE;
  return HG_HEADER_OK;
}

uint8_t hg_tail_byte(const struct hg_key *key, uintptr_t at)
{
  return (uint8_t)(key->tail >> ((at & 7) * 8));
}

static size_t tail_checked_bytes(const struct hg_block *b)
{
  return b->tail < HG_TAIL_CHECKED ? b->tail : HG_TAIL_CHECKED;
}

/* The pattern as an 8-byte word read at address at. */
static uint64_t tail_word(const struct hg_key *key, uintptr_t at)
{
  unsigned shift = (unsigned)(at & 7) * 8;
  return shift ? key->tail >> shift | key->tail << (64 - shift) : key->tail;
}

void hg_tail_write(const struct hg_key *key, const struct hg_block *b)
{
  hg_tail_fill(key, (uint8_t *)hg_block_data(b) + hg_block_requested(b),
               tail_checked_bytes(b));
}

void hg_tail_fill(const struct hg_key *key, uint8_t *end, size_t n)
{
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w = tail_word(key, (uintptr_t)(end + i));
    __builtin_memcpy(end + i, &w, 8);
  }
  for (; i < n; i++)
    end[i] = hg_tail_byte(key, (uintptr_t)(end + i));
}

/* Whole words first: the common intact case costs a compare per 8 bytes. */
static bool tail_words_intact(const struct hg_key *key, const uint8_t *end, size_t n)
{
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    __builtin_memcpy(&w, end + i, 8);
    if (w != tail_word(key, (uintptr_t)(end + i)))
      return false;
  }
  for (; i < n; i++)
    if (end[i] != hg_tail_byte(key, (uintptr_t)(end + i)))
      return false;
  return true;
}

bool hg_tail_check(const struct hg_key *key, const struct hg_block *b,
                   struct hg_damage *damage)
{
  return hg_tail_verify(key, (const uint8_t *)hg_block_data(b) + hg_block_requested(b),
                        tail_checked_bytes(b), damage);
}

bool hg_tail_verify(const struct hg_key *key, const uint8_t *end, size_t n,
                    struct hg_damage *damage)
{
  if (__builtin_expect(tail_words_intact(key, end, n), 1))
    return true;
  bool intact = true;
  for (size_t i = 0; i < n; i++) {
    uint8_t want = hg_tail_byte(key, (uintptr_t)(end + i));
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

/* Index of the first byte of p[0..n) that is not poison, or n. */
static size_t first_unpoisoned(const uint8_t *p, size_t n)
{
  static const uint64_t poison_word = 0x0101010101010101ull * HG_POISON;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    __builtin_memcpy(&w, p + i, 8);
    if (w != poison_word)
      break;
  }
  for (; i < n; i++)
    if (p[i] != HG_POISON)
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
    if (data[i] != HG_POISON)
      last = i;
  damage->first = first;
  damage->last = last;
  damage->expected = HG_POISON;
  damage->found = data[first];
  return false;
}
