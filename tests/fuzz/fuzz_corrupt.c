/*
 * fuzz_corrupt.c - libFuzzer target: flip bits, chosen by the input, in
 * bytes heapguard checks (or write there metadata copied from elsewhere),
 * and require that the next operation that must look at them returns a
 * finding of a corruption class (never silently OK, never a crash or hang
 * inside heapguard). The library is compiled into the fuzzer and driven
 * through src/arena.h.
 *
 * Each input allocates a row of blocks, then picks one target:
 *
 *   used header     32 header bytes of a used block    -> free(block)
 *   trailing canary the checked tail bytes of a block  -> free(block)
 *   next header     header of the used block after X   -> free(X)
 *   free header     header of a free block F           -> free(F's neighbour)
 *   free links      F's two mangled free-list links     -> free(F's neighbour),
 *                                                          or malloc of F's size
 *   segment         the 64 bytes of segment metadata   -> hg_heap_check_all()
 *   copied          metadata read from one place written -> as above for where
 *                   to another (see copy_metadata)         it was written
 *
 * and, for everything but the links found by malloc, hg_heap_check_all()
 * must find it too. Only checked bytes are flipped: data and slack beyond
 * the first 64 tail bytes are legal to change. Every operation used here
 * checks before it modifies, so once the bits are flipped back the heap
 * must be sound again, and the input's blocks are freed (except the two
 * neighbours of a free block whose damaged links malloc found, see
 * LOST_ROWS_MAX). The quarantine is turned off so that a freed block is a
 * free block at once.
 *
 * Segment metadata is read-only: to damage it the target makes its page
 * writable first, as only a program with a wild mprotect could.
 */
/* First: it asks for _GNU_SOURCE. The forging of the bug programs. */
#include "../bugs/forge.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "heap.h"
#include "init.h"
#include "fuzz_input.h"
#include "block.h"
#include "options.h"
#include "runtime.h"
#include "segment.h"

#include "sizeclass.h"

/* hg_heap_alloc without a stack, its memory's zeroness ignored. */
static void *heap_alloc(size_t n, size_t alignment, uint16_t kind, struct heapguard_finding *f)
{
  bool zeroed;
  return hg_heap_alloc(n, alignment, kind, 0, &zeroed, f);
}

#define MAX_BLOCKS 6


static __attribute__((noreturn)) void die(const char *what, const char *target,
                                          const struct heapguard_finding *f)
{
  fprintf(stderr, "fuzz_corrupt: %s (target: %s)", what, target);
  if (f)
    fprintf(stderr, ": %s (%s) block %#lx segment %#lx expected %#llx found %#llx",
            heapguard_bug_class_name(f->bug_class), f->what ? f->what : "?",
            (unsigned long)f->block, (unsigned long)f->segment,
            (unsigned long long)f->expected, (unsigned long long)f->found);
  fputc('\n', stderr);
  abort();
}

static bool is_corruption_class(enum heapguard_bug_class c)
{
  return c == HEAPGUARD_METADATA_CORRUPTION || c == HEAPGUARD_SEGMENT_CORRUPTION ||
         c == HEAPGUARD_HEAP_BUFFER_OVERFLOW;
}

/* Up to 4 flips of nonzero masks at offsets within [0, len) of base. */
struct flips {
  int count;
  uint8_t *at[4];
  uint8_t mask[4];
};

static void choose_flips(struct flips *fl, struct input *in, uint8_t *base, size_t len)
{
  fl->count = 1 + next_byte(in) % 4;
  for (int i = 0; i < fl->count; i++) {
    fl->at[i] = base + next_byte(in) % len;
    uint8_t m = next_byte(in);
    fl->mask[i] = m ? m : 0x01;
  }
}

/* Flipping twice at one byte may cancel out; apply returns whether any
 * byte ends up different. */
static bool apply(struct flips *fl)
{
  for (int i = 0; i < fl->count; i++)
    *fl->at[i] ^= fl->mask[i];
  for (int i = 0; i < fl->count; i++) {
    uint8_t net = 0;
    for (int k = 0; k < fl->count; k++)
      if (fl->at[k] == fl->at[i])
        net ^= fl->mask[k];
    if (net)
      return true;
  }
  return false;
}

