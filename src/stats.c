/*
 * stats.c - heap statistics, collected by a walk, written without stdio.
 */
#include "stats.h"

#include "heap.h"
#include "log.h"
#include "options.h"
#include "os.h"
#include "runtime.h"

static void add_counts(struct hg_heap_counts *to, const struct hg_heap_counts *c)
{
  to->segments += c->segments;
  to->mapped += c->mapped;
  to->used_blocks += c->used_blocks;
  to->used_bytes += c->used_bytes;
  to->quarantined_blocks += c->quarantined_blocks;
  to->quarantined_bytes += c->quarantined_bytes;
  to->free_blocks += c->free_blocks;
  to->free_bytes += c->free_bytes;
  to->slots += c->slots;
  to->mappings += c->mappings;
}

void hg_stats_collect(struct hg_stats *st)
{
  *st = (struct hg_stats){ 0 };
  hg_heap_count(st->kinds);
  for (unsigned k = 0; k < HG_SEGMENT_KINDS; k++)
    add_counts(&st->total, &st->kinds[k]);
  hg_segment_mapped_bytes(&st->mapped_now, &st->mapped_peak);
  st->max_maps = hg_os_max_map_count();
}

static void blocks_and_bytes(struct hg_buf *out, uint64_t blocks, uint64_t bytes)
{
  hg_buf_dec(out, blocks);
  hg_buf_str(out, blocks == 1 ? " block, " : " blocks, ");
  hg_buf_dec(out, bytes);
  hg_buf_str(out, " bytes");
}

static void segments_of(struct hg_buf *out, const struct hg_heap_counts *c, const char *kind,
                        bool *first)
{
  if (!c->segments)
    return;
  if (!*first)
    hg_buf_str(out, ", ");
  *first = false;
  hg_buf_dec(out, c->segments);
  hg_buf_char(out, ' ');
  hg_buf_str(out, kind);
  hg_buf_str(out, " (");
  hg_buf_dec(out, c->mapped);
  hg_buf_str(out, " bytes)");
}

void hg_stats_format(struct hg_buf *out, const struct hg_stats *st)
{
  const struct hg_heap_counts *t = &st->total, *guard = &st->kinds[HG_SEGMENT_GUARD];
  hg_log_line_start(out);
  hg_buf_str(out, " statistics:\n  in use:       ");
  blocks_and_bytes(out, t->used_blocks, t->used_bytes);
  hg_buf_str(out, " requested\n  quarantined:  ");
  blocks_and_bytes(out, t->quarantined_blocks, t->quarantined_bytes);
  hg_buf_str(out, " requested when in use (quarantine_bytes=");
  hg_buf_dec(out, hg_options.quarantine_bytes);
  hg_buf_str(out, ")\n  free:         ");
  blocks_and_bytes(out, t->free_blocks, t->free_bytes);
  hg_buf_str(out, "\n  segments:     ");
  bool first = true;
  segments_of(out, &st->kinds[HG_SEGMENT_SHARED], "shared", &first);
  segments_of(out, &st->kinds[HG_SEGMENT_LARGE], "dedicated", &first);
  segments_of(out, guard, "guard", &first);
  segments_of(out, &st->kinds[HG_SEGMENT_ZERO], "zero-size", &first);
  if (first)
    hg_buf_str(out, "none");
  hg_buf_str(out, "\n  mapped:       ");
  hg_buf_dec(out, st->mapped_now);
  hg_buf_str(out, " bytes, at most ");
  hg_buf_dec(out, st->mapped_peak);
  hg_buf_str(out, " (peak)\n  guard slots:  ");
  hg_buf_dec(out, guard->used_blocks);
  hg_buf_str(out, " in use, ");
  hg_buf_dec(out, guard->quarantined_blocks);
  hg_buf_str(out, " quarantined, of ");
  hg_buf_dec(out, guard->slots);
  hg_buf_str(out, "\n  mappings:     ");
  hg_buf_dec(out, t->mappings);
  hg_buf_str(out, " for segments and guard slots (vm.max_map_count ");
  hg_buf_dec(out, st->max_maps);
  hg_buf_str(out, ")\n");
}

