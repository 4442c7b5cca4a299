/*
 * test_forgery.c - what reading the heap gives toward forging metadata.
 *
 * Thousands of (header, address) pairs, trailing canaries and links are
 * computed with one key, as an attacker who reads the heap would collect
 * them, and the predictions that broke heapguard's first format are made
 * from them: the keyed CRC's affine difference for tags, the XOR of a key
 * with a function of the address for canaries and link masks, one pattern
 * for every trailing canary. None may beat guessing. Each prediction is
 * first run on a reference function built the old way (a keyed CRC32C, a
 * canary key ^ address * constant, a link key ^ slot >> 12, one pattern),
 * where it must succeed every time: that is what shows the test can fail.
 * Then statistics of the tag outputs: no affine relation between input and
 * output bits over GF(2) (which a CRC has, and which a leaked pair would
 * reveal), balanced output bits, and avalanche.
 *
 * The samples come from a fixed generator, so a run is reproducible; the
 * bounds are many standard deviations wide, and a function with the flaw
 * each looks for misses them by far (the reference functions show how).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "block.h"
#include "tag.h"

#define SAMPLES 4096u
#define SOURCES 256u /* leaked samples each prediction starts from */
#define GOLDEN 0x9e3779b97f4a7c15ull

static struct hg_key key;

static uint64_t rng_state;

static uint64_t next_random(void)
{
  uint64_t z = (rng_state += GOLDEN);
  z = (z ^ z >> 30) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ z >> 27) * 0x94d049bb133111ebull;
  return z ^ z >> 31;
}

/* A user address: 47 bits, granule aligned. */
static uintptr_t random_address(void)
{
  return (uintptr_t)(next_random() & 0x7ffffffffff0ull);
}

struct sample {
  uintptr_t addr;
  struct hg_block h;
  uint64_t w[4]; /* the tag's input words, as forge predictions see them */
  uint32_t tag;
  uint64_t pattern;
  uint32_t old_tag; /* the reference keyed CRC of the same words */
};

static struct sample samples[SAMPLES];

static uint32_t old_checksum(const uint64_t *w, unsigned n);

static uint32_t info_of(const struct hg_block *h)
{
  uint32_t w;
  memcpy(&w, (const char *)h + 24, sizeof w);
  return w;
}

static void fill_samples(void)
{
  for (unsigned i = 0; i < SAMPLES; i++) {
    struct sample *s = &samples[i];
    memset(&s->h, 0, sizeof s->h);
    s->addr = random_address();
    uint64_t r = next_random();
    s->h.size = 3 + (uint32_t)(r % 100000);
    s->h.tail = 1 + (uint32_t)(r >> 20) % 64;
    s->h.state = HG_STATE_USED;
    s->h.kind = 1 + (uint32_t)(r >> 40) % 3;
    s->h.stack = (uint32_t)next_random();
    struct hg_tag mac = hg_block_mac(&key, &s->h, s->addr);
    s->tag = (uint32_t)mac.lo;
    s->pattern = hg_tail_pattern(mac.hi);
    s->w[0] = s->addr;
    s->w[1] = s->h.size | (uint64_t)s->h.free_stack << 32;
    s->w[2] = s->h.stack | (uint64_t)info_of(&s->h) << 32;
    s->w[3] = s->h.zero;
    s->old_tag = old_checksum(s->w, 4);
  }
}

static int setup(void **state)
{
  (void)state;
  uint64_t secret[2] = { 0x243f6a8885a308d3ull, 0x13198a2e03707344ull };
  hg_key_derive(&key, secret);
  rng_state = 1;
  fill_samples();
  return 0;
}

/* ---- the old constructions, as references ---- */

static uint32_t crc32c_word(uint32_t crc, uint64_t v)
{
  for (unsigned byte = 0; byte < 8; byte++) {
    crc ^= (uint8_t)(v >> (8 * byte));
    for (int k = 0; k < 8; k++)
      crc = crc & 1 ? crc >> 1 ^ 0x82f63b78u : crc >> 1;
  }
  return crc;
}

static uint32_t crc32c_words(uint32_t init, const uint64_t *w, unsigned n)
{
  for (unsigned i = 0; i < n; i++)
    init = crc32c_word(init, w[i]);
  return init;
}

/* The first format's checksum: CRC32C with a keyed initial value. */
static uint32_t old_checksum(const uint64_t *w, unsigned n)
{
  return crc32c_words(0x5eed1e55u, w, n);
}

