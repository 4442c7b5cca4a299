/*
 * tag.c - the keyed function of tag.h: AES rounds with the AES
 * instructions or with tables built at start-up.
 */
#include "tag.h"

#include <string.h>
#if defined(__x86_64__) && __has_include(<sys/platform/x86.h>)
#include <sys/platform/x86.h>
#endif

static uint8_t sbox[256];
static uint32_t mix_table[256]; /* SubBytes then MixColumns of one byte in row 0 */
static bool tables_ready;
bool hg_tag_aes;

static uint8_t rotl8(uint8_t x, unsigned n)
{
  return (uint8_t)(x << n | x >> (8 - n));
}

static uint8_t times2(uint8_t x)
{
  return (uint8_t)(x << 1 ^ (x & 0x80 ? 0x1b : 0));
}

/* The S-box from its definition: inverse in GF(2^8), then the affine map. */
static void build_tables(void)
{
  uint8_t p = 1, q = 1;
  do {
    p = p ^ times2(p);         /* p * 3 runs through every nonzero element */
    q ^= (uint8_t)(q << 1);    /* q / 3, so that q stays p's inverse */
    q ^= (uint8_t)(q << 2);
    q ^= (uint8_t)(q << 4);
    if (q & 0x80)
      q ^= 0x09;
    sbox[p] = (uint8_t)(q ^ rotl8(q, 1) ^ rotl8(q, 2) ^ rotl8(q, 3) ^ rotl8(q, 4) ^ 0x63);
  } while (p != 1);
  sbox[0] = 0x63;
  for (unsigned i = 0; i < 256; i++) {
    uint8_t s = sbox[i];
    uint8_t s2 = times2(s);
    mix_table[i] = (uint32_t)s2 | (uint32_t)s << 8 | (uint32_t)s << 16 |
                   (uint32_t)(s2 ^ s) << 24;
  }
}

/*
 * Whether the AES instructions can be used: from what the dynamic loader
 * found at start-up where glibc tells it (each cpuid instruction is a
 * trap to the hypervisor in a virtual machine, and libgcc's
 * __builtin_cpu_init runs a dozen in every process).
 */
static bool cpu_has_aes(void)
{
#if defined(__x86_64__) && __has_include(<sys/platform/x86.h>)
  return CPU_FEATURE_ACTIVE(AES);
#elif defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("aes");
#else
  return false;
#endif
}

void hg_tag_init(void)
{
  if (tables_ready)
    return;
  build_tables();
  hg_tag_aes = cpu_has_aes();
  tables_ready = true;
}

bool hg_tag_uses_aes_instructions(void)
{
  return hg_tag_aes;
}

static uint32_t rotr32(uint32_t x, unsigned n)
{
  return x >> n | x << (32 - n);
}

/* One AES round (as AESENC): SubBytes, ShiftRows, MixColumns, AddRoundKey. */
static void round_soft(uint8_t s[16], const uint8_t rk[16])
{
  uint8_t out[16];
  for (unsigned c = 0; c < 4; c++) {
    /* After ShiftRows, column c takes row r from column c + r. */
    uint32_t col = mix_table[s[4 * c]] ^ rotr32(mix_table[s[4 * ((c + 1) % 4) + 1]], 24) ^
                   rotr32(mix_table[s[4 * ((c + 2) % 4) + 2]], 16) ^
                   rotr32(mix_table[s[4 * ((c + 3) % 4) + 3]], 8);
    for (unsigned r = 0; r < 4; r++)
      out[4 * c + r] = (uint8_t)(col >> (8 * r)) ^ rk[4 * c + r];
  }
  memcpy(s, out, 16);
}

static void store_words(uint8_t out[16], uint64_t lo, uint64_t hi)
{
  for (unsigned i = 0; i < 8; i++) {
    out[i] = (uint8_t)(lo >> (8 * i));
    out[8 + i] = (uint8_t)(hi >> (8 * i));
  }
}

static uint64_t load_word(const uint8_t *p)
{
  uint64_t v = 0;
  for (unsigned i = 0; i < 8; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* The AES-128 key schedule, of which the first six round keys are used. */
void hg_tag_key_derive(struct hg_tag_key *key, const uint64_t secret[2])
{
  hg_tag_init();
  uint8_t w[6 * 16];
  store_words(w, secret[0], secret[1]);
  uint8_t rcon = 1;
  for (unsigned i = 4; i < 6 * 4; i++) {
    uint8_t t[4];
    memcpy(t, w + 4 * (i - 1), 4);
    if (i % 4 == 0) {
      uint8_t first = t[0];
      t[0] = sbox[t[1]] ^ rcon;
      t[1] = sbox[t[2]];
      t[2] = sbox[t[3]];
      t[3] = sbox[first];
      rcon = times2(rcon);
    }
    for (unsigned k = 0; k < 4; k++)
      w[4 * i + k] = w[4 * (i - 4) + k] ^ t[k];
  }
  for (unsigned r = 0; r < 6; r++) {
    key->round[r][0] = load_word(w + 16 * r);
    key->round[r][1] = load_word(w + 16 * r + 8);
  }
}

struct hg_tag hg_tag_compute_soft(const struct hg_tag_key *key, enum hg_tag_domain domain,
                                  uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
  uint8_t s[16], rk[16], m[16];
  store_words(s, (a ^ (uint64_t)domain << 56) ^ key->round[0][0], b ^ key->round[0][1]);
  store_words(rk, key->round[1][0], key->round[1][1]);
  round_soft(s, rk);
  store_words(m, c, d);
  for (unsigned i = 0; i < 16; i++)
    s[i] ^= m[i];
  for (unsigned r = 2; r < 6; r++) {
    store_words(rk, key->round[r][0], key->round[r][1]);
    round_soft(s, rk);
  }
  return (struct hg_tag){ load_word(s), load_word(s + 8) };
}

HG_TAG_TARGET struct hg_tag hg_tag_compute(const struct hg_tag_key *key,
                                           enum hg_tag_domain domain, uint64_t a, uint64_t b,
                                           uint64_t c, uint64_t d)
{
  return HG_TAG_COMPUTE(key, domain, a, b, c, d);
}
