/*
 * fuzz_input.h - reading a fuzzer's input as a stream of choices: past its
 * end every byte reads as zero, so any input is a complete program.
 */
#ifndef HG_FUZZ_INPUT_H
#define HG_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct input {
  const uint8_t *d;
  size_t left;
};

static inline uint8_t next_byte(struct input *in)
{
  if (!in->left)
    return 0;
  in->left--;
  return *in->d++;
}

static inline uint32_t next_u16(struct input *in)
{
  uint32_t lo = next_byte(in);
  return lo | (uint32_t)next_byte(in) << 8;
}

#endif