static const uint64_t old_key = 0x6c696e6b6b657931ull;

/* ---- predictions from one leaked sample ---- */

/* tag' = tag ^ crc(0, words ^ words'): exact for any keyed CRC. */
static uint32_t crc_predict(uint32_t tag, const uint64_t *w, const uint64_t *nw, unsigned n)
{
  uint64_t diff[4];
  for (unsigned i = 0; i < n; i++)
    diff[i] = w[i] ^ nw[i];
  return tag ^ crc32c_words(0, diff, n);
}

/* canary' = canary ^ f(address) ^ f(address'): exact for key ^ f(address). */
static uint64_t xor_predict(uint64_t canary, uintptr_t addr, uintptr_t new_addr)
{
  return canary ^ addr * GOLDEN ^ new_addr * GOLDEN;
}

/* The CRC prediction of every header tag from every leaked one. */
static void crc_prediction_of_header_tags_fails(void **state)
{
  (void)state;
  unsigned hits = 0, reference_hits = 0, tries = 0;
  for (unsigned i = 0; i < SOURCES; i++)
    for (unsigned j = 0; j < SAMPLES; j++) {
      if (i == j)
        continue;
      const struct sample *a = &samples[i], *b = &samples[j];
      tries++;
      hits += crc_predict(a->tag, a->w, b->w, 4) == b->tag;
      reference_hits += crc_predict(a->old_tag, a->w, b->w, 4) == b->old_tag;
    }
  assert_int_equal(reference_hits, tries);
  /* A 32-bit guess is right 2^-32 of the time: ~0.0002 hits expected. */
  if (hits > 1)
    fail_msg("%u of %u predicted header tags were right", hits, tries);
}

/*
 * The header canary (prev_tag) and the header tag of the same header at
 * another address: the prediction an attacker who copies a header makes.
 */
static void crc_and_xor_predictions_of_header_canaries_fail(void **state)
{
  (void)state;
  unsigned crc_hits = 0, xor_hits = 0, reference_hits = 0, tries = 0;
  const uint32_t prev_size = 7;
  for (unsigned i = 0; i < SOURCES; i++) {
    uintptr_t from = samples[i].addr;
    uint32_t leaked = hg_block_expected_prev_tag(&key, prev_size, from);
    uint64_t old_canary = old_key ^ from * GOLDEN;
    for (unsigned j = 0; j < SAMPLES; j++) {
      uintptr_t to = samples[j].addr;
      if (to == from)
        continue;
      tries++;
      uint32_t want = hg_block_expected_prev_tag(&key, prev_size, to);
      uint64_t w[2] = { from, prev_size }, nw[2] = { to, prev_size };
      crc_hits += crc_predict(leaked, w, nw, 2) == want;
      xor_hits += (uint32_t)xor_predict(leaked, from, to) == want;
      reference_hits += xor_predict(old_canary, from, to) == (old_key ^ to * GOLDEN);
    }
  }
  assert_int_equal(reference_hits, tries);
  if (crc_hits > 1 || xor_hits > 1)
    fail_msg("of %u predicted canaries, %u (CRC) and %u (XOR) were right", tries, crc_hits,
             xor_hits);
}

/*
 * Link masks: from one leaked link whose target is known, the XOR
 * prediction of another slot's mask; and the differential form, which
 * holds for any mask linear in the slot address.
 */
static void xor_predictions_of_links_fail(void **state)
{
  (void)state;
  unsigned hits = 0, differential_hits = 0, reference_hits = 0, tries = 0;
  for (unsigned i = 0; i < SOURCES; i++) {
    uintptr_t slot = samples[i].addr, target = samples[i ^ 1].addr;
    uintptr_t leaked = hg_link_mangle(&key, (void *)slot, (void *)target);
    uintptr_t old_leaked = target ^ old_key ^ slot >> 12;
    uintptr_t k = leaked ^ target ^ slot >> 12;
    for (unsigned j = 0; j < SAMPLES; j++) {
      uintptr_t other = samples[j].addr, other_target = samples[j ^ 1].addr;
      if (other == slot)
        continue;
      tries++;
      hits += (other_target ^ k ^ other >> 12) ==
              hg_link_mangle(&key, (void *)other, (void *)other_target);
      reference_hits += (other_target ^ (old_leaked ^ target ^ slot >> 12) ^ other >> 12) ==
                        (other_target ^ old_key ^ other >> 12);
      /* mask(s) ^ mask(s ^ d) is the same for every s when the mask is linear. */
      uintptr_t d = other ^ slot;
      uintptr_t s2 = samples[(j + 1) % SAMPLES].addr;
      if (s2 == slot || s2 == other)
        continue; /* the same pair of slots: no prediction */
      differential_hits += (hg_link_mask(&key, (void *)slot) ^ hg_link_mask(&key, (void *)other)) ==
                           (hg_link_mask(&key, (void *)s2) ^ hg_link_mask(&key, (void *)(s2 ^ d)));
    }
  }
  assert_int_equal(reference_hits, tries);
  if (hits || differential_hits)
    fail_msg("of %u predicted links, %u right; %u differentials held", tries, hits,
             differential_hits);
}

