/*
 * inspect_walk.c - verdicts on the damaged segment of a dump.
 *
 * Owns the walk over [first_block, end) of the dumped segment image, the
 * resynchronisation after a damaged header, the trailing-canary, poison
 * and free-link checks, and the list of damaged spots the outputs hexdump.
 *
 * Every check keyed on an address runs on a copy of the bytes and with
 * the ORIGINAL address (image address + offset): tags, canaries, tail
 * bytes and link masks are all keyed on where the bytes lived, not where
 * they are now. The walk always moves forward by at least one granule, so
 * it ends.
 */
#include "inspect.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "heapguard.h"

/*
 * User-space addresses on x86-64 (4-level paging) and aarch64 (48-bit VA)
 * lie below 2^48; Linux hands out higher ones only to mmap callers that
 * ask, which heapguard does not. A demangled link above this was not
 * written by the allocator.
 */
#define USER_ADDRESS_LIMIT ((uint64_t)1 << 48)

/* ---- naming shared by the outputs ---- */

const char *hgi_check_name(uint32_t check)
{
  const struct hg_check_info *info = hg_check_info(check);
  return info ? info->name : check == HG_CHECK_NONE ? "none" : "unknown";
}

const char *hgi_link_status_name(enum hgi_link_status s)
{
  switch (s) {
  case HGI_LINK_NULL: return "null";
  case HGI_LINK_OK: return "free block";
  case HGI_LINK_OUTSIDE: return "outside dump";
  case HGI_LINK_NEIGHBOUR: return "in a neighbour segment, outside dump";
  case HGI_LINK_DAMAGED: return "a block whose header is damaged";
  case HGI_LINK_MISALIGNED: return "misaligned";
  case HGI_LINK_NONCANONICAL: return "not a user-space address";
  case HGI_LINK_NOT_FREE: return "a block that is not free";
  case HGI_LINK_NOT_HEADER: return "not a block header";
  }
  return "?";
}

bool hgi_link_is_bad(enum hgi_link_status s)
{
  return s >= HGI_LINK_MISALIGNED;
}

const char *hgi_resync_name(enum hgi_resync r)
{
  switch (r) {
  case HGI_RESYNC_NONE: return "none";
  case HGI_RESYNC_PREV_SIZE: return "next header's prev_size";
  case HGI_RESYNC_SCAN: return "scan";
  case HGI_RESYNC_LOST: return "lost";
  }
  return "?";
}

void hgi_append(char *buf, size_t n, size_t *at, const char *fmt, ...)
{
  if (*at >= n)
    return;
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(buf + *at, n - *at, fmt, ap);
  va_end(ap);
  if (w > 0)
    *at += (size_t)w;
}

void hgi_block_status(const struct hgi_block *b, char *buf, size_t n)
{
  size_t at = 0;
  const char *sep = "";
  buf[0] = 0;
  if (b->problems & HGI_P_BAD_CANARY)
    hgi_append(buf, n, &at, "%sbad canary", sep), sep = "; ";
  if (b->problems & HGI_P_BAD_TAG)
    hgi_append(buf, n, &at, "%sbad tag", sep), sep = "; ";
  if (b->problems & HGI_P_BAD_STATE)
    hgi_append(buf, n, &at, "%sbad state", sep), sep = "; ";
  if (b->problems & HGI_P_BAD_SIZE)
    hgi_append(buf, n, &at, "%sbad size", sep), sep = "; ";
  if (b->problems & HGI_P_PAST_END)
    hgi_append(buf, n, &at, "%sbad size: runs past segment end", sep), sep = "; ";
  if (b->problems & HGI_P_PREV_MISMATCH)
    hgi_append(buf, n, &at, "%sprev_size mismatch (found %u, expected %u)", sep,
               b->hdr.prev_size, b->expected_prev),
        sep = "; ";
  if (b->problems & HGI_P_TAIL)
    hgi_append(buf, n, &at, "%strailing canary damaged at +%zu bytes", sep,
               b->damage.first),
        sep = "; ";
  if (b->problems & HGI_P_POISON)
    hgi_append(buf, n, &at, "%spoison damaged at +%zu bytes", sep, b->damage.first),
        sep = "; ";
  if (b->problems & HGI_P_BAD_LINK)
    hgi_append(buf, n, &at, "%sbad free-list link", sep), sep = "; ";
  if (!b->problems)
    hgi_append(buf, n, &at, "OK");
}

