/*
 * tag.h - the keyed function behind every tag heapguard writes into memory
 * a program can read: block header tags, prev-link tags, trailing canary
 * patterns, free-list link masks and segment checksums.
 *
 * The function is five rounds of AES (the round function alone: SubBytes,
 * ShiftRows, MixColumns, AddRoundKey) under six round keys drawn from the
 * process's secret, over a 256-bit input absorbed in two halves:
 *
 *   s = AESENC(a:b ^ K0, K1);  s = AESENC(s ^ c:d, K2);
 *   s = AESENC(AESENC(AESENC(s, K3), K4), K5)
 *
 * Every use puts its own domain constant into the top byte of `a` (user
 * addresses have 47 bits), so a value seen in one use tells nothing about
 * another. Unlike a CRC (affine: one sealed header gives the checksum of
 * any other) or a canary XORed with the key (one canary gives the key), the
 * output for an input not seen is unpredictable from any number of outputs
 * seen, as long as the rounds keyed with secret keys are (the assumption
 * SECURITY.md states). Each tag is 32 bits or more of the output.
 *
 * Pure: the library and the dump inspector compute the same values, with
 * the CPU's AES instructions where it has them and a table otherwise;
 * both give identical results (tested), so a dump verifies anywhere.
 */
#ifndef HG_TAG_H
#define HG_TAG_H

#include <stdbool.h>
#include <stdint.h>

struct hg_tag_key {
  uint64_t round[6][2]; /* K0 .. K5, little-endian halves of each 128-bit key */
};

/* The 128-bit output: lo is the first 8 bytes of the AES state, hi the last 8. */
struct hg_tag {
  uint64_t lo, hi;
};

/* The uses, each with its own domain (see above). */
enum hg_tag_domain {
  HG_TAG_HEADER = 1,   /* a block header's fields */
  HG_TAG_PREV = 2,     /* a block's prev link */
  HG_TAG_LINK = 3,     /* the mask of a free-list link slot */
  HG_TAG_SEGMENT = 4,  /* segment metadata, chained over its words */
  HG_TAG_BYTES = 5,    /* canary bytes keyed on an address alone (guard slots) */
};

/* Detect the AES instructions; idempotent, and done by hg_tag_key_derive. */
void hg_tag_init(void);

/* Round keys from the 128-bit secret. */
void hg_tag_key_derive(struct hg_tag_key *key, const uint64_t secret[2]);

/* The keyed function of (domain, a, b, c, d); a holds at most 56 bits. */
struct hg_tag hg_tag_compute(const struct hg_tag_key *key, enum hg_tag_domain domain,
                             uint64_t a, uint64_t b, uint64_t c, uint64_t d);

/* The same without the instructions, for tests that compare the two. */
struct hg_tag hg_tag_compute_soft(const struct hg_tag_key *key, enum hg_tag_domain domain,
                                  uint64_t a, uint64_t b, uint64_t c, uint64_t d);

/* Whether the AES instructions are in use. */
bool hg_tag_uses_aes_instructions(void);

/*
 * For the hot paths: functions compiled with HG_TAG_TARGET get the AES
 * instructions inlined (HG_TAG_COMPUTE), and fall back to the tables on a
 * CPU without them; the target attribute only allows the instructions, the
 * flag decides whether they run.
 */
extern bool hg_tag_aes;

#if defined(__x86_64__)
#include <immintrin.h>

#define HG_TAG_TARGET __attribute__((target("aes")))
/*
 * Always inline, for small tag computations on the fast paths: only
 * functions compiled with HG_TAG_TARGET may call them.
 */
#define HG_TAG_INLINE __attribute__((always_inline, target("aes")))

static inline HG_TAG_TARGET struct hg_tag
hg_tag_compute_aes(const struct hg_tag_key *key, enum hg_tag_domain domain, uint64_t a,
                   uint64_t b, uint64_t c, uint64_t d)
{
  const __m128i *k = (const __m128i *)key->round;
  __m128i s = _mm_set_epi64x((long long)b, (long long)(a ^ (uint64_t)domain << 56));
  s = _mm_aesenc_si128(_mm_xor_si128(s, _mm_loadu_si128(k)), _mm_loadu_si128(k + 1));
  s = _mm_xor_si128(s, _mm_set_epi64x((long long)d, (long long)c));
  s = _mm_aesenc_si128(s, _mm_loadu_si128(k + 2));
  s = _mm_aesenc_si128(s, _mm_loadu_si128(k + 3));
  s = _mm_aesenc_si128(s, _mm_loadu_si128(k + 4));
  s = _mm_aesenc_si128(s, _mm_loadu_si128(k + 5));
  return (struct hg_tag){ (uint64_t)_mm_cvtsi128_si64(s),
                          (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(s, s)) };
}

#define HG_TAG_COMPUTE(key, domain, a, b, c, d)                               \
  (__builtin_expect(hg_tag_aes, 1) ? hg_tag_compute_aes(key, domain, a, b, c, d)  \
                                   : hg_tag_compute_soft(key, domain, a, b, c, d))
#else
#define HG_TAG_TARGET
#define HG_TAG_INLINE __attribute__((always_inline))
#define HG_TAG_COMPUTE(key, domain, a, b, c, d) hg_tag_compute_soft(key, domain, a, b, c, d)
#endif

#endif