/*
 * Trailing canaries: another block's slack predicts this block's canary
 * no better than chance, byte by byte (about 1 in 254: a byte is never 0,
 * and 0xa5 stands for it). One pattern for every block (the old format)
 * would match at every byte.
 */
static void another_blocks_canary_predicts_nothing(void **state)
{
  (void)state;
  unsigned matches[8] = { 0 }, guard_matches[8] = { 0 };
  for (unsigned i = 0; i < SAMPLES; i++) {
    const struct sample *a = &samples[i], *b = &samples[(i + 1) % SAMPLES];
    uint64_t ga = hg_canary_pattern_at(&key, a->addr, false);
    uint64_t gb = hg_canary_pattern_at(&key, b->addr, false);
    for (unsigned byte = 0; byte < 8; byte++) {
      matches[byte] += hg_tail_byte(a->pattern, byte) == hg_tail_byte(b->pattern, byte);
      guard_matches[byte] += hg_tail_byte(ga, byte) == hg_tail_byte(gb, byte);
    }
  }
  /* Expected SAMPLES / 254, about 16, with a standard deviation of 4. */
  for (unsigned byte = 0; byte < 8; byte++)
    if (matches[byte] > 48 || guard_matches[byte] > 48)
      fail_msg("canary byte %u matched %u (blocks) and %u (guard slots) times in %u", byte,
               matches[byte], guard_matches[byte], SAMPLES);
}

/* The same header changed in one field: its canary pattern changes too. */
static void canary_pattern_follows_the_header(void **state)
{
  (void)state;
  unsigned same = 0;
  for (unsigned i = 0; i < SAMPLES; i++) {
    struct hg_block h = samples[i].h;
    h.stack ^= 1u << (i % 32);
    same += hg_tail_pattern(hg_block_mac(&key, &h, samples[i].addr).hi) == samples[i].pattern;
  }
  assert_int_equal(same, 0);
}

/* ---- statistics of the outputs ---- */

#define ROWS 400u /* equations: far more than the 172 unknowns */

struct gf2_row {
  uint64_t x[3]; /* address bits 4..46, then a constant 1 at bit 43; two field words */
  uint64_t y;    /* the output bits */
};

/*
 * Gaussian elimination over GF(2): the output bits that no affine function
 * of the input bits explains (an inconsistent system), as a mask.
 */
static uint64_t non_affine_outputs(struct gf2_row *rows, unsigned n)
{
  unsigned rank = 0;
  for (unsigned col = 0; col < 192 && rank < n; col++) {
    unsigned word = col / 64;
    uint64_t bit = (uint64_t)1 << (col % 64);
    unsigned pivot = rank;
    while (pivot < n && !(rows[pivot].x[word] & bit))
      pivot++;
    if (pivot == n)
      continue;
    struct gf2_row t = rows[pivot];
    rows[pivot] = rows[rank];
    rows[rank] = t;
    for (unsigned r = 0; r < n; r++)
      if (r != rank && rows[r].x[word] & bit) {
        for (unsigned k = 0; k < 3; k++)
          rows[r].x[k] ^= rows[rank].x[k];
        rows[r].y ^= rows[rank].y;
      }
    rank++;
  }
  uint64_t inconsistent = 0;
  for (unsigned r = rank; r < n; r++)
    inconsistent |= rows[r].y;
  return inconsistent;
}

static void set_inputs(struct gf2_row *row, const struct sample *s)
{
  row->x[0] = (s->addr >> 4) | (uint64_t)1 << 43;
  row->x[1] = s->w[1];
  row->x[2] = s->w[2];
}