/* ---- storage ---- */

static bool grow(void **p, size_t *cap, size_t count, size_t elem)
{
  if (count < *cap)
    return true;
  size_t ncap = *cap ? *cap * 2 : 64;
  void *q = realloc(*p, ncap * elem);
  if (!q)
    return false;
  *p = q;
  *cap = ncap;
  return true;
}

static struct hgi_block *push_block(struct hgi_analysis *a)
{
  if (a->block_count >= HGI_MAX_BLOCKS)
    return NULL;
  if (!grow((void **)&a->blocks, &a->block_cap, a->block_count,
            sizeof *a->blocks))
    return NULL;
  struct hgi_block *b = &a->blocks[a->block_count++];
  memset(b, 0, sizeof *b);
  return b;
}

struct hgi_mark *hgi_push_mark(struct hgi_analysis *a, enum hgi_mark_owner owner,
                               size_t index, size_t offset, size_t length,
                               const char *what)
{
  if (a->mark_count >= HGI_MAX_MARKS) {
    a->marks_dropped++;
    return NULL;
  }
  if (!grow((void **)&a->marks, &a->mark_cap, a->mark_count, sizeof *a->marks))
    return NULL;
  struct hgi_mark *m = &a->marks[a->mark_count++];
  memset(m, 0, sizeof *m);
  m->offset = offset;
  m->length = length < HGI_MARK_MAX ? length : HGI_MARK_MAX;
  m->owner = owner;
  m->index = index;
  m->what = what;
  return m;
}

static void mark_expect_u64(struct hgi_mark *m, size_t at, uint64_t v,
                            size_t bytes)
{
  for (size_t i = 0; i < bytes && at + i < m->length; i++) {
    m->expected[at + i] = (uint8_t)(v >> (8 * i));
    m->known[at + i] = true;
  }
}

void hgi_free(struct hgi_analysis *a)
{
  free(a->blocks);
  free(a->guard.slots);
  free(a->marks);
  free(a->windows);
  memset(a, 0, sizeof *a);
}

/* ---- reading the image ---- */

