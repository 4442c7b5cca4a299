/*
 * fuzz_ops.c - libFuzzer target: the input is a program of heap operations
 * run on heapguard's internal API (src/arena.h), compiled into the fuzzer
 * rather than preloaded, so the fuzzer's own malloc stays the sanitizer's.
 *
 * Operations over a table of SLOTS live blocks: allocate (size, alignment,
 * kind), free, sized free, resize in place, rewrite the data, a double free
 * and an interior-pointer free (which must be refused and change nothing).
 * Sizes are mostly small, sometimes up to and beyond the large threshold.
 * Only bytes within the requested sizes are written; every block's contents
 * are verified before it is freed or resized. After every step that calls
 * the allocator hg_heap_check_all() must succeed: any finding on this legal
 * sequence, a lost byte or a wrong answer aborts, which libFuzzer reports.
 * Every block is freed at the end of the input and the quarantine drained,
 * so inputs do not leak state into each other beyond what the allocator
 * itself keeps (empty segments, cached large segments: a crash can depend
 * on earlier inputs, FUZZ_OPS_TRACE=1 prints every allocation).
 * FUZZ_SKIP_KNOWN (CMake HEAPGUARD_FUZZ_SKIP_KNOWN) steers around already
 * reported bugs so that a long run can find others.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "init.h"
#include "fuzz_input.h"
#include "block.h"
#include "options.h"
#include "runtime.h"
#include "segment.h"

/* hg_heap_alloc without a stack, its memory's zeroness ignored. */
static void *heap_alloc(size_t n, size_t alignment, uint16_t kind, struct heapguard_finding *f)
{
  bool zeroed;
  return hg_heap_alloc(n, alignment, kind, 0, &zeroed, f);
}

#define SLOTS 32
/*
 * A whole-heap check follows every step and costs ~10 µs even for an empty
 * heap (the registry scan): the longest program stays near 2 ms.
 */
#define MAX_STEPS 128
/* For all arenas together; each gets an equal share. */
#define QUARANTINE_BYTES ((size_t)64 << 10)

struct slot {
  uint8_t *p;
  size_t n;
  size_t align;
  uint16_t kind;
  uint8_t seed;
};

static struct slot slots[SLOTS];
static bool trace; /* FUZZ_OPS_TRACE set: each allocation is printed */

static __attribute__((noreturn)) void die(const char *what, const struct heapguard_finding *f)
{
  fprintf(stderr, "fuzz_ops: %s", what);
  if (f)
    fprintf(stderr, ": %s (%s) block %#lx expected %#llx found %#llx",
            heapguard_bug_class_name(f->bug_class), f->what ? f->what : "?",
            (unsigned long)f->block, (unsigned long long)f->expected,
            (unsigned long long)f->found);
  fputc('\n', stderr);
  abort();
}

/*
 * Block contents: byte i of a block with seed s is noise[(s * NOISE_STRIDE
 * + i) % NOISE_PERIOD]. Filled and verified with memcpy and memcmp, a
 * period at a time, since a byte loop costs a sanitizer check and a
 * coverage callback per byte. The period is prime so that data moved by a
 * power of two (a page, a granule) does not match itself.
 */
#define NOISE_PERIOD 4093u
#define NOISE_STRIDE 61u

/* Twice the period, so that a period starting anywhere is contiguous. */
static uint8_t noise[2 * NOISE_PERIOD];

static void make_noise(void)
{
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < NOISE_PERIOD; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    noise[i] = noise[i + NOISE_PERIOD] = (uint8_t)x;
  }
}

static const uint8_t *noise_at(const struct slot *s, size_t i)
{
  return noise + (s->seed * NOISE_STRIDE + i) % NOISE_PERIOD;
}

static size_t min_size(size_t a, size_t b)
{
  return a < b ? a : b;
}

static void fill_span(const struct slot *s, size_t from, size_t to)
{
  for (size_t n; from < to; from += n) {
    n = min_size(to - from, NOISE_PERIOD);
    memcpy(s->p + from, noise_at(s, from), n);
  }
}

static void verify_span(const struct slot *s, size_t from, size_t to, const char *when)
{
  for (size_t len; from < to; from += len) {
    len = min_size(to - from, NOISE_PERIOD);
    if (memcmp(s->p + from, noise_at(s, from), len) == 0)
      continue;
    size_t i = from;
    while (s->p[i] == *noise_at(s, i))
      i++;
    fprintf(stderr, "fuzz_ops: %s: byte %zu of a %zu-byte block changed\n", when, i, s->n);
    abort();
  }
}

/*
 * Blocks up to WHOLE_MAX bytes are written and verified whole; of a larger
 * block, the first and last WINDOW bytes only, so that a large block does
 * not cost a page fault per page.
 */
