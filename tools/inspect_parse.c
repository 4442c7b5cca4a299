/*
 * inspect_parse.c - the dump container: file header and sections.
 *
 * Owns the only code that turns file offsets into pointers. Every length
 * read from the file is compared with the bytes that remain before it is
 * added to anything, so no sum below can overflow and no read can leave
 * the buffer, whatever the file says. Structures are memcpy'd out, never
 * cast in place: the buffer has no alignment promise.
 */
#include "inspect.h"

#include <stdarg.h>
#include <string.h>

/* The smallest payloads this reader understands; longer ones are newer. */
#define PROCESS_MIN sizeof(struct hg_dump_process)
#define REPORT_MIN sizeof(struct hg_dump_report)
#define SEGMENT_MIN sizeof(struct hg_dump_segment)

static_assert(sizeof(struct hg_dump_file_header) == 24, "file header layout");
static_assert(sizeof(struct hg_dump_section) == 16, "section header layout");
static_assert(sizeof(struct hg_dump_process) == 80, "process layout");
static_assert(sizeof(struct hg_dump_report) == 48, "report layout");
static_assert(sizeof(struct hg_dump_segment) == 16, "segment layout");

struct cursor {
  const uint8_t *buf;
  size_t len;
  char *err;
  size_t errlen;
};

__attribute__((format(printf, 2, 3))) static bool fail(struct cursor *c,
                                                       const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->err, c->errlen, fmt, ap);
  va_end(ap);
  return false;
}

static size_t remaining(const struct cursor *c, size_t at)
{
  return at <= c->len ? c->len - at : 0;
}

static bool header_size_is_acceptable(struct cursor *c,
                                      const struct hg_dump_file_header *h)
{
  if (h->header_size < sizeof *h || h->header_size % 8 != 0)
    return fail(c, "bad file header size %u", h->header_size);
  if (h->header_size > c->len)
    return fail(c, "truncated: file header claims %u bytes, file has %zu",
                h->header_size, c->len);
  return true;
}

/*
 * The next section header at *at, its payload bounded by the file: the
 * only place a section length is trusted. Advances *at past the padding.
 */
static bool next_section(struct cursor *c, size_t *at, uint32_t i, uint32_t count,
                         struct hg_dump_section *sh, const uint8_t **payload)
{
  if (remaining(c, *at) < sizeof *sh)
    return fail(c,
                "truncated: section %u of %u starts at offset %zu, "
                "file ends at %zu",
                i, count, *at, c->len);
  memcpy(sh, c->buf + *at, sizeof *sh);
  size_t left = remaining(c, *at + sizeof *sh);
  if (sh->length > left)
    return fail(c,
                "truncated or corrupt: section %u (type %u) claims %llu "
                "bytes, %zu remain",
                i, sh->type, (unsigned long long)sh->length, left);
  size_t n = (size_t)sh->length;
  size_t pad = (8 - n % 8) % 8;
  if (pad > left - n)
    return fail(c, "truncated: section %u (type %u) lacks its padding", i,
                sh->type);
  *payload = c->buf + *at + sizeof *sh;
  *at += sizeof *sh + n + pad;
  return true;
}

/*
 * The heapguard version in a dump's process section, for naming the
 * writer of a dump this reader refuses. Versions 1 and 2 share the
 * container and the process section. Printable ASCII only: it goes into
 * an error message.
 */