/*
 * An affine relation between the inputs and the outputs (as a CRC has)
 * would let a few leaked pairs give every other tag. Over ROWS samples,
 * every one of the 32 tag bits and 32 canary-pattern bits must fit no
 * affine function of the 171 input bits; the keyed CRC fits one exactly.
 */
static void outputs_fit_no_affine_function(void **state)
{
  (void)state;
  static struct gf2_row rows[ROWS], reference[ROWS];
  for (unsigned i = 0; i < ROWS; i++) {
    const struct sample *s = &samples[i];
    struct hg_tag mac = hg_block_mac(&key, &s->h, s->addr);
    set_inputs(&rows[i], s);
    rows[i].y = (mac.lo & 0xffffffffu) | mac.hi << 32;
    set_inputs(&reference[i], s);
    reference[i].y = old_checksum(s->w, 3) | (uint64_t)crc32c_words(0x1234567u, s->w, 3) << 32;
  }
  assert_int_equal(non_affine_outputs(reference, ROWS), 0);
  uint64_t non_affine = non_affine_outputs(rows, ROWS);
  if (non_affine != ~(uint64_t)0)
    fail_msg("output bits fitting an affine function: %#llx",
             (unsigned long long)~non_affine);
}

/* Each of the 128 output bits is 1 about half the time, over structured inputs. */
static void output_bits_are_balanced(void **state)
{
  (void)state;
  enum { N = 65536 };
  static unsigned ones[128];
  memset(ones, 0, sizeof ones);
  uintptr_t base = 0x7f0000100000;
  for (unsigned i = 0; i < N; i++) {
    /* Consecutive granules, a few sizes: what a heap's headers look like. */
    struct hg_tag t = hg_tag_compute(&key.tag, HG_TAG_HEADER, base + 16 * i, 3 + i % 4, 77, 0);
    for (unsigned b = 0; b < 64; b++) {
      ones[b] += (unsigned)(t.lo >> b & 1);
      ones[64 + b] += (unsigned)(t.hi >> b & 1);
    }
  }
  /* Standard deviation sqrt(N / 4) = 128: six of them. */
  for (unsigned b = 0; b < 128; b++)
    if (ones[b] < N / 2 - 768 || ones[b] > N / 2 + 768)
      fail_msg("output bit %u was 1 in %u of %u", b, ones[b], N);
}

/* Flipping any one input bit flips each output bit about half the time. */
static void one_input_bit_changes_half_the_output(void **state)
{
  (void)state;
  enum { N = 512 };
  for (unsigned in = 0; in < 4 * 64; in++) {
    unsigned word = in / 64, bit = in % 64;
    if (word == 0 && (bit < 4 || bit > 46))
      continue; /* addresses are granule aligned and 47 bits */
    unsigned flips[128] = { 0 };
    for (unsigned i = 0; i < N; i++) {
      uint64_t w[4] = { random_address(), next_random(), next_random(), next_random() };
      struct hg_tag t = hg_tag_compute(&key.tag, HG_TAG_HEADER, w[0], w[1], w[2], w[3]);
      w[word] ^= (uint64_t)1 << bit;
      struct hg_tag u = hg_tag_compute(&key.tag, HG_TAG_HEADER, w[0], w[1], w[2], w[3]);
      for (unsigned b = 0; b < 64; b++) {
        flips[b] += (unsigned)((t.lo ^ u.lo) >> b & 1);
        flips[64 + b] += (unsigned)((t.hi ^ u.hi) >> b & 1);
      }
    }
    /* Standard deviation sqrt(N / 4) = 11.3: six of them, about 68. */
    for (unsigned b = 0; b < 128; b++)
      if (flips[b] < N / 2 - 68 || flips[b] > N / 2 + 68)
        fail_msg("input word %u bit %u flipped output bit %u %u times in %u", word, bit, b,
                 flips[b], N);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(crc_prediction_of_header_tags_fails),
    cmocka_unit_test(crc_and_xor_predictions_of_header_canaries_fail),
    cmocka_unit_test(xor_predictions_of_links_fail),
    cmocka_unit_test(another_blocks_canary_predicts_nothing),
    cmocka_unit_test(canary_pattern_follows_the_header),
    cmocka_unit_test(outputs_fit_no_affine_function),
    cmocka_unit_test(output_bits_are_balanced),
    cmocka_unit_test(one_input_bit_changes_half_the_output),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