static uint64_t load_u64(const uint8_t *p)
{
  uint64_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* A header at off, verified at its original address; false if no room. */
static bool header_at(const struct hgi_analysis *a, const struct hgi_image *img,
                      size_t off, struct hg_block *h,
                      enum hg_header_fault *fault)
{
  if (off > a->end || a->end - off < sizeof *h)
    return false;
  memcpy(h, img->bytes + off, sizeof *h);
  *fault = hg_block_verify_at(&a->key, h, (uintptr_t)(img->address + off), NULL);
  return true;
}

static unsigned problem_of_fault(enum hg_header_fault f)
{
  switch (f) {
  case HG_HEADER_OK: return 0;
  case HG_HEADER_BAD_CANARY: return HGI_P_BAD_CANARY;
  case HG_HEADER_BAD_TAG: return HGI_P_BAD_TAG;
  case HG_HEADER_BAD_STATE: return HGI_P_BAD_STATE;
  case HG_HEADER_BAD_SIZE: return HGI_P_BAD_SIZE;
  }
  return HGI_P_BAD_TAG;
}

/* ---- segment bounds ---- */

static bool first_block_is_usable(const struct hg_segment *m, size_t length)
{
  return m->first_block >= HG_SEGMENT_META_SIZE &&
         m->first_block % HG_GRANULE == 0 && m->first_block < length;
}

static bool end_is_usable(const struct hg_segment *m, size_t first,
                          size_t length)
{
  return m->end % HG_GRANULE == 0 && m->end > first && m->end <= length;
}

/*
 * Verified metadata is believed, and only clipped to what was dumped.
 * Unverified metadata is used where it is at least plausible, because a
 * flipped checksum bit should not hide the blocks; otherwise assume the
 * library's layout: blocks right after the metadata, up to the dump's end.
 */
static void choose_bounds(struct hgi_analysis *a, const struct hgi_image *img)
{
  const struct hg_segment *m = &img->meta;
  if (a->meta_fault == HG_SEGMENT_OK) {
    a->first = m->first_block;
    a->end = m->end;
    if (a->end > img->length) {
      a->end = img->length;
      a->dump_short = true;
    }
    if (a->first > a->end)
      a->first = a->end;
    return;
  }
  a->first = m->first_block;
  if (!first_block_is_usable(m, img->length)) {
    a->first = HG_SEGMENT_META_SIZE < img->length ? HG_SEGMENT_META_SIZE
                                                  : img->length;
    a->first_assumed = true;
  }
  a->end = m->end;
  if (!end_is_usable(m, a->first, img->length)) {
    a->end = img->length;
    a->end_assumed = true;
  }
}

/* ---- per-block checks ---- */

/*
 * The trailing canary, checked by block.c's hg_tail_verify with the
 * pattern of the block's own tag computation. Only damage costs more: the
 * expected bytes for the hexdump, and the count of bad ones.
 */
static void check_tail(struct hgi_analysis *a, const struct hgi_image *img,
                       size_t index)
{
  struct hgi_block *b = &a->blocks[index];
  size_t n = b->hdr.tail < HG_TAIL_CHECKED ? b->hdr.tail : HG_TAIL_CHECKED;
  /* The verified header bounds tail by the capacity, and the walk bounds
   * the block by the image, so start + n stays inside both. */
  size_t start = b->offset + HG_HEADER_SIZE + hg_block_requested(&b->hdr);
  uint64_t pattern = hg_tail_pattern(hg_block_mac(&a->key, &b->hdr, b->address).hi);
  if (hg_tail_verify(img->bytes + start, n, pattern, &b->damage))
    return;
  b->problems |= HGI_P_TAIL;
  struct hgi_mark *m = hgi_push_mark(a, HGI_MARK_BLOCK, index, start, n, "trailing canary");
  for (size_t i = 0; i < n; i++) {
    uint8_t want = hg_tail_byte(pattern, i);
    b->damage_bytes += img->bytes[start + i] != want;
    if (m) {
      m->expected[i] = want;
      m->known[i] = true;
    }
  }
}

/* Marks the damaged poison at data + [from, to], at most HGI_MARK_MAX bytes. */
static void mark_poison(struct hgi_analysis *a, size_t index, size_t data,
                        size_t from, size_t to)
{
  struct hgi_mark *m =
      hgi_push_mark(a, HGI_MARK_BLOCK, index, data + from, to - from + 1, "poison");
  for (size_t i = 0; m && i < m->length; i++) {
    m->expected[i] = hg_poison_byte(from + i);
    m->known[i] = true;
  }
}

/*
 * A quarantined block's data is poison until the block is reused
 * (block.h): any other byte was written after free. Checked by block.c's
 * hg_poison_verify over the whole capacity, as the library checks it.
 */
/* The first n bytes of the block's data are poison (n bounded by the image). */
static void check_poison(struct hgi_analysis *a, const struct hgi_image *img,
                         size_t index, size_t n)
{
  struct hgi_block *b = &a->blocks[index];
  size_t data = b->offset + HG_HEADER_SIZE;
  const uint8_t *p = img->bytes + data;
  if (hg_poison_verify(p, n, &b->damage))
    return;
  b->problems |= HGI_P_POISON;
  for (size_t i = b->damage.first; i <= b->damage.last; i++)
    b->damage_bytes += p[i] != hg_poison_byte(i);
  size_t first = b->damage.first, last = b->damage.last;
  if (last - first < HGI_MARK_MAX) {
    mark_poison(a, index, data, first, last);
    return;
  }
  /* Far apart: both ends, so that both are hexdumped. */
  mark_poison(a, index, data, first, first + HGI_MARK_MAX - 1);
  mark_poison(a, index, data, last + 1 - HGI_MARK_MAX, last);
}

/*
 * A cached dedicated segment's freed data (large.c): the whole pages are
 * inaccessible, so not dumped; the bytes before the first are poison.
 */
static void check_freed_head(struct hgi_analysis *a, const struct hgi_image *img,
                             size_t index)
{
  const struct hgi_block *b = &a->blocks[index];
  uint64_t data = b->address + HG_HEADER_SIZE;
  uint64_t page = (data + HG_PAGE_SIZE - 1) & ~(uint64_t)(HG_PAGE_SIZE - 1);
  size_t in_image = a->end - b->offset - HG_HEADER_SIZE; /* the walk saw the header */
  size_t head = (size_t)(page - data);
  if (head > in_image)
    head = in_image;
  if (head)
    check_poison(a, img, index, head);
}

static size_t block_index_at(const struct hgi_analysis *a, size_t off,
                             bool *exact)
{
  size_t lo = 0, hi = a->block_count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (a->blocks[mid].offset <= off)
      lo = mid + 1;
    else
      hi = mid;
  }
  /* lo is the first block past off; the one before contains it. */
  *exact = lo > 0 && a->blocks[lo - 1].offset == off;
  return lo > 0 ? lo - 1 : SIZE_MAX;
}

