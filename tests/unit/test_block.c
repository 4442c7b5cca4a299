/*
 * test_block.c - the block header module on its own: sealing, flipping
 * every byte of a header, the trailing canary, poison, link masks, and the
 * keyed function of tag.h in both its implementations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "block.h"
#include "tag.h"

static struct hg_key key;

static int setup(void **state)
{
  (void)state;
  uint64_t secret[2] = { 0x0123456789abcdefull, 0xfedcba9876543210ull };
  hg_key_derive(&key, secret);
  return 0;
}

/* A used block of 48 bytes holding 13 requested bytes, in a local buffer. */
static _Alignas(16) unsigned char arena_buf[256];

static struct hg_block *make_used_block(void)
{
  memset(arena_buf, 0, sizeof arena_buf);
  struct hg_block *b = (struct hg_block *)(arena_buf + 64);
  b->size = 3;
  b->tail = 3;
  b->state = HG_STATE_USED;
  b->kind = HG_KIND_MALLOC;
  b->stack = 77;
  hg_block_set_prev(&key, b, 4);
  hg_tail_write(b, hg_block_seal(&key, b));
  return b;
}

static void sealed_header_verifies(void **state)
{
  (void)state;
  struct hg_block *b = make_used_block();
  assert_int_equal(hg_block_verify(&key, b), HG_HEADER_OK);
  assert_int_equal(hg_block_requested(b), 13);
}

static void every_flipped_byte_is_caught(void **state)
{
  (void)state;
  for (size_t byte = 0; byte < sizeof(struct hg_block); byte++) {
    for (int bit = 0; bit < 8; bit++) {
      struct hg_block *b = make_used_block();
      ((unsigned char *)b)[byte] ^= (unsigned char)(1u << bit);
      enum hg_header_fault want = byte < 8 ? HG_HEADER_BAD_CANARY : HG_HEADER_BAD_TAG;
      enum hg_header_fault got = hg_block_verify(&key, b);
      if (got != want)
        fail_msg("byte %zu bit %d: got %s, want %s", byte, bit,
                 hg_header_fault_name(got), hg_header_fault_name(want));
    }
  }
}

static void header_copied_elsewhere_fails(void **state)
{
  (void)state;
  struct hg_block *b = make_used_block();
  struct hg_block *copy = (struct hg_block *)(arena_buf + 128);
  memcpy(copy, b, sizeof *b);
  assert_int_equal(hg_block_verify(&key, copy), HG_HEADER_BAD_CANARY);
  hg_block_set_prev(&key, copy, copy->prev_size);
  assert_int_equal(hg_block_verify(&key, copy), HG_HEADER_BAD_TAG);
}

static void other_key_fails(void **state)
{
  (void)state;
  struct hg_block *b = make_used_block();
  struct hg_key other;
  uint64_t secret[2] = { 1, 2 };
  hg_key_derive(&other, secret);
  assert_int_not_equal(hg_block_verify(&other, b), HG_HEADER_OK);
}

static void sealed_nonsense_is_rejected(void **state)
{
  (void)state;
  struct hg_block *b = make_used_block();
  b->state = 0;
  hg_block_seal(&key, b);
  assert_int_equal(hg_block_verify(&key, b), HG_HEADER_BAD_STATE);
  b = make_used_block();
  b->tail = 0;
  hg_block_seal(&key, b);
  assert_int_equal(hg_block_verify(&key, b), HG_HEADER_BAD_SIZE);
  b = make_used_block();
  b->size = 1;
  hg_block_seal(&key, b);
  assert_int_equal(hg_block_verify(&key, b), HG_HEADER_BAD_SIZE);
  b = make_used_block();
  b->state = HG_STATE_FREE; /* a free block keeps no allocation fields */
  hg_block_seal(&key, b);
  assert_int_equal(hg_block_verify(&key, b), HG_HEADER_BAD_SIZE);
}

