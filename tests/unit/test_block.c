/*
 * test_block.c - the block header module on its own: sealing, flipping
 * every byte of a header, the trailing canary, link mangling, and the two
 * CRC32C implementations agreeing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "block.h"
#include "checksum.h"

static struct hg_key key;

static int setup(void **state)
{
  (void)state;
  hg_crc32c_init();
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
  b->prev_size = 4;
  b->tail = 3;
  b->state = HG_STATE_USED;
  b->kind = HG_KIND_MALLOC;
  b->stack = 77;
  hg_block_seal(&key, b);
  hg_tail_write(&key, b);
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
      enum hg_header_fault want = byte < 8 ? HG_HEADER_BAD_CANARY : HG_HEADER_BAD_CHECKSUM;
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
  copy->canary = hg_block_expected_canary(&key, (uintptr_t)copy);
  assert_int_equal(hg_block_verify(&key, copy), HG_HEADER_BAD_CHECKSUM);
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
  b->state = 0x1234;
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
}

static void tail_canary_is_byte_precise(void **state)
{
  (void)state;
  struct hg_damage d;
  struct hg_block *b = make_used_block();
  assert_true(hg_tail_check(&key, b, &d));
  unsigned char *data = hg_block_data(b);
  for (size_t off = 13; off < 16; off++) {
    b = make_used_block();
    data[off] = 0; /* a NUL, the commonest overflow byte */
    assert_false(hg_tail_check(&key, b, &d));
    assert_int_equal(d.first, off - 13);
    assert_int_equal(d.last, off - 13);
    assert_int_equal(d.found, 0);
    assert_int_not_equal(d.expected, 0);
  }
  b = make_used_block();
  data[12] = 0xff; /* inside the block: legal */
  assert_true(hg_tail_check(&key, b, &d));
}

static void links_round_trip_and_depend_on_slot(void **state)
{
  (void)state;
  static uintptr_t slots[2048];
  void *target = (void *)0x7f0012345670;
  uintptr_t a = hg_link_mangle(&key, &slots[0], target);
  uintptr_t b = hg_link_mangle(&key, &slots[1024], target);
  assert_ptr_equal(hg_link_demangle(&key, &slots[0], a), target);
  assert_int_not_equal(a, (uintptr_t)target);
  assert_int_not_equal(a, b);
}

static void crc32c_matches_known_value_in_both_paths(void **state)
{
  (void)state;
  /* CRC32C of eight zero bytes with a zero seed and no final inversion. */
  uint32_t soft = hg_crc32c_u64_soft(0, 0);
  uint32_t seeded = hg_crc32c_u64_soft(0xffffffffu, 0x3837363534333231ull);
  assert_int_equal(hg_crc32c_u64(0, 0), soft);
  assert_int_equal(hg_crc32c_u64(0xffffffffu, 0x3837363534333231ull), seeded);
  for (uint64_t v = 1; v < (1ull << 40); v = v * 3 + 7)
    assert_int_equal(hg_crc32c_u64((uint32_t)v, v), hg_crc32c_u64_soft((uint32_t)v, v));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(sealed_header_verifies),
    cmocka_unit_test(every_flipped_byte_is_caught),
    cmocka_unit_test(header_copied_elsewhere_fails),
    cmocka_unit_test(other_key_fails),
    cmocka_unit_test(sealed_nonsense_is_rejected),
    cmocka_unit_test(tail_canary_is_byte_precise),
    cmocka_unit_test(links_round_trip_and_depend_on_slot),
    cmocka_unit_test(crc32c_matches_known_value_in_both_paths),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