static bool in_mapping(uint64_t target, const struct hgi_image *img)
{
  /* The mapping opens with a guard page below the metadata. */
  if (img->address < HG_PAGE_SIZE)
    return false;
  uint64_t lo = img->address - HG_PAGE_SIZE;
  return target >= lo && target - lo < img->meta.map_size;
}

static enum hgi_link_status classify_link(const struct hgi_analysis *a,
                                          const struct hgi_dump *d,
                                          uint64_t target)
{
  const struct hgi_image *img = &d->damaged;
  if (target == 0)
    return HGI_LINK_NULL;
  if (target >= USER_ADDRESS_LIMIT)
    return HGI_LINK_NONCANONICAL;
  if (target % HG_GRANULE)
    return HGI_LINK_MISALIGNED;
  if (target >= img->address && target - img->address < img->length) {
    bool exact;
    size_t i = block_index_at(a, (size_t)(target - img->address), &exact);
    if (!exact)
      return HGI_LINK_NOT_HEADER;
    const struct hgi_block *t = &a->blocks[i];
    /* Pointing at a damaged header is the target's problem, unless the
     * reconstruction proves the target was in use. */
    if (t->fault != HG_HEADER_OK)
      return t->reconstructed && t->original.state != HG_STATE_FREE
                 ? HGI_LINK_NOT_FREE
                 : HGI_LINK_DAMAGED;
    return t->hdr.state == HG_STATE_FREE ? HGI_LINK_OK : HGI_LINK_NOT_FREE;
  }
  if (a->meta_fault == HG_SEGMENT_OK && in_mapping(target, img))
    return HGI_LINK_NOT_HEADER; /* a guard page, or past the block area */
  for (unsigned i = 0; i < d->neighbour_count; i++)
    if (a->neighbour_fault[i] == HG_SEGMENT_OK &&
        in_mapping(target, &d->neighbours[i]))
      return HGI_LINK_NEIGHBOUR;
  return HGI_LINK_OUTSIDE;
}

/*
 * A dedicated segment's one block is never on a free list: freed, its
 * segment is cached whole (large.c), its data as the program left it.
 */
static bool has_free_lists(const struct hg_segment *m)
{
  return m->kind != HG_SEGMENT_LARGE;
}