#define WHOLE_MAX 65536u
#define WINDOW 4096u

static void fill(const struct slot *s)
{
  if (s->n <= WHOLE_MAX) {
    fill_span(s, 0, s->n);
    return;
  }
  fill_span(s, 0, WINDOW);
  fill_span(s, s->n - WINDOW, s->n);
}

/* Verify the bytes below upto that fill(s) wrote. */
static void verify_upto(const struct slot *s, size_t upto, const char *when)
{
  if (s->n <= WHOLE_MAX) {
    verify_span(s, 0, upto, when);
    return;
  }
  verify_span(s, 0, min_size(upto, WINDOW), when);
  if (upto > s->n - WINDOW)
    verify_span(s, s->n - WINDOW, upto, when);
}

static void verify(const struct slot *s, const char *when)
{
  verify_upto(s, s->n, when);
}

static void check_heap(const char *when)
{
  struct heapguard_finding f = { 0 };
  if (!hg_heap_check_all(&f) || f.bug_class != HEAPGUARD_OK)
    die(when, &f);
}

/*
 * Mostly small blocks, as in a program, and cheap to fill and check; one
 * in eight up to the large threshold (1 MiB) or around and above it, where
 * a block costs page faults and, above, a segment of its own.
 */
static size_t pick_size(struct input *in)
{
  unsigned c = next_byte(in) % 32;
  uint32_t v = next_u16(in);
  if (c < 6)
    return v % 33; /* includes 0 */
  if (c < 20)
    return v % 1024;
  if (c < 28)
    return v % 16384;
  if (c < 31)
    return (size_t)v * 16 % (1u << 20); /* up to the large threshold */
  return ((size_t)1 << 20) - 4096 + (size_t)v * 32; /* around and above it */
}

/*
 * Bytes the input may still ask for. Every byte of a shared block is
 * poisoned and scanned when it leaves the quarantine, and the fuzzer
 * breeds programs that ask for a MiB at most steps (100 MiB and 10 ms an
 * input); past the budget, requests are cut to under 1 KiB. The budget
 * still fills two shared segments.
 */
#define INPUT_BYTES ((size_t)8 << 20)

static size_t bytes_left;

static size_t within_budget(size_t n)
{
  if (n > bytes_left)
    n %= 1024;
  bytes_left -= min_size(n, bytes_left);
  return n;
}

/*
 * Mostly the granule; an alignment of 128 KiB or more (256 KiB or more
 * makes a dedicated segment) one time in 64.
 */
static size_t pick_align(struct input *in)
{
  uint8_t a = next_byte(in);
  if (a < 208)
    return HG_GRANULE;
  if (a < 252)
    return (size_t)HG_GRANULE << (a % 13); /* 16 B .. 64 KiB */
  return (size_t)HG_GRANULE << (13 + a % 4); /* 128 KiB .. 1 MiB */
}

static void do_free(struct slot *s, bool sized)
{
  verify(s, "before free");
  struct heapguard_finding f = { 0 };
  /* A sized free of 0 bytes means unsized. */
  if (!hg_heap_free(s->p, s->kind, sized ? s->n : 0, 0, &f))
    die("free of a live block refused", &f);
  s->p = NULL;
}

static void do_alloc(struct slot *s, struct input *in)
{
  if (s->p)
    do_free(s, false);
  size_t n = within_budget(pick_size(in));
  size_t align = pick_align(in);
  uint16_t kind = (uint16_t)(HG_KIND_MALLOC + next_byte(in) % 3);
#ifdef FUZZ_SKIP_KNOWN
  /* Known (reported): a 0-byte request aligned to 256 KiB or more may reuse
   * a cached large segment too small for the alignment and write its header
   * before the segment (SIGSEGV in hg_segment_place_large). */
  if (n == 0 && align >= ((size_t)1 << 18))
    n = 1;
#endif
  struct heapguard_finding f = { 0 };
  if (trace)
    fprintf(stderr, "alloc slot %d: %zu bytes aligned to %zu, kind %u\n", (int)(s - slots), n,
            align, kind);
  uint8_t *p = heap_alloc(n, align, kind, &f);
  if (!p)
    die(f.bug_class ? "allocation found a corrupted heap" : "allocation failed", &f);
  if ((uintptr_t)p % align)
    die("misaligned block", NULL);
  /* The block must not overlap a live one. */
  for (int i = 0; i < SLOTS; i++)
    if (slots[i].p && p < slots[i].p + slots[i].n + 1 && slots[i].p < p + n + 1)
      die("new block overlaps a live one", NULL);
  s->p = p;
  s->n = n;
  s->align = align;
  s->kind = kind;
  s->seed = next_byte(in);
  fill(s);
}