static void undo(struct flips *fl)
{
  for (int i = fl->count - 1; i >= 0; i--)
    *fl->at[i] ^= fl->mask[i];
}

static void expect_finding(bool ok, const struct heapguard_finding *f, const char *op,
                           const char *target)
{
  char what[96];
  snprintf(what, sizeof what, "%s after a flip %s", op,
           ok ? "succeeded" : "returned a finding of the wrong class");
  if (ok || !is_corruption_class(f->bug_class))
    die(what, target, f);
}

static void check_all_finds(const char *target)
{
  struct heapguard_finding f = { 0 };
  bool ok = hg_heap_check_all(&f);
  expect_finding(ok, &f, "hg_heap_check_all", target);
}

static void check_all_clean(const char *when)
{
  struct heapguard_finding f = { 0 };
  if (!hg_heap_check_all(&f))
    die("heap check failed", when, &f);
}

/*
 * Data written up to the trailing canary, as a program leaves it; of a
 * large block only the last page, or every input that makes one would
 * write a MiB.
 */
static void write_data(uint8_t *p, size_t len)
{
  size_t n = len < HG_PAGE_SIZE ? len : HG_PAGE_SIZE;
  memset(p + len - n, 0x3c, n);
}

static void free_or_die(void *p, const char *when)
{
  struct heapguard_finding f = { 0 };
  if (!hg_heap_free(p, HG_KIND_MALLOC, 0, 0, &f))
    die("free failed", when, &f);
}

/* Bytes overwritten with a copy, and what they held. */
struct patch {
  uint8_t *at;
  size_t len;
  uint8_t saved[HG_TAIL_CHECKED];
};

/* Write len bytes of from at at; false when that changed nothing. */
static bool patch_apply(struct patch *pt, uint8_t *at, const uint8_t *from, size_t len)
{
  pt->at = at;
  pt->len = len;
  memcpy(pt->saved, at, len);
  memmove(at, from, len);
  return memcmp(pt->saved, at, len) != 0;
}

static void patch_undo(const struct patch *pt)
{
  memcpy(pt->at, pt->saved, pt->len);
}

/*
 * The copied target: what an attacker who reads the heap does with it.
 * Sound metadata is read from one place and written to another, verbatim
 * or re-derived with the tricks of the first header format (bugs/forge.h:
 * the affine CRC difference for tags, one canary pattern for every block,
 * the XOR mask for links):
 *
 *   0 a used block's header (all of it, its prev link, its tagged half)
 *     onto the subject's header, or re-derived there with the subject's
 *     own fields                                          -> free(subject)
 *   1 the same onto the header of the block after it      -> free(subject)
 *   2 another block's trailing canary over the subject's  -> free(subject)
 *   3 the subject freed: one of its links copied over the other, or
 *     forged from it to name a used block's header        -> free of a neighbour
 *
 * Returns the block whose free must fail, or NULL when the copy changed
 * nothing (the same bytes were there) or the layout does not allow it.
 * On return with a block, *pt says what to put back.
 */