/*
 * A guard segment keeps its metadata out of band, in a slot table, and
 * has no block headers: there is nothing to walk (inspect_guard.c).
 */
static bool is_guard_segment(const struct hg_segment *m)
{
  return m->kind == HG_SEGMENT_GUARD;
}

/*
 * A zero segment's blocks are PROT_NONE slots of no bytes, described only
 * by a table after the metadata (zero.h): there is nothing to walk.
 */
static bool is_zero_segment(const struct hg_segment *m)
{
  return m->kind == HG_SEGMENT_ZERO;
}

/* Run after the walk: a link may point forward to a block not yet seen. */
static void check_links(struct hgi_analysis *a, const struct hgi_dump *d)
{
  const struct hgi_image *img = &d->damaged;
  size_t count = a->block_count;
  for (size_t i = 0; i < count; i++) {
    struct hgi_block *b = &a->blocks[i];
    if (b->fault != HG_HEADER_OK || b->hdr.state != HG_STATE_FREE ||
        (b->problems & HGI_P_PAST_END))
      continue;
    b->links_checked = true;
    for (int k = 0; k < 2; k++) {
      size_t slot = b->offset + HG_HEADER_SIZE + 8 * (size_t)k;
      uint64_t stored = load_u64(img->bytes + slot);
      b->link[k] = (uint64_t)(uintptr_t)hg_link_demangle(
          &a->key, (const void *)(uintptr_t)(img->address + slot), stored);
      b->link_status[k] = classify_link(a, d, b->link[k]);
      if (!hgi_link_is_bad(b->link_status[k]))
        continue;
      b->problems |= HGI_P_BAD_LINK;
      hgi_push_mark(a, HGI_MARK_BLOCK, i, slot, 8,
                    k == 0 ? "free-list link 0" : "free-list link 1");
    }
  }
}

/*
 * What the damaged header must have held: the walk may know prev_size
 * (from the block before), and with it the prev_tag, a function of the
 * address and prev_size; and size (from the resync). If the tag then
 * verifies over the found fields, the rest of the header is proven intact
 * and the whole original is known.
 */
static void reconstruct(struct hgi_analysis *a, const struct hgi_image *img,
                        struct hgi_block *b, bool prev_known)
{
  uintptr_t addr = (uintptr_t)b->address;
  b->original = b->hdr;
  if (prev_known)
    b->original.prev_size = b->expected_prev;
  b->original.prev_tag = hg_block_expected_prev_tag(&a->key, b->original.prev_size, addr);
  if (b->resync == HGI_RESYNC_PREV_SIZE)
    b->original.size = (uint32_t)(b->extent >> HG_GRANULE_SHIFT);
  b->reconstructed = hg_block_verify_at(&a->key, &b->original, addr, NULL) == HG_HEADER_OK;
  (void)img;
}

static void mark_header(struct hgi_analysis *a, size_t index, bool prev_known)
{
  struct hgi_block *b = &a->blocks[index];
  struct hgi_mark *m =
      hgi_push_mark(a, HGI_MARK_BLOCK, index, b->offset, HG_HEADER_SIZE, "block header");
  if (!m)
    return;
  if (b->reconstructed) {
    uint8_t raw[HG_HEADER_SIZE];
    memcpy(raw, &b->original, sizeof raw);
    for (size_t i = 0; i < sizeof raw; i++) {
      m->expected[i] = raw[i];
      m->known[i] = true;
    }
    return;
  }
  if (prev_known) {
    mark_expect_u64(m, 0, b->expected_prev, 4);
    mark_expect_u64(m, 4, b->original.prev_tag, 4);
  }
  if (b->resync == HGI_RESYNC_PREV_SIZE)
    mark_expect_u64(m, 8, b->original.size, 4);
  /* With the prev link intact the tag over the found fields is exact. */
  if (b->fault == HG_HEADER_BAD_TAG)
    mark_expect_u64(m, 16, hg_block_expected_tag(&a->key, &b->hdr, (uintptr_t)b->address),
                    4);
}

