/*
 * checksum.h - CRC32C, the keyed checksum primitive of every header.
 *
 * Uses the SSE4.2 crc32 instruction where the CPU has it and a table
 * otherwise; both give identical results, so a dump written on one machine
 * verifies on another. Pure: no allocator state, shared with the inspector.
 */
#ifndef HG_CHECKSUM_H
#define HG_CHECKSUM_H

#include <stdbool.h>
#include <stdint.h>

void hg_crc32c_init(void);

extern bool hg_crc32c_hw;
uint32_t hg_crc32c_u64_soft(uint32_t crc, uint64_t v);

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static inline uint32_t
hg_crc32c_u64_hw(uint32_t crc, uint64_t v)
{
  return (uint32_t)__builtin_ia32_crc32di(crc, v);
}
#endif

static inline uint32_t hg_crc32c_u64(uint32_t crc, uint64_t v)
{
#if defined(__x86_64__)
  if (__builtin_expect(hg_crc32c_hw, 1))
    return hg_crc32c_u64_hw(crc, v);
#endif
  return hg_crc32c_u64_soft(crc, v);
}

#endif