static void *copy_metadata(struct input *in, uint8_t **p, const size_t *len, int n, int k,
                           struct patch *pt, bool *freed_k)
{
  uint8_t how = next_byte(in);
  int pick = next_byte(in) % (n - 1);
  int source = pick < k ? pick : pick + 1; /* a used block other than k */
  struct hg_block *b = hg_block_of(p[k]);
  struct hg_block *from = hg_block_of(p[source]);
  uint8_t bytes[HG_TAIL_CHECKED];
  switch (how % 4) {
  case 0:
  case 1: {
    struct hg_block *to = how % 4 == 0 ? b : hg_block_of(p[2]);
    if (to == from)
      return NULL;
    memcpy(bytes, from, HG_HEADER_SIZE);
    unsigned part = (how >> 5) % 4;
    if (part == 3) {
      struct forge_fields fl = { to->prev_size, to->size, to->tail, FORGE_USED };
      forge_v2(bytes, (const uint8_t *)from, (uintptr_t)from, (uintptr_t)to, &fl);
    }
    /* All 32 bytes, the prev link (0-7), or the tagged half (8-31). */
    size_t start = part == 2 ? 8 : 0, n = part == 1 ? 8 : HG_HEADER_SIZE - start;
    return patch_apply(pt, (uint8_t *)to + start, bytes + start, n) ? p[k] : NULL;
  }
  case 2: {
    size_t n = b->tail < from->tail ? b->tail : from->tail;
    n = n < HG_TAIL_CHECKED ? n : HG_TAIL_CHECKED;
    return patch_apply(pt, p[k] + len[k], p[source] + len[source], n) ? p[k] : NULL;
  }
  default: {
    free_or_die(p[k], "making the free block");
    *freed_k = true;
    if (b->state != HG_STATE_FREE || b->size >= HG_EXACT_BINS)
      return NULL;
    uintptr_t *links = hg_block_data(b);
    int to = (how >> 2) & 1;
    uintptr_t value = links[!to];
    if ((how >> 3) & 1) {
      /* The XOR mask from the other link, whose target the attacker knows. */
      void *target = hg_link_demangle(&hg_key, &links[!to], links[!to]);
      value = forge_link(&links[to], from, links[!to], &links[!to], target);
    }
    void *victim = p[(how >> 4) & 1 ? 0 : 2];
    return patch_apply(pt, (uint8_t *)&links[to], (const uint8_t *)&value, sizeof value)
               ? victim
               : NULL;
  }
  }
}

/*
 * An allocation that finds a damaged free list keeps the whole bin out of
 * use for good (arena.c take_free_block): its blocks stay free but in no
 * list, so they never merge again and a used neighbour of one can never be
 * freed. The links target takes that path only for a free block alone in
 * its bin, so that exactly it and its two neighbours are lost, and only
 * LOST_ROWS_MAX times a run, since every lost block stays in the heap that
 * each check walks. Otherwise a free of a neighbour must find the damaged
 * links, as it checks them before merging.
 */
#define LOST_ROWS_MAX 4
static int lost_rows;

