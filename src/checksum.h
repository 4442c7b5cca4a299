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

/*
 * Checksums over several words: the body is written once, as an
 * always-inline function taking the step function, and instantiated for
 * the instruction (where it inlines) and for the table. Dispatching once
 * per checksum rather than once per word keeps the hot path call-free.
 */
#if defined(__x86_64__)
#define HG_CRC32C_DISPATCH(name, params, ...)                                \
  __attribute__((target("sse4.2"))) static uint32_t name##_hw params          \
  {                                                                           \
    return name##_with(hg_crc32c_u64_hw, __VA_ARGS__);                               \
  }                                                                           \
  static uint32_t name##_soft params                                          \
  {                                                                           \
    return name##_with(hg_crc32c_u64_soft, __VA_ARGS__);                             \
  }                                                                           \
  static uint32_t name##_dispatch params                                      \
  {                                                                           \
    return hg_crc32c_hw ? name##_hw(__VA_ARGS__) : name##_soft(__VA_ARGS__);                \
  }
#else
#define HG_CRC32C_DISPATCH(name, params, ...)                                \
  static uint32_t name##_dispatch params                                      \
  {                                                                           \
    return name##_with(hg_crc32c_u64_soft, __VA_ARGS__);                             \
  }
#endif

typedef uint32_t (*hg_crc32c_step)(uint32_t, uint64_t);

#endif