static uint64_t pattern_of(const struct hg_block *b)
{
  uint64_t pattern = 0;
  assert_int_equal(hg_block_verify_at(&key, b, (uintptr_t)b, &pattern), HG_HEADER_OK);
  return pattern;
}

static void tail_canary_is_byte_precise(void **state)
{
  (void)state;
  struct hg_damage d;
  struct hg_block *b = make_used_block();
  assert_true(hg_tail_check(b, pattern_of(b), &d));
  unsigned char *data = hg_block_data(b);
  for (size_t off = 13; off < 16; off++) {
    b = make_used_block();
    data[off] = 0; /* a NUL, the commonest overflow byte */
    assert_false(hg_tail_check(b, pattern_of(b), &d));
    assert_int_equal(d.first, off - 13);
    assert_int_equal(d.last, off - 13);
    assert_int_equal(d.found, 0);
    assert_int_not_equal(d.expected, 0);
  }
  b = make_used_block();
  data[12] = 0xff; /* inside the block: legal */
  assert_true(hg_tail_check(b, pattern_of(b), &d));
}

/* The canary differs from block to block and from one header state to the next. */
static void tail_pattern_depends_on_block_and_header(void **state)
{
  (void)state;
  struct hg_block *b = make_used_block();
  uint64_t first = pattern_of(b);
  struct hg_block *other = (struct hg_block *)(arena_buf + 128);
  memcpy(other, b, sizeof *b);
  hg_block_set_prev(&key, other, other->prev_size);
  hg_block_seal(&key, other);
  assert_int_not_equal(pattern_of(other), first);
  b->stack = 78;
  hg_block_seal(&key, b);
  assert_int_not_equal(pattern_of(b), first);
  for (unsigned i = 0; i < 8; i++)
    assert_int_not_equal(hg_tail_byte(first, i), 0);
}

static void poison_starts_with_a_zero_word(void **state)
{
  (void)state;
  uint8_t data[48];
  struct hg_damage d;
  hg_poison_fill(data, sizeof data);
  for (size_t i = 0; i < sizeof data; i++)
    assert_int_equal(data[i], i < HG_POISON_ZERO_BYTES ? 0 : HG_POISON);
  assert_true(hg_poison_verify(data, sizeof data, &d));
  data[3] = 1;
  data[20] = 0;
  assert_false(hg_poison_verify(data, sizeof data, &d));
  assert_int_equal(d.first, 3);
  assert_int_equal(d.last, 20);
  assert_int_equal(d.expected, 0);
  assert_int_equal(d.found, 1);
}

/*
 * Short and long data (the vector loops, and memset and memcmp from
 * HG_POISON_LONG_BYTES on) hold the same poison, and the quick test finds
 * a single changed byte wherever it is: in the zero word, at the seams of
 * the comparison runs, at the very end.
 */
static void poison_is_the_same_short_or_long(void **state)
{
  (void)state;
  static uint8_t data[8192];
  static const size_t sizes[] = { 16, 32, 48, HG_POISON_LONG_BYTES - 16, HG_POISON_LONG_BYTES,
                                  HG_POISON_LONG_BYTES + 16, 1024, 1040, 2064, 8192 };
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    size_t n = sizes[s];
    memset(data, 0x55, sizeof data);
    hg_poison_fill(data, n);
    for (size_t i = 0; i < n; i++)
      assert_int_equal(data[i], hg_poison_byte(i));
    if (n < sizeof data)
      assert_int_equal(data[n], 0x55); /* nothing past the data */
    assert_true(hg_poison_intact(data, n));
    const size_t at[] = { 0, 7, 8, 15, 16, 1031, 1032, n - 1 };
    for (size_t k = 0; k < sizeof at / sizeof *at; k++) {
      if (at[k] >= n)
        continue;
      uint8_t was = data[at[k]];
      data[at[k]] ^= 0x20;
      assert_false(hg_poison_intact(data, n));
      data[at[k]] = was;
    }
    assert_true(hg_poison_intact(data, n));
  }
}