static bool alone_in_bin(const struct hg_block *b)
{
  const uintptr_t *links = hg_block_data(b);
  return !hg_link_demangle(&hg_key, &links[0], links[0]) &&
         !hg_link_demangle(&hg_key, &links[1], links[1]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  if (!hg_ensure_init())
    abort();
  /* Freed blocks must become free blocks at once (free header, links in a
   * bin), not wait in the quarantine: that is what targets 3 and 4 flip. */
  hg_options.quarantine_bytes = 0;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct input in = { data, size };
  uint8_t target = next_byte(&in) % 7;
  bool large = next_byte(&in) % 8 == 0 && target != 2 && target != 3 && target != 4 &&
               target != 6;
  int n = 3 + next_byte(&in) % (MAX_BLOCKS - 2);
  uint8_t *p[MAX_BLOCKS] = { 0 };
  size_t len[MAX_BLOCKS];
  for (int i = 0; i < n; i++) {
    uint32_t v = next_byte(&in) | (uint32_t)next_byte(&in) << 8;
    /*
     * Blocks of 1 byte to 1 KiB (exact bins; 0 bytes would be a headerless
     * zero-size slot) or a large one in the middle.
     */
    len[i] = (large && i == 1) ? ((size_t)1 << 20) + v : 1 + v % 979;
    struct heapguard_finding f = { 0 };
    p[i] = heap_alloc(len[i], HG_GRANULE, HG_KIND_MALLOC, &f);
    if (!p[i])
      die("allocation failed", "setup", &f);
    write_data(p[i], len[i]);
  }
  int k = 1; /* the block in the middle is the subject */
  struct hg_block *b = hg_block_of(p[k]);
  struct hg_segment *seg = hg_segment_lookup((uintptr_t)p[k]);
  if (!seg)
    die("block not in the registry", "setup", NULL);
  bool row = !large && hg_block_next(hg_block_of(p[0])) == b &&
             hg_block_next(b) == hg_block_of(p[2]);
  static const char *const names[] = { "used header", "trailing canary", "next header",
                                       "free header", "free links", "segment",
                                       "copied metadata" };
  const char *name = names[target];
  struct flips fl;
  bool freed_k = false;
  bool alone = false; /* k is free and the only block in its bin */
  bool lost_neighbours = false;

  switch (target) {
  case 0: /* used header -> free(block) */
    choose_flips(&fl, &in, (uint8_t *)b, HG_HEADER_SIZE);
    break;
  case 1: { /* the checked tail bytes */
    size_t checked = b->tail < HG_TAIL_CHECKED ? b->tail : HG_TAIL_CHECKED;
    choose_flips(&fl, &in, p[k] + len[k], checked);
    break;
  }
  case 2: /* header of the used block after k -> free(k) */
    if (!row)
      goto out;
    choose_flips(&fl, &in, (uint8_t *)hg_block_of(p[2]), HG_HEADER_SIZE);
    break;
  case 3: /* header of a free block -> free of its neighbour */
  case 4: { /* links of a free block -> free of its neighbour, or allocation */
    if (!row)
      goto out;
    free_or_die(p[k], "making the free block");
    freed_k = true;
    /* Blocks 0 and 2 are used, so k stayed as it was, unmerged, at the head
     * of its exact bin. */
    if (b->state != HG_STATE_FREE || b->size >= HG_EXACT_BINS)
      goto out;
    alone = alone_in_bin(b);
    if (target == 3)
      choose_flips(&fl, &in, (uint8_t *)b, HG_HEADER_SIZE);
    else
      choose_flips(&fl, &in, (uint8_t *)hg_block_data(b), 2 * sizeof(uintptr_t));
    break;
  }
  case 6: { /* metadata copied from elsewhere -> the operation that reads it */
    if (!row)
      goto out;
    struct patch pt;
    void *victim = copy_metadata(&in, p, len, n, k, &pt, &freed_k);
    if (!victim)
      goto out;
    struct heapguard_finding f = { 0 };
    bool ok = hg_heap_free(victim, HG_KIND_MALLOC, 0, 0, &f);
    if (ok) {
      patch_undo(&pt);
      die("free after copying metadata succeeded", name, &f);
    }
    expect_finding(ok, &f, "free", name);
    check_all_finds(name);
    patch_undo(&pt);
    check_all_clean("after putting back the copied bytes");
    goto out;
  }
  default: /* segment metadata -> the heap check */
    if (mprotect(seg, HG_SEGMENT_META_SIZE, PROT_READ | PROT_WRITE) != 0)
      die("mprotect of the segment metadata failed", name, NULL);
    choose_flips(&fl, &in, (uint8_t *)seg, sizeof *seg);
    break;
  }

  if (!apply(&fl)) {
    undo(&fl);
    goto out;
  }
  struct heapguard_finding f = { 0 };
  uint8_t how = next_byte(&in);
  if (target == 4 && (how & 2) && alone && lost_rows < LOST_ROWS_MAX) {
    /* The largest request that fits exactly in the free block's size. */
    size_t request = hg_block_bytes(b) - HG_HEADER_SIZE - 1;
    void *q = heap_alloc(request, HG_GRANULE, HG_KIND_MALLOC, &f);
    if (q) {
      undo(&fl);
      die("allocation after a flipped free-list link succeeded", name, &f);
    }
    expect_finding(false, &f, "malloc", name);
    lost_rows++;
    lost_neighbours = true;
  } else if (target == 5) {
    /* Metadata is read-only: only checks of whole segments verify it again. */
    check_all_finds(name);
  } else {
    /* A free block's neighbour, for the free header and the links. */
    void *victim = target == 3 || target == 4 ? p[(how & 1) ? 0 : 2] : p[k];
    bool ok = hg_heap_free(victim, HG_KIND_MALLOC, 0, 0, &f);
    if (ok) {
      /* It got freed anyway: put back what we can so the report is clear. */
      undo(&fl);
      die("free after a flip succeeded", name, &f);
    }
    expect_finding(ok, &f, "free", name);
    check_all_finds(name);
  }
  undo(&fl);
  check_all_clean("after flipping the bits back");

out:
  if (target == 5 && mprotect(seg, HG_SEGMENT_META_SIZE, PROT_READ) != 0)
    die("mprotect of the segment metadata failed", name, NULL);
  for (int i = 0; i < n; i++)
    if (!(freed_k && i == k) && !(lost_neighbours && (i == k - 1 || i == k + 1)))
      free_or_die(p[i], "cleanup");
  check_all_clean("after cleanup");
  return 0;
}
