/*
 * fuzz_ops.c - libFuzzer target: the input is a program of heap operations
 * run on heapguard's internal API (src/arena.h), compiled into the fuzzer
 * rather than preloaded, so the fuzzer's own malloc stays the sanitizer's.
 *
 * Operations over a table of SLOTS live blocks: allocate (size, alignment,
 * kind), free, sized free, resize in place, rewrite the data, a double free
 * and an interior-pointer free (which must be refused and change nothing),
 * and a full heap check. Only bytes within the requested sizes are written;
 * every block's contents are verified before it is freed or resized. After
 * every step hg_heap_check_all() must succeed: any finding on this legal
 * sequence, a lost byte or a wrong answer aborts, which libFuzzer reports.
 * Every block is freed at the end of the input, so inputs do not leak state
 * into each other beyond what the allocator itself keeps (its caches: a
 * crash can depend on earlier inputs, FUZZ_OPS_TRACE=1 prints every
 * allocation). FUZZ_SKIP_KNOWN (CMake HEAPGUARD_FUZZ_SKIP_KNOWN) steers
 * around already reported bugs so that a long run can find others.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "fuzz_input.h"
#include "block.h"
#include "runtime.h"
#include "segment.h"

#define SLOTS 32

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

static uint8_t pattern(const struct slot *s, size_t i)
{
  return (uint8_t)(s->seed + i * 31 + (i >> 8));
}

/*
 * Blocks up to 64 KiB are written and verified whole; of a larger block of
 * n bytes, the first and last 4 KiB (its "windows") only.
 */
static bool in_windows(size_t i, size_t n)
{
  return n <= 65536 || i < 4096 || i >= n - 4096;
}

static void fill_range(const struct slot *s, size_t from, size_t to)
{
  for (size_t i = from; i < to; i++) {
    if (!in_windows(i, s->n) && i < s->n - 4096)
      i = s->n - 4096;
    s->p[i] = pattern(s, i);
  }
}

/* Verify the bytes below upto that were written for a block of n bytes. */
static void verify_upto(const struct slot *s, size_t n, size_t upto, const char *when)
{
  for (size_t i = 0; i < upto; i++) {
    if (!in_windows(i, n)) {
      i = n - 4096 - 1;
      continue;
    }
    if (s->p[i] != pattern(s, i)) {
      fprintf(stderr, "fuzz_ops: %s: byte %zu of a %zu-byte block changed\n", when, i, n);
      abort();
    }
  }
}

static void verify(const struct slot *s, size_t upto, const char *when)
{
  verify_upto(s, s->n, upto, when);
}

static void check_heap(const char *when)
{
  struct heapguard_finding f = { 0 };
  if (!hg_heap_check_all(&f) || f.bug_class != HEAPGUARD_OK)
    die(when, &f);
}

static size_t pick_size(struct input *in)
{
  uint8_t c = next_byte(in);
  uint32_t v = next_u16(in);
  switch (c % 8) {
  case 0:
    return v % 33; /* includes 0 */
  case 1:
  case 2:
  case 3:
    return v % 1024;
  case 4:
  case 5:
    return v % 16384;
  case 6:
    return (size_t)v * 16 % (1u << 20); /* up to the large threshold */
  default:
    return ((size_t)1 << 20) - 4096 + (size_t)v * 32; /* around and above it */
  }
}

static size_t pick_align(struct input *in)
{
  uint8_t a = next_byte(in);
  if (a < 160)
    return HG_GRANULE;
  return (size_t)HG_GRANULE << (a % 17); /* 16 B .. 1 MiB */
}

static void do_free(struct slot *s, bool sized)
{
  verify(s, s->n, "before free");
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
  size_t n = pick_size(in);
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
  uint8_t *p = hg_heap_alloc(n, align, kind, &f);
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
  fill_range(s, 0, n);
}

static void do_resize(struct slot *s, struct input *in)
{
  size_t n = pick_size(in);
  size_t old = 0;
  verify(s, s->n, "before resize");
  struct heapguard_finding f = { 0 };
  /* Resize in place keeps the block's address: only malloc-kind blocks
   * are realloc'd in a program; the internal API checks as malloc. */
  if (s->kind != HG_KIND_MALLOC)
    return;
  bool ok = hg_heap_resize_in_place(s->p, n, &old, &f);
  if (f.bug_class != HEAPGUARD_OK)
    die("resize in place found a corrupted heap", &f);
  if (old != s->n)
    die("resize in place gave a wrong old size", NULL);
  if (!ok)
    return;
  size_t keep = n < s->n ? n : s->n;
  verify_upto(s, s->n, keep, "after resize");
  s->n = n;
  fill_range(s, 0, n);
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

static void do_interior_free(struct slot *s, struct input *in)
{
  if (s->n < 2)
    return;
  size_t off = 1 + next_u16(in) % (s->n - 1);
  struct heapguard_finding f = { 0 };
  if (hg_heap_free(s->p + off, s->kind, 0, 0, &f))
    die("free of an interior pointer accepted", NULL);
  if (f.bug_class != HEAPGUARD_INVALID_FREE)
    die("interior free misnamed", &f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  if (!hg_ensure_init())
    abort();
  trace = getenv("FUZZ_OPS_TRACE") != NULL;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct input in = { data, size };
  int steps = 0;
  while (in.left && steps++ < 256) {
    uint8_t op = next_byte(&in);
    struct slot *s = &slots[next_byte(&in) % SLOTS];
    switch (op % 10) {
    case 0:
    case 1:
    case 2:
      do_alloc(s, &in);
      break;
    case 3:
      if (s->p)
        do_free(s, false);
      break;
    case 4:
      if (s->p)
        do_free(s, true);
      break;
    case 5:
    case 6:
      if (s->p)
        do_resize(s, &in);
      break;
    case 7:
      if (s->p) {
        s->seed = next_byte(&in);
        fill_range(s, 0, s->n);
      }
      break;
    case 8:
      if (s->p)
        do_double_free(s);
      break;
    case 9:
      if (s->p)
        do_interior_free(s, &in);
      break;
    }
    check_heap("after a step");
  }
  for (int i = 0; i < SLOTS; i++)
    if (slots[i].p)
      do_free(&slots[i], false);
  check_heap("after freeing everything");
  return 0;
}
