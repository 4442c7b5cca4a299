/*
 * sizeclass.h - mapping block sizes to free-list bins.
 *
 * Blocks below 64 granules (1 KiB) have one exact bin per granule count.
 * Above, each power of two is split into four bins, as TLSF does, so a
 * search starting at the bin that rounds the request up finds a fitting
 * block in O(1) through the arena's bitmap of non-empty bins.
 */
#ifndef HG_SIZECLASS_H
#define HG_SIZECLASS_H

#include <stdint.h>

#define HG_EXACT_BINS 64u
#define HG_SUB_BIN_SHIFT 2u
#define HG_BIN_COUNT (HG_EXACT_BINS + (32u - 6u) * (1u << HG_SUB_BIN_SHIFT))
#define HG_BIN_WORDS ((HG_BIN_COUNT + 63u) / 64u)

static inline unsigned hg_log2(uint32_t g)
{
  return 31u - (unsigned)__builtin_clz(g);
}

/* The bin a free block of g granules is filed in. */
static inline unsigned hg_bin_of_block(uint32_t g)
{
  if (g < HG_EXACT_BINS)
    return g;
  unsigned lg = hg_log2(g);
  unsigned sub = (g >> (lg - HG_SUB_BIN_SHIFT)) & ((1u << HG_SUB_BIN_SHIFT) - 1);
  return HG_EXACT_BINS + ((lg - 6u) << HG_SUB_BIN_SHIFT) + sub;
}

/* The first bin all of whose blocks can hold g granules. */
static inline unsigned hg_bin_for_request(uint32_t g)
{
  unsigned bin = hg_bin_of_block(g);
  if (g < HG_EXACT_BINS)
    return bin;
  unsigned lg = hg_log2(g);
  uint32_t below_class = g & ((1u << (lg - HG_SUB_BIN_SHIFT)) - 1);
  return below_class ? bin + 1 : bin;
}

#endif