/* False when the block is not malloc's and nothing was asked. */
static bool do_resize(struct slot *s, struct input *in)
{
  size_t n = within_budget(pick_size(in));
  size_t old = 0;
  verify(s, "before resize");
  struct heapguard_finding f = { 0 };
  /* Resize in place keeps the block's address: only malloc-kind blocks
   * are realloc'd in a program; the internal API checks as malloc. */
  if (s->kind != HG_KIND_MALLOC)
    return false;
  bool ok = hg_heap_resize_in_place(s->p, n, &old, &f);
  if (f.bug_class != HEAPGUARD_OK)
    die("resize in place found a corrupted heap", &f);
  if (old != s->n)
    die("resize in place gave a wrong old size", NULL);
  if (ok) {
    verify_upto(s, min_size(n, s->n), "after resize");
    s->n = n;
    fill(s);
  }
  return true;
}

/* A second free of a freed block must be refused and change nothing. */
static void do_double_free(struct slot *s)
{
  uint8_t *p = s->p;
  uint16_t kind = s->kind;
  do_free(s, false);
  check_heap("after the first free");
  struct heapguard_finding f = { 0 };
  if (hg_heap_free(p, kind, 0, 0, &f))
    die("double free accepted", NULL);
  /* The block may have been merged, its segment cached or unmapped. */
  if (f.bug_class != HEAPGUARD_DOUBLE_FREE && f.bug_class != HEAPGUARD_INVALID_FREE)
    die("double free misnamed", &f);
}

/*
 * Whether a free of p meets the sealed header of a block freed before: a
 * free that merges a block into its predecessor leaves the block's header
 * sealed as free (so that its second free is named double-free), and the
 * middle of a block larger than WHOLE_MAX is never written here, so such a
 * header can outlive the reuse of its memory by a bigger block. A free of
 * p is then a second free of that older block.
 */
static bool meets_freed_header(const uint8_t *p)
{
  const struct hg_block *h = hg_block_of(p);
  return (uintptr_t)p % HG_GRANULE == 0 && hg_block_verify(&hg_key, h) == HG_HEADER_OK &&
         h->state == HG_STATE_FREE;
}

/* False when the block has no interior. */
static bool do_interior_free(struct slot *s, struct input *in)
{
  if (s->n < 2)
    return false;
  uint8_t *p = s->p + 1 + next_u16(in) % (s->n - 1);
  struct heapguard_finding f = { 0 };
  if (hg_heap_free(p, s->kind, 0, 0, &f))
    die("free of an interior pointer accepted", NULL);
  if (f.bug_class != HEAPGUARD_INVALID_FREE &&
      !(f.bug_class == HEAPGUARD_DOUBLE_FREE && meets_freed_header(p)))
    die("interior free misnamed", &f);
  return true;
}

/*
 * One operation of the program. False when it left the heap untouched (an
 * empty slot, a resize of a block not from malloc, a block without an
 * interior), so that the heap needs no check after it.
 */
static bool run_op(struct input *in)
{
  uint8_t op = next_byte(in) % 10;
  struct slot *s = &slots[next_byte(in) % SLOTS];
  if (op <= 2) {
    do_alloc(s, in);
    return true;
  }
  if (!s->p)
    return false;
  switch (op) {
  case 3:
  case 4:
    do_free(s, op == 4);
    return true;
  case 5:
  case 6:
    return do_resize(s, in);
  case 7:
    s->seed = next_byte(in);
    fill(s);
    return true;
  case 8:
    do_double_free(s);
    return true;
  default:
    return do_interior_free(s, in);
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  if (!hg_ensure_init())
    abort();
  /*
   * Freed blocks still wait in the quarantine and leave it oldest first,
   * but the whole-heap check after every step verifies the poison of every
   * quarantined byte: with the default 4 MiB that check was most of the
   * run time.
   */
  hg_options.quarantine_bytes = QUARANTINE_BYTES;
  make_noise();
  trace = getenv("FUZZ_OPS_TRACE") != NULL;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct input in = { data, size };
  bytes_left = INPUT_BYTES;
  for (int steps = 0; in.left && steps < MAX_STEPS; steps++)
    if (run_op(&in))
      check_heap("after a step");
  for (int i = 0; i < SLOTS; i++)
    if (slots[i].p)
      do_free(&slots[i], false);
  check_heap("after freeing everything");
  /* The next input starts with an empty quarantine, so it does not depend
   * on this one's frees. */
  struct heapguard_finding f = { 0 };
  if (!hg_heap_drain(&f))
    die("draining the quarantine found a damaged block", &f);
  check_heap("after draining the quarantine");
  return 0;
}