static void writer_version(const struct cursor *c,
                           const struct hg_dump_file_header *h, char *out,
                           size_t outlen)
{
  char ignored[1]; /* the refusal is the message, not why the scan stopped */
  struct cursor quiet = {c->buf, c->len, ignored, sizeof ignored};
  size_t at = h->header_size;
  struct hg_dump_section sh;
  const uint8_t *p = NULL; /* set by next_section; GCC -O3 cannot see it */
  out[0] = 0;
  if (!header_size_is_acceptable(&quiet, h))
    return;
  for (uint32_t i = 0; i < h->section_count; i++) {
    if (!next_section(&quiet, &at, i, h->section_count, &sh, &p))
      break;
    if (sh.type != HG_DUMP_PROCESS || sh.length < PROCESS_MIN)
      continue;
    struct hg_dump_process pr;
    memcpy(&pr, p, sizeof pr);
    size_t n = strnlen(pr.version, sizeof pr.version);
    if (n >= outlen)
      n = outlen - 1;
    for (size_t k = 0; k < n; k++)
      out[k] = pr.version[k] > 0x20 && pr.version[k] < 0x7f ? pr.version[k] : '?';
    out[n] = 0;
    return;
  }
}

static bool version_is_acceptable(struct cursor *c,
                                  const struct hg_dump_file_header *h)
{
  if (h->version == HG_DUMP_VERSION)
    return true;
  /*
   * Version 1 is what heapguard 0.1 wrote before the segment metadata
   * lost its owner and counters and the report gained its check id: its
   * segments cannot be verified with this reader's segment_meta.c.
   */
  if (h->version == 1) {
    char writer[sizeof(((struct hg_dump_process *)0)->version) + 1];
    writer_version(c, h, writer, sizeof writer);
    return fail(c,
                "dump format version 1, written by heapguard %s: this "
                "heapguard-inspect reads format version %u only (version 1 "
                "has other segment metadata and no check id); read the dump "
                "with the heapguard-inspect of the heapguard that wrote it",
                writer[0] ? writer : "0.1 (no process section names it)",
                HG_DUMP_VERSION);
  }
  /* No minor version exists: any other number may change any layout. */
  return fail(c, "unsupported dump format version %u (this reader knows %u)",
              h->version, HG_DUMP_VERSION);
}

static bool parse_process(struct cursor *c, struct hgi_dump *d,
                          const uint8_t *p, size_t n, bool *seen)
{
  if (*seen)
    return fail(c, "two process sections");
  if (n < PROCESS_MIN)
    return fail(c, "process section too short (%zu < %zu bytes)", n,
                PROCESS_MIN);
  memcpy(&d->process, p, sizeof d->process);
  /* The inspector compiles block.c: other geometry cannot be walked. */
  if (d->process.header_size != HG_HEADER_SIZE ||
      d->process.granule != HG_GRANULE)
    return fail(c,
                "dump written with %u-byte headers and %u-byte granules; "
                "this inspector knows %u and %zu",
                d->process.header_size, d->process.granule, HG_HEADER_SIZE,
                HG_GRANULE);
  *seen = true;
  return true;
}

static bool parse_report(struct cursor *c, struct hgi_dump *d,
                         const uint8_t *p, size_t n)
{
  if (d->has_report)
    return fail(c, "two report sections");
  if (n < REPORT_MIN)
    return fail(c, "report section too short (%zu < %zu bytes)", n, REPORT_MIN);
  memcpy(&d->report, p, sizeof d->report);
  d->has_report = true;
  return true;
}

static bool parse_text(struct cursor *c, struct hgi_dump *d, const uint8_t *p,
                       size_t n)
{
  if (d->has_text)
    return fail(c, "two report text sections");
  d->text = p;
  d->text_length = n;
  d->has_text = true;
  return true;
}

static bool parse_image(struct cursor *c, struct hgi_image *img,
                        const uint8_t *p, size_t n, unsigned index)
{
  struct hg_dump_segment s;
  if (n < SEGMENT_MIN)
    return fail(c, "section %u: segment section too short (%zu bytes)", index,
                n);
  memcpy(&s, p, sizeof s);
  if (s.length > n - SEGMENT_MIN)
    return fail(c,
                "section %u: segment claims %llu bytes, section holds %zu",
                index, (unsigned long long)s.length, n - SEGMENT_MIN);
  if (s.length < sizeof(struct hg_segment))
    return fail(c, "section %u: segment of %llu bytes cannot hold metadata",
                index, (unsigned long long)s.length);
  if (s.address > UINT64_MAX - s.length)
    return fail(c, "section %u: segment address 0x%llx + %llu wraps", index,
                (unsigned long long)s.address, (unsigned long long)s.length);
  img->address = s.address;
  img->bytes = p + SEGMENT_MIN;
  img->length = (size_t)s.length;
  memcpy(&img->meta, img->bytes, sizeof img->meta);
  return true;
}