/* ---- the walk ---- */

static size_t scan_for_header(const struct hgi_analysis *a,
                              const struct hgi_image *img, size_t from,
                              struct hg_block *h)
{
  for (size_t off = from; off < a->end && a->end - off >= HG_HEADER_SIZE;
       off += HG_GRANULE) {
    enum hg_header_fault f;
    if (header_at(a, img, off, h, &f) && f == HG_HEADER_OK)
      return off;
  }
  return SIZE_MAX;
}

/*
 * The header at b->offset failed. Find the next header that verifies at its
 * own address (a copied or forged header does not: the canary is keyed on
 * the address) and let its prev_size say where its predecessor began. When
 * that is b itself, the resync is exact. When it lands between b and the
 * found header, a second damaged header sits there: record it too.
 * Returns the offset to continue at, or SIZE_MAX when nothing verifies.
 */
static size_t resync(struct hgi_analysis *a, const struct hgi_image *img,
                     size_t index, bool prev_known, bool *next_prev_known)
{
  size_t off = a->blocks[index].offset;
  struct hg_block next;
  size_t nx = scan_for_header(a, img, off + HG_GRANULE, &next);
  struct hgi_block *b = &a->blocks[index];

  *next_prev_known = false;
  if (nx == SIZE_MAX) {
    b->resync = HGI_RESYNC_LOST;
    b->extent = a->end - off;
    a->lost = true;
    reconstruct(a, img, b, prev_known);
    mark_header(a, index, prev_known);
    return SIZE_MAX;
  }
  size_t back = (size_t)next.prev_size << HG_GRANULE_SHIFT;
  size_t pred = back <= nx ? nx - back : SIZE_MAX;
  b->extent = nx - off;
  b->size_field_agrees = hg_block_bytes(&b->hdr) == b->extent;
  if (pred == off) {
    b->resync = HGI_RESYNC_PREV_SIZE;
    *next_prev_known = true;
    reconstruct(a, img, b, prev_known);
    mark_header(a, index, prev_known);
    return nx;
  }
  b->resync = HGI_RESYNC_SCAN;
  if (pred == SIZE_MAX || pred <= off ||
      pred - off < HG_MIN_BLOCK_GRANULES * HG_GRANULE) {
    reconstruct(a, img, b, prev_known);
    mark_header(a, index, prev_known);
    return nx;
  }
  /* A second damaged header at pred, located by the next one's prev_size. */
  b->extent = pred - off;
  b->size_field_agrees = hg_block_bytes(&b->hdr) == b->extent;
  reconstruct(a, img, b, prev_known);
  mark_header(a, index, prev_known);

  struct hgi_block *c = push_block(a);
  if (!c) {
    a->too_many = true; /* or out of memory: either way, stop here */
    return SIZE_MAX;
  }
  b = &a->blocks[index]; /* push may have moved the array */
  c->offset = pred;
  c->address = img->address + pred;
  memcpy(&c->hdr, img->bytes + pred, sizeof c->hdr);
  c->fault = hg_block_verify_at(&a->key, &c->hdr, (uintptr_t)c->address, NULL);
  if (c->fault == HG_HEADER_OK)
    c->fault = HG_HEADER_BAD_TAG; /* the scan passed over it */
  c->problems = problem_of_fault(c->fault);
  c->extent = nx - pred;
  c->resync = HGI_RESYNC_PREV_SIZE;
  c->size_field_agrees = hg_block_bytes(&c->hdr) == c->extent;
  c->expected_prev = (uint32_t)(b->extent >> HG_GRANULE_SHIFT);
  reconstruct(a, img, c, b->size_field_agrees);
  mark_header(a, a->block_count - 1, b->size_field_agrees);
  *next_prev_known = true;
  return nx;
}