static void links_round_trip_and_depend_on_slot(void **state)
{
  (void)state;
  static uintptr_t slots[2048];
  void *target = (void *)0x7f0012345670;
  uintptr_t a = hg_link_mangle(&key, &slots[0], target);
  uintptr_t b = hg_link_mangle(&key, &slots[1], target);
  assert_ptr_equal(hg_link_demangle(&key, &slots[0], a), target);
  assert_int_not_equal(a, (uintptr_t)target);
  assert_int_not_equal(a, b);
  /* Neighbouring slots' masks share no simple relation. */
  assert_int_not_equal(hg_link_mask(&key, &slots[0]) ^ hg_link_mask(&key, &slots[1]),
                       hg_link_mask(&key, &slots[2]) ^ hg_link_mask(&key, &slots[3]));
}

/* A writer's 16-byte half and a reader's snapshot agree with the fields. */
static void published_half_is_what_a_snapshot_reads(void **state)
{
  (void)state;
  struct hg_block *b = make_used_block();
  struct hg_block copy = *b;
  copy.state = HG_STATE_QUARANTINED;
  copy.stack = 99;
  hg_block_publish(&key, b, &copy, false);
  struct hg_block seen;
  hg_block_snapshot(b, &seen);
  assert_memory_equal(&seen, &copy, sizeof copy);
  assert_int_equal(hg_block_verify(&key, b), HG_HEADER_OK);
}

/*
 * The half sealed from fields in registers is the half sealed from a copy
 * with those fields: the info word packs state, kind and tail as the
 * bitfields lay them out, and hg_block_info_as keeps kind and tail.
 */
HG_TAG_TARGET static void half_from_fields_is_half_from_a_copy(void **state)
{
  (void)state;
  struct hg_block *b = make_used_block();
  struct hg_block copy = *b;
  copy.state = HG_STATE_QUARANTINED;
  copy.kind = HG_KIND_NEW_ARRAY;
  copy.tail = 5;
  copy.stack = 1234;
  uint64_t pattern = hg_block_publish(&key, b, &copy, false);
  struct hg_block expected;
  hg_block_snapshot(b, &expected);

  b = make_used_block();
  uint32_t info = hg_block_info_word(HG_STATE_QUARANTINED, HG_KIND_NEW_ARRAY, 5);
  struct hg_tag mac = hg_block_seal_half(&key, b, copy.size, copy.free_stack, 1234, info);
  struct hg_block seen;
  hg_block_snapshot(b, &seen);
  assert_memory_equal(&seen, &expected, sizeof seen);
  assert_int_equal(hg_tail_pattern(mac.hi), pattern);
  assert_int_equal(hg_block_verify(&key, b), HG_HEADER_OK);

  struct hg_block fields = { .state = HG_STATE_QUARANTINED, .kind = HG_KIND_NEW, .tail = HG_MAX_TAIL };
  uint32_t word;
  memcpy(&word, (const char *)&fields + 24, sizeof word);
  assert_int_equal(word, hg_block_info_word(HG_STATE_QUARANTINED, HG_KIND_NEW, HG_MAX_TAIL));
  assert_int_equal(hg_block_info_as(&fields, HG_STATE_USED),
                   hg_block_info_word(HG_STATE_USED, HG_KIND_NEW, HG_MAX_TAIL));
}

/*
 * A field read before a seal is read anew after it: the half is stored
 * through a type that may alias the header's fields. A tail kept from
 * before the seal put a moved canary at its old place (round 10's
 * realloc within a block's granules, not landed, wrote it so).
 */