static bool parse_segment(struct cursor *c, struct hgi_dump *d,
                          const struct hg_dump_section *sh, const uint8_t *p,
                          size_t n, unsigned index, bool *seen_damaged)
{
  switch (sh->flags & (HG_DUMP_SEGMENT_DAMAGED | HG_DUMP_SEGMENT_META_ONLY)) {
  case HG_DUMP_SEGMENT_DAMAGED:
    if (*seen_damaged)
      return fail(c, "section %u: a second damaged segment", index);
    *seen_damaged = true;
    return parse_image(c, &d->damaged, p, n, index);
  case HG_DUMP_SEGMENT_META_ONLY:
    if (d->neighbour_count == HGI_MAX_NEIGHBOURS)
      return fail(c, "section %u: more than %u neighbour segments", index,
                  HGI_MAX_NEIGHBOURS);
    return parse_image(c, &d->neighbours[d->neighbour_count++], p, n, index);
  case 0:
    /* A kind of segment section this reader does not know: skip it. */
    d->skipped_sections++;
    return true;
  default:
    return fail(c, "section %u: segment both damaged and metadata-only",
                index);
  }
}

bool hgi_parse(const uint8_t *buf, size_t len, struct hgi_dump *d, char *err,
               size_t errlen)
{
  struct cursor c = {buf, len, err, errlen};
  struct hg_dump_file_header h;
  bool seen_process = false, seen_damaged = false;

  memset(d, 0, sizeof *d);
  d->file_size = len;
  if (len == 0)
    return fail(&c, "empty file");
  if (len < sizeof h)
    return fail(&c, "truncated: %zu bytes, a file header needs %zu", len,
                sizeof h);
  memcpy(&h, buf, sizeof h);
  if (memcmp(h.magic, HG_DUMP_MAGIC, sizeof h.magic) != 0)
    return fail(&c, "not a heapguard dump (bad magic)");
  if (!version_is_acceptable(&c, &h) || !header_size_is_acceptable(&c, &h))
    return false;
  d->version = h.version;
  d->sections = h.section_count;

  /*
   * Each section takes at least 16 bytes, so the loop ends after at most
   * len / 16 iterations whatever section_count says.
   */
  size_t at = h.header_size;
  for (uint32_t i = 0; i < h.section_count; i++) {
    struct hg_dump_section sh;
    const uint8_t *p = NULL; /* set by next_section; GCC -O3 cannot see it */
    if (!next_section(&c, &at, i, h.section_count, &sh, &p))
      return false;
    size_t n = (size_t)sh.length;
    bool ok = true;
    switch (sh.type) {
    case HG_DUMP_PROCESS:
      ok = parse_process(&c, d, p, n, &seen_process);
      break;
    case HG_DUMP_REPORT:
      ok = parse_report(&c, d, p, n);
      break;
    case HG_DUMP_REPORT_TEXT:
      ok = parse_text(&c, d, p, n);
      break;
    case HG_DUMP_SEGMENT:
      ok = parse_segment(&c, d, &sh, p, n, i, &seen_damaged);
      break;
    default:
      d->skipped_sections++;
      break;
    }
    if (!ok)
      return false;
  }
  if (!seen_process)
    return fail(&c, "no process section: the secret is needed to verify");
  if (!seen_damaged)
    return fail(&c, "no damaged segment section");
  return true;
}