static bool walk(struct hgi_analysis *a, const struct hgi_image *img)
{
  size_t off = a->first;
  uint32_t expect_prev = 0;
  bool prev_known = true;

  while (off < a->end) {
    if (a->end - off < HG_HEADER_SIZE) {
      a->leftover = a->end - off;
      break;
    }
    struct hgi_block *b = push_block(a);
    if (!b && a->block_count >= HGI_MAX_BLOCKS) {
      a->too_many = true;
      break;
    }
    if (!b)
      return false;
    size_t index = a->block_count - 1;
    b->offset = off;
    b->address = img->address + off;
    b->expected_prev = expect_prev;
    header_at(a, img, off, &b->hdr, &b->fault);
    b->problems = problem_of_fault(b->fault);

    if (b->fault != HG_HEADER_OK) {
      bool next_known;
      if (!prev_known)
        b->expected_prev = 0;
      size_t nx = resync(a, img, index, prev_known, &next_known);
      if (nx == SIZE_MAX)
        break;
      b = &a->blocks[a->block_count - 1];
      expect_prev = (uint32_t)(b->extent >> HG_GRANULE_SHIFT);
      prev_known = next_known;
      off = nx;
      continue;
    }

    size_t bytes = hg_block_bytes(&b->hdr);
    if (prev_known && b->hdr.prev_size != expect_prev) {
      b->problems |= HGI_P_PREV_MISMATCH;
      struct hgi_mark *m = hgi_push_mark(a, HGI_MARK_BLOCK, index, off + 12, 4, "prev_size");
      if (m)
        mark_expect_u64(m, 0, expect_prev, 4);
    }
    b = &a->blocks[index];
    if (bytes > a->end - off && a->dump_short && bytes <= img->meta.end - off) {
      /* The writer stopped at an inaccessible page: the rest was not dumped. */
      b->extent = bytes;
      a->cut = true;
      if (b->hdr.state == HG_STATE_FREE && img->meta.kind == HG_SEGMENT_LARGE)
        check_freed_head(a, img, index);
      break;
    }
    if (bytes > a->end - off) {
      /* Verified, yet leaves the segment: nothing after it can be trusted. */
      b->problems |= HGI_P_PAST_END;
      b->extent = a->end - off;
      a->overrun = true;
      hgi_push_mark(a, HGI_MARK_BLOCK, index, off + 8, 4, "block size");
      break;
    }
    b->extent = bytes;
    if (b->hdr.state == HG_STATE_USED)
      check_tail(a, img, index);
    else if (b->hdr.state == HG_STATE_QUARANTINED)
      check_poison(a, img, index, hg_block_capacity(&b->hdr));
    expect_prev = b->hdr.size;
    prev_known = true;
    off += bytes;
  }
  return true;
}

/* ---- hexdump windows ---- */

static int mark_order(const void *x, const void *y)
{
  const struct hgi_mark *a = x, *b = y;
  return a->offset < b->offset ? -1 : a->offset > b->offset;
}

static bool build_windows(struct hgi_analysis *a, size_t length)
{
  if (a->mark_count == 0)
    return true;
  qsort(a->marks, a->mark_count, sizeof *a->marks, mark_order);
  a->windows = calloc(a->mark_count, sizeof *a->windows);
  if (!a->windows)
    return false;
  for (size_t i = 0; i < a->mark_count; i++) {
    const struct hgi_mark *m = &a->marks[i];
    size_t lo = m->offset > HGI_HEXDUMP_CONTEXT ? m->offset - HGI_HEXDUMP_CONTEXT
                                                : 0;
    size_t hi = m->offset + m->length + HGI_HEXDUMP_CONTEXT;
    if (hi > length)
      hi = length;
    lo &= ~(size_t)15; /* rows start on a 16-byte boundary */
    if (lo >= hi)
      continue;
    struct hgi_window *w = a->window_count ? &a->windows[a->window_count - 1]
                                           : NULL;
    if (w && lo <= w->offset + w->length) {
      if (hi > w->offset + w->length)
        w->length = hi - w->offset;
      continue;
    }
    a->windows[a->window_count++] = (struct hgi_window){lo, hi - lo};
  }
  return true;
}