static void xml_total(struct hg_buf *out, const char *type, uint64_t count, uint64_t size)
{
  hg_buf_str(out, "<total type=\"");
  hg_buf_str(out, type);
  hg_buf_str(out, "\" count=\"");
  hg_buf_dec(out, count);
  hg_buf_str(out, "\" size=\"");
  hg_buf_dec(out, size);
  hg_buf_str(out, "\"/>\n");
}

static void xml_system(struct hg_buf *out, const char *tag, const char *type, uint64_t size)
{
  hg_buf_char(out, '<');
  hg_buf_str(out, tag);
  hg_buf_str(out, " type=\"");
  hg_buf_str(out, type);
  hg_buf_str(out, "\" size=\"");
  hg_buf_dec(out, size);
  hg_buf_str(out, "\"/>\n");
}

/*
 * glibc's elements where they mean the same (total, system, aspace), and
 * heapguard's own for what glibc has not: the blocks in use and held in
 * quarantine, and the segments of each kind.
 */
void hg_stats_xml(struct hg_buf *out, const struct hg_stats *st)
{
  static const char *const kind_names[HG_SEGMENT_KINDS] = {
    [HG_SEGMENT_SHARED] = "shared", [HG_SEGMENT_LARGE] = "dedicated",
    [HG_SEGMENT_GUARD] = "guard", [HG_SEGMENT_ZERO] = "zero-size"
  };
  const struct hg_heap_counts *t = &st->total;
  hg_buf_str(out, "<malloc version=\"heapguard-1\">\n");
  for (unsigned k = 0; k < HG_SEGMENT_KINDS; k++) {
    const struct hg_heap_counts *c = &st->kinds[k];
    if (!kind_names[k])
      continue;
    hg_buf_str(out, "<segments kind=\"");
    hg_buf_str(out, kind_names[k]);
    hg_buf_str(out, "\" count=\"");
    hg_buf_dec(out, c->segments);
    hg_buf_str(out, "\" size=\"");
    hg_buf_dec(out, c->mapped);
    hg_buf_str(out, "\"/>\n");
  }
  xml_total(out, "in-use", t->used_blocks, t->used_bytes);
  xml_total(out, "quarantine", t->quarantined_blocks, t->quarantined_bytes);
  xml_total(out, "rest", t->free_blocks, t->free_bytes);
  xml_total(out, "mmap", st->kinds[HG_SEGMENT_LARGE].segments + st->kinds[HG_SEGMENT_GUARD].segments,
            st->kinds[HG_SEGMENT_LARGE].mapped + st->kinds[HG_SEGMENT_GUARD].mapped);
  xml_system(out, "system", "current", st->mapped_now);
  xml_system(out, "system", "max", st->mapped_peak);
  xml_system(out, "aspace", "total", st->mapped_now);
  hg_buf_str(out, "</malloc>\n");
}

static void summary_line(struct hg_buf *out, const struct hg_stats *st, uint64_t reports,
                         uint64_t suppressed)
{
  hg_log_line_start(out);
  hg_buf_str(out, ": at exit: ");
  hg_buf_dec(out, reports);
  hg_buf_str(out, reports == 1 ? " report, " : " reports, ");
  hg_buf_dec(out, suppressed);
  hg_buf_str(out, " suppressed; in use ");
  blocks_and_bytes(out, st->total.used_blocks, st->total.used_bytes);
  hg_buf_str(out, "; peak mapped ");
  hg_buf_dec(out, st->mapped_peak);
  hg_buf_str(out, " bytes\n");
}

void hg_stats_exit_note(uint64_t reports, uint64_t suppressed)
{
  bool block = hg_options.print_stats || hg_options.verbosity >= 2;
  if (!block && hg_options.verbosity < 1)
    return;
  static HG_LARGE_BSS char text[4096];
  struct hg_buf out = HG_BUF(text);
  struct hg_stats st;
  hg_stats_collect(&st);
  if (hg_options.verbosity >= 1)
    summary_line(&out, &st, reports, suppressed);
  if (block)
    hg_stats_format(&out, &st);
  int fd = hg_log_open();
  hg_log_write(fd, out.p, out.len);
  hg_log_close(fd);
}
