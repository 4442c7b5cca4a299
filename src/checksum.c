/*
 * checksum.c - CRC32C (Castagnoli) with a hardware fast path.
 */
#include "checksum.h"

#define CRC32C_POLY_REFLECTED 0x82f63b78u

bool hg_crc32c_hw;
static uint32_t crc_table[256];

void hg_crc32c_init(void)
{
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++)
      c = (c & 1) ? (c >> 1) ^ CRC32C_POLY_REFLECTED : c >> 1;
    crc_table[i] = c;
  }
#if defined(__x86_64__)
  __builtin_cpu_init();
  hg_crc32c_hw = __builtin_cpu_supports("sse4.2");
#endif
}

uint32_t hg_crc32c_u64_soft(uint32_t crc, uint64_t v)
{
  for (int i = 0; i < 8; i++) {
    crc = crc_table[(crc ^ v) & 0xff] ^ (crc >> 8);
    v >>= 8;
  }
  return crc;
}