HG_TAG_TARGET static void fields_read_after_a_seal_are_the_sealed_ones(void **state)
{
  (void)state;
  struct hg_block *b = make_used_block();
  uint32_t before = b->tail;
  hg_block_seal_half(&key, b, b->size, b->free_stack, b->stack,
                     hg_block_info_word(HG_STATE_USED, b->kind, before + 7));
  assert_int_equal(b->tail, before + 7);
  assert_int_equal(hg_tail_checked_bytes(b), before + 7);
  assert_int_equal(hg_block_verify(&key, b), HG_HEADER_OK);
}

static uint64_t le64(const uint8_t *p)
{
  uint64_t v = 0;
  for (unsigned i = 0; i < 8; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/*
 * FIPS-197 appendix B: with the cipher key as the secret and the plaintext
 * as input (the second half of the input zero), five rounds give the state
 * at the start of AES-128's round 6. Checks the key schedule and the round.
 */
static void tag_rounds_are_aes_rounds(void **state)
{
  (void)state;
  static const uint8_t cipher_key[16] = { 0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
                                          0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c };
  static const uint8_t plain[16] = { 0x32, 0x43, 0xf6, 0xa8, 0x88, 0x5a, 0x30, 0x8d,
                                     0x31, 0x31, 0x98, 0xa2, 0xe0, 0x37, 0x07, 0x34 };
  static const uint8_t round6[16] = { 0xf1, 0x00, 0x6f, 0x55, 0xc1, 0x92, 0x4c, 0xef,
                                      0x7c, 0xc8, 0x8b, 0x32, 0x5d, 0xb5, 0xd5, 0x0c };
  uint64_t secret[2] = { le64(cipher_key), le64(cipher_key + 8) };
  struct hg_tag_key k;
  hg_tag_key_derive(&k, secret);
  struct hg_tag soft = hg_tag_compute_soft(&k, 0, le64(plain), le64(plain + 8), 0, 0);
  assert_int_equal(soft.lo, le64(round6));
  assert_int_equal(soft.hi, le64(round6 + 8));
  struct hg_tag used = hg_tag_compute(&k, 0, le64(plain), le64(plain + 8), 0, 0);
  assert_int_equal(used.lo, soft.lo);
  assert_int_equal(used.hi, soft.hi);
}

static void tag_instructions_and_tables_agree(void **state)
{
  (void)state;
#if defined(__x86_64__)
  /* Found through glibc's record of the CPU, the instructions are in use where the CPU has them. */
  __builtin_cpu_init();
  assert_int_equal(hg_tag_uses_aes_instructions(), __builtin_cpu_supports("aes") != 0);
#endif
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < 20000; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t a = x >> 9, b = x * 3, c = ~x, d = x ^ (x >> 17);
    enum hg_tag_domain domain = (enum hg_tag_domain)(1 + i % 5);
    struct hg_tag hw = hg_tag_compute(&key.tag, domain, a, b, c, d);
    struct hg_tag sw = hg_tag_compute_soft(&key.tag, domain, a, b, c, d);
    if (hw.lo != sw.lo || hw.hi != sw.hi)
      fail_msg("input %d differs", i);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(sealed_header_verifies),
    cmocka_unit_test(fields_read_after_a_seal_are_the_sealed_ones),
    cmocka_unit_test(every_flipped_byte_is_caught),
    cmocka_unit_test(header_copied_elsewhere_fails),
    cmocka_unit_test(other_key_fails),
    cmocka_unit_test(sealed_nonsense_is_rejected),
    cmocka_unit_test(tail_canary_is_byte_precise),
    cmocka_unit_test(tail_pattern_depends_on_block_and_header),
    cmocka_unit_test(poison_starts_with_a_zero_word),
    cmocka_unit_test(poison_is_the_same_short_or_long),
    cmocka_unit_test(links_round_trip_and_depend_on_slot),
    cmocka_unit_test(published_half_is_what_a_snapshot_reads),
    cmocka_unit_test(half_from_fields_is_half_from_a_copy),
    cmocka_unit_test(tag_rounds_are_aes_rounds),
    cmocka_unit_test(tag_instructions_and_tables_agree),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