/* ---- summary ---- */

static void locate_report_block(struct hgi_analysis *a, const struct hgi_dump *d)
{
  const struct hgi_image *img = &d->damaged;
  if (!d->has_report || d->report.block < img->address ||
      d->report.block - img->address >= img->length)
    return;
  bool exact;
  size_t i = block_index_at(a, (size_t)(d->report.block - img->address), &exact);
  if (i == SIZE_MAX)
    return;
  const struct hgi_block *b = &a->blocks[i];
  if (d->report.block - img->address - b->offset < b->extent) {
    a->report_block_found = true;
    a->report_block = i;
  }
}

static size_t bits(unsigned p)
{
  size_t n = 0;
  for (; p; p &= p - 1)
    n++;
  return n;
}

static void count_problems(struct hgi_analysis *a, const struct hgi_dump *d)
{
  for (size_t i = 0; i < a->block_count; i++) {
    unsigned p = a->blocks[i].problems;
    if (p)
      a->damaged_blocks++;
    a->problems += bits(p);
  }
  a->problems += bits(a->guard.problems);
  for (size_t i = 0; i < a->guard.slot_total; i++)
    a->problems += bits(a->guard.slots[i].problems);
  a->problems += a->meta_fault != HG_SEGMENT_OK;
  for (unsigned i = 0; i < d->neighbour_count; i++)
    a->problems += a->neighbour_fault[i] != HG_SEGMENT_OK;
  a->problems += a->leftover != 0;
  a->problems += a->lost;
  a->problems += a->too_many;
}

bool hgi_analyse(const struct hgi_dump *d, struct hgi_analysis *a)
{
  memset(a, 0, sizeof *a);
  hg_key_derive(&a->key, d->process.secret);
  a->meta_fault = hg_segment_verify_at(&a->key, &d->damaged.meta,
                                       (uintptr_t)d->damaged.address);
  for (unsigned i = 0; i < d->neighbour_count; i++)
    a->neighbour_fault[i] =
        hg_segment_verify_at(&a->key, &d->neighbours[i].meta,
                             (uintptr_t)d->neighbours[i].address);
  if (is_guard_segment(&d->damaged.meta)) {
    if (!hgi_guard_decode(d, a))
      return false;
    a->report_slot_found = d->has_report && hgi_guard_slot_of(d, a, d->report.address,
                                                               &a->report_slot);
  } else if (is_zero_segment(&d->damaged.meta)) {
    a->zero_segment = true;
  } else {
    choose_bounds(a, &d->damaged);
    if (!walk(a, &d->damaged))
      return false;
    if (has_free_lists(&d->damaged.meta))
      check_links(a, d);
    locate_report_block(a, d);
  }
  if (!build_windows(a, d->damaged.length))
    return false;
  count_problems(a, d);
  return true;
}

/* ---- entry point ---- */

int hgi_inspect(const uint8_t *buf, size_t len, const struct hgi_options *o,
                FILE *out, FILE *err)
{
  struct hgi_dump d;
  struct hgi_analysis a;
  char msg[512];
  const char *name = o->name ? o->name : "dump";

  if (!hgi_parse(buf, len, &d, msg, sizeof msg)) {
    fprintf(err, "heapguard-inspect: %s: %s\n", name, msg);
    return HGI_EXIT_ERROR;
  }
  hg_tag_init();
  if (!hgi_analyse(&d, &a)) {
    hgi_free(&a);
    fprintf(err, "heapguard-inspect: %s: out of memory\n", name);
    return HGI_EXIT_ERROR;
  }
  if (o->json)
    hgi_print_json(out, name, &d, &a);
  else
    hgi_print_text(out, name, &d, &a);
  if (o->html)
    hgi_print_html(o->html, name, &d, &a);
  int status = a.problems ? HGI_EXIT_DAMAGE : HGI_EXIT_CLEAN;
  hgi_free(&a);
  return status;
}
