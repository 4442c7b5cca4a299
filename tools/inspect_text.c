/*
 * inspect_text.c - the text output: process, report, block map, hexdumps.
 *
 * Owns the human-readable rendering and the terminal-safe string printer.
 * Strings from the dump (version, report text) were written by a damaged
 * process and are printed with control bytes escaped, so a dump cannot
 * drive the reader's terminal.
 */
#include "inspect.h"

#include <string.h>
#include <time.h>

/* Bounds the output of a densely damaged segment; the map is complete. */
#define MAX_HEXDUMP_ROWS (HGI_MAX_HEXDUMP_BYTES / 16)

void hgi_format_time(uint64_t unix_time, char *buf, size_t n)
{
  struct tm tm;
  time_t t = (time_t)unix_time;
  /* Years past 9999 do not fit the format; nor do negative times. */
  if (unix_time > 253402300799ull || !gmtime_r(&t, &tm)) {
    snprintf(buf, n, "?");
    return;
  }
  strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void hgi_text_string(FILE *out, const uint8_t *s, size_t n, bool newlines)
{
  for (size_t i = 0; i < n;) {
    uint8_t c = s[i];
    if ((c >= 0x20 && c < 0x7f) || (newlines && (c == '\n' || c == '\t'))) {
      fputc(c, out);
      i++;
      continue;
    }
    size_t k = c >= 0x80 ? hgi_utf8_sequence(s + i, n - i) : 0;
    /* C1 controls (U+0080..U+009F) are escapes to some terminals too. */
    if (k && !(k == 2 && c == 0xc2 && s[i + 1] < 0xa0)) {
      fwrite(s + i, 1, k, out);
      i += k;
      continue;
    }
    fprintf(out, "\\x%02x", c);
    i++;
  }
}

static void print_padded(FILE *out, const char *s, size_t max)
{
  size_t n = strnlen(s, max);
  hgi_text_string(out, (const uint8_t *)s, n, false);
}

static void print_process(FILE *out, const struct hg_dump_process *p)
{
  char when[64];
  hgi_format_time(p->unix_time, when, sizeof when);
  fprintf(out, "process\n");
  fprintf(out, "  pid %u  tid %u\n", p->pid, p->tid);
  fprintf(out, "  time %llu (%s)\n", (unsigned long long)p->unix_time, when);
  fprintf(out, "  heapguard version ");
  print_padded(out, p->version, sizeof p->version);
  fprintf(out, "\n  build id ");
  size_t n = p->build_id_size < sizeof p->build_id ? p->build_id_size
                                                   : sizeof p->build_id;
  for (size_t i = 0; i < n; i++)
    fprintf(out, "%02x", p->build_id[i]);
  if (n == 0)
    fprintf(out, "(none)");
  fprintf(out, "\n  geometry %u-byte headers, %u-byte granules\n\n",
          p->header_size, p->granule);
}

static void print_report(FILE *out, const struct hgi_dump *d,
                         const struct hgi_analysis *a)
{
  const struct hg_dump_report *r = &d->report;
  fprintf(out, "report\n");
  if (!d->has_report) {
    fprintf(out, "  (no report section)\n\n");
    return;
  }
  fprintf(out, "  class    %s (%u)\n", hg_bug_class_name(r->bug_class),
          r->bug_class);
  fprintf(out, "  check    %s (%u)\n", hgi_check_name(r->check), r->check);
  fprintf(out, "  address  0x%llx", (unsigned long long)r->address);
  if (a->report_slot_found)
    fprintf(out, "  (in slot #%zu of the dumped table)", a->report_slot);
  fputc('\n', out);
  fprintf(out, "  block    0x%llx", (unsigned long long)r->block);
  if (a->report_block_found)
    fprintf(out, "  (block #%zu of the dumped segment)", a->report_block);
  fprintf(out, "\n  segment  0x%llx%s\n", (unsigned long long)r->segment,
          r->segment == d->damaged.address ? "  (the dumped segment)" : "");
  fprintf(out, "  expected 0x%llx\n  found    0x%llx\n\n",
          (unsigned long long)r->expected, (unsigned long long)r->found);
}

static void print_meta(FILE *out, const struct hgi_image *img,
                       enum hg_segment_fault f)
{
  const struct hg_segment *m = &img->meta;
  fprintf(out, "  metadata at 0x%llx: %s\n", (unsigned long long)img->address,
          f == HG_SEGMENT_OK ? "verifies" : "BAD");
  if (f != HG_SEGMENT_OK)
    fprintf(out, "    failed check: %s\n", hg_segment_fault_name(f));
  fprintf(out, "    seq %u  kind %s", m->seq, hg_segment_kind_name(m->kind));
  if (m->kind == 0 || m->kind >= HG_SEGMENT_KINDS)
    fprintf(out, " (%u)", m->kind); /* no name: the number is all there is */
  if (m->kind == HG_SEGMENT_SHARED)
    fprintf(out, "  arena %u", m->arena);
  fprintf(out, "  map_size %llu  first_block +0x%llx  end +0x%llx\n",
          (unsigned long long)m->map_size, (unsigned long long)m->first_block,
          (unsigned long long)m->end);
  fprintf(out, "    magic 0x%llx  checksum 0x%08x\n", (unsigned long long)m->magic,
          m->checksum);
}

/* Where large.c put the one block, and what a free one is. */
static void print_dedicated(FILE *out, const struct hg_segment *m,
                            const struct hgi_analysis *a)
{
  fprintf(out, "  dedicated segment: one block, from +0x%llx to the trailing "
               "guard page at +0x%llx\n",
          (unsigned long long)m->first_block, (unsigned long long)m->end);
  if (a->block_count == 1 && a->blocks[0].fault == HG_HEADER_OK &&
      a->blocks[0].hdr.state == HG_STATE_FREE)
    fprintf(out, "  its block is free: the segment is cached for reuse whole, "
                 "without free-list links;\n  its data pages are inaccessible meanwhile "
                 "(not dumped) and the bytes before them poisoned\n");
}

static void print_segment(FILE *out, const struct hgi_dump *d,
                          const struct hgi_analysis *a)
{
  fprintf(out, "damaged segment (%zu bytes dumped)\n", d->damaged.length);
  print_meta(out, &d->damaged, a->meta_fault);
  if (d->damaged.meta.kind == HG_SEGMENT_LARGE)
    print_dedicated(out, &d->damaged.meta, a);
  if (a->guard_segment)
    fprintf(out, "  guard segment: no block headers to walk; its slots are "
                 "described by the slot table below\n"
                 "  their pages are not in the dump: the writer stops at the "
                 "fence page after the table\n");
  if (a->zero_segment)
    fprintf(out, "  zero-size segment: its blocks have no bytes and no headers, only "
                 "entries in the slot table\n"
                 "  after the metadata (not decoded here): there is no block to walk\n");
  if (a->first_assumed)
    fprintf(out, "  first_block implausible: walking from +0x%zx\n", a->first);
  if (a->end_assumed)
    fprintf(out, "  end implausible: walking to the end of the dump, +0x%zx\n",
            a->end);
  if (a->dump_short)
    fprintf(out, "  the dump holds only %zu bytes: walking to there\n",
            d->damaged.length);
  fputc('\n', out);
}

static void print_block_row(FILE *out, const struct hgi_block *b, size_t i)
{
  char status[256];
  hgi_block_status(b, status, sizeof status);
  fprintf(out, "  %5zu  +0x%06zx  0x%012llx  %8zu  ", i, b->offset,
          (unsigned long long)b->address, b->extent);
  if (b->fault != HG_HEADER_OK)
    fprintf(out, "%-20s  %9s  %-14s  %8s  ", "DAMAGED", "?", "?", "?");
  else if (b->hdr.state == HG_STATE_FREE)
    fprintf(out, "%-20s  %9s  %-14s  %8u  ", hg_state_name(b->hdr.state), "-",
            "-", b->hdr.stack);
  else /* used or quarantined: the allocation's fields are kept */
    fprintf(out, "%-20s  %9zu  %-14s  %8u  ", hg_state_name(b->hdr.state),
            hg_block_requested(&b->hdr), hg_alloc_kind_name(b->hdr.kind),
            b->hdr.stack);
  fprintf(out, "%s\n", status);

  if (b->fault != HG_HEADER_OK) {
    fprintf(out, "         header as found: size %u prev_size %u tail %u "
                 "state %u kind %u stack %u\n",
            b->hdr.size, b->hdr.prev_size, (unsigned)b->hdr.tail, (unsigned)b->hdr.state,
            (unsigned)b->hdr.kind, b->hdr.stack);
    if (b->resync == HGI_RESYNC_LOST)
      fprintf(out, "         could not resynchronise: no header verifies up "
                   "to the segment end\n");
    else
      fprintf(out,
              "         resynchronised %zu bytes on (%s); the header's size "
              "field %s\n",
              b->extent,
              b->resync == HGI_RESYNC_PREV_SIZE
                  ? "the next header's prev_size confirms it"
                  : "by scanning for a header that verifies at its address",
              b->size_field_agrees ? "agrees" : "does not agree");
    if (b->reconstructed)
      fprintf(out,
              "         reconstructed: the original header was size %u "
              "prev_size %u state %s requested %zu stack %u\n",
              b->original.size, b->original.prev_size,
              hg_state_name(b->original.state),
              b->original.state != HG_STATE_FREE
                  ? hg_block_requested(&b->original)
                  : 0,
              b->original.stack);
  }
  if (b->problems & HGI_P_TAIL)
    fprintf(out,
            "         trailing canary: %zu bad byte(s) from +%zu to +%zu past "
            "the requested size; first expected %02x found %02x\n",
            b->damage_bytes, b->damage.first, b->damage.last,
            b->damage.expected, b->damage.found);
  if (b->problems & HGI_P_POISON)
    fprintf(out,
            "         poison: %zu bad byte(s) from +%zu to +%zu of the data; "
            "first expected %02x found %02x: written after free\n",
            b->damage_bytes, b->damage.first, b->damage.last,
            b->damage.expected, b->damage.found);
  for (int k = 0; k < 2; k++)
    if (b->links_checked && b->link_status[k] != HGI_LINK_NULL &&
        b->link_status[k] != HGI_LINK_OK)
      fprintf(out, "         free-list link %d -> 0x%llx: %s\n", k,
              (unsigned long long)b->link[k],
              hgi_link_status_name(b->link_status[k]));
}

static void print_map(FILE *out, const struct hgi_analysis *a)
{
  fprintf(out, "block map (walked +0x%zx to +0x%zx)\n", a->first, a->end);
  fprintf(out, "  %5s  %-9s  %-14s  %8s  %-20s  %9s  %-14s  %8s  %s\n", "#",
          "offset", "address", "size", "state", "requested", "kind", "stack",
          "status");
  for (size_t i = 0; i < a->block_count; i++)
    print_block_row(out, &a->blocks[i], i);
  if (a->leftover)
    fprintf(out, "  blocks do not tile the segment: %zu byte(s) left before "
                 "the end\n",
            a->leftover);
  if (a->overrun)
    fprintf(out, "  walk stopped: a verified header's size runs past the "
                 "segment end\n");
  if (a->cut)
    fprintf(out, "  the last block goes on past the end of the dump\n");
  if (a->lost)
    fprintf(out, "  walk stopped: lost after a damaged header\n");
  if (a->too_many)
    fprintf(out, "  walk stopped after %zu blocks, more than a segment can "
                 "hold\n",
            a->block_count);
  fprintf(out, "  %zu block(s), %zu damaged\n\n", a->block_count,
          a->damaged_blocks);
}

static void print_slot_row(FILE *out, const struct hgi_slot *s, size_t i)
{
  char status[256];
  hgi_slot_status(s, status, sizeof status);
  fprintf(out, "  %5zu  +0x%06zx  ", i, s->offset);
  if (s->data)
    fprintf(out, "0x%012llx  ", (unsigned long long)s->data);
  else
    fprintf(out, "%-14s  ", s->state == HG_SLOT_UNUSED ? "-" : "?");
  fprintf(out, "%-20s  %9llu  %5llu  %-14s  %8u  %8u  %s\n",
          hgi_slot_state_name(s->state), (unsigned long long)s->requested,
          (unsigned long long)s->alignment,
          s->state == HG_SLOT_UNUSED ? "-" : hg_alloc_kind_name(s->kind), s->alloc_stack,
          s->free_stack, status);
}

static void print_free_list(FILE *out, const struct hgi_guard *g)
{
  fprintf(out, "  free list: %zu slot(s) from free_slots", g->free_list_length);
  if (g->free_list == HGI_FREE_LIST_OK) {
    fprintf(out, ": OK\n");
    return;
  }
  if (g->free_list == HGI_FREE_LIST_LENGTH) {
    fprintf(out, ", free_count %u: %s\n", g->free_count,
            hgi_free_list_name(g->free_list));
    return;
  }
  fprintf(out, "; then ");
  if (g->free_list_from_head)
    fprintf(out, "free_slots");
  else
    fprintf(out, "slot #%zu's next", g->free_list_from);
  fprintf(out, " -> 0x%llx: %s\n", (unsigned long long)g->free_list_target,
          hgi_free_list_name(g->free_list));
}

static void print_table_header(FILE *out, const struct hgi_dump *d,
                               const struct hgi_guard *g)
{
  const struct hg_segment *m = &d->damaged.meta;
  fprintf(out, "  slot_pages %u  slot_count %u  live %u  free_count %u  "
               "class_index %u\n",
          g->slot_pages, g->slot_count, g->live, g->free_count, g->class_index);
  fprintf(out, "  free_slots 0x%llx  prev 0x%llx  next 0x%llx\n",
          (unsigned long long)g->free_slots, (unsigned long long)g->prev,
          (unsigned long long)g->next);
  if (g->geometry_sane)
    fprintf(out, "  slots from +0x%llx, each %u data page(s) and a guard page\n",
            (unsigned long long)m->first_block, g->slot_pages);
  if (g->slot_total == 0 && g->slot_count)
    fprintf(out, "  the dump holds none of its %u slots\n", g->slot_count);
  else if (g->slot_total < g->slot_count && !(g->problems & HGI_T_TOO_MANY))
    fprintf(out, "  the dump holds slots #0 to #%zu of %u\n", g->slot_total - 1,
            g->slot_count);
  for (unsigned bit = 1; bit <= HGI_T_TOO_MANY; bit <<= 1)
    if (g->problems & bit)
      fprintf(out, "  problem: %s\n", hgi_table_problem_name(bit));
}

/* Every slot but the never-used ones whose fields are clear. */
static void print_guard(FILE *out, const struct hgi_dump *d, const struct hgi_analysis *a)
{
  const struct hgi_guard *g = &a->guard;
  fprintf(out, "guard slot table (at +0x%x)\n", HG_SEGMENT_META_SIZE);
  if (g->problems & HGI_T_NOT_DUMPED) {
    fprintf(out, "  problem: %s\n\n", hgi_table_problem_name(HGI_T_NOT_DUMPED));
    return;
  }
  print_table_header(out, d, g);
  print_free_list(out, g);
  fprintf(out, "  %5s  %-9s  %-14s  %-20s  %9s  %5s  %-14s  %8s  %8s  %s\n", "#",
          "entry", "data", "state", "requested", "align", "kind", "alloc", "free",
          "status");
  size_t hidden = 0;
  for (size_t i = 0; i < g->slot_total; i++) {
    const struct hgi_slot *s = &g->slots[i];
    if (s->state == HG_SLOT_UNUSED && !s->problems)
      hidden++;
    else
      print_slot_row(out, s, i);
  }
  if (hidden)
    fprintf(out, "  %zu never-used slot(s) not listed: their fields are clear\n", hidden);
  fprintf(out, "  slots: used %zu; freed, in quarantine %zu; free %zu; never used %zu; "
               "%zu damaged\n\n",
          g->used, g->quarantined, g->freed, g->unused, g->damaged_slots);
}

/* What the marks say about one hexdump row. */
struct row_marks {
  bool marked[16], known[16];
  uint8_t expected[16];
  bool any_marked, any_known;
};

static void collect_row(const struct hgi_analysis *a, size_t *cursor,
                        size_t row, struct row_marks *r)
{
  memset(r, 0, sizeof *r);
  /* Marks are sorted by offset and at most HGI_MARK_MAX long. */
  while (*cursor < a->mark_count &&
         a->marks[*cursor].offset + HGI_MARK_MAX <= row)
    (*cursor)++;
  for (size_t j = *cursor; j < a->mark_count && a->marks[j].offset < row + 16;
       j++) {
    const struct hgi_mark *m = &a->marks[j];
    for (size_t k = 0; k < m->length; k++) {
      size_t at = m->offset + k;
      if (at < row || at >= row + 16)
        continue;
      r->marked[at - row] = r->any_marked = true;
      if (m->known[k]) {
        r->known[at - row] = r->any_known = true;
        r->expected[at - row] = m->expected[k];
      }
    }
  }
}

static void print_mark_label(FILE *out, const struct hgi_mark *m)
{
  switch (m->owner) {
  case HGI_MARK_BLOCK:
    fprintf(out, " [block #%zu %s]", m->index, m->what);
    return;
  case HGI_MARK_SLOT:
    fprintf(out, " [slot #%zu %s]", m->index, m->what);
    return;
  case HGI_MARK_TABLE:
    fprintf(out, " [slot table %s]", m->what);
    return;
  }
}

static void print_window(FILE *out, const struct hgi_image *img,
                         const struct hgi_analysis *a,
                         const struct hgi_window *w, size_t *rows)
{
  size_t cursor = 0;
  fprintf(out, "  at +0x%zx (0x%llx), %zu bytes:", w->offset,
          (unsigned long long)(img->address + w->offset), w->length);
  for (size_t j = 0; j < a->mark_count; j++) {
    const struct hgi_mark *m = &a->marks[j];
    if (m->offset >= w->offset && m->offset < w->offset + w->length)
      print_mark_label(out, m);
  }
  fputc('\n', out);
  for (size_t row = w->offset; row < w->offset + w->length; row += 16) {
    if (++*rows > MAX_HEXDUMP_ROWS)
      return;
    size_t n = w->offset + w->length - row < 16 ? w->offset + w->length - row
                                                : 16;
    struct row_marks r;
    collect_row(a, &cursor, row, &r);
    fprintf(out, "    0x%012llx +%06zx  ",
            (unsigned long long)(img->address + row), row);
    for (size_t i = 0; i < 16; i++) {
      if (i < n)
        fprintf(out, "%02x%s", img->bytes[row + i], i == 7 ? "  " : " ");
      else
        fprintf(out, "  %s", i == 7 ? "  " : " ");
    }
    fprintf(out, " |");
    for (size_t i = 0; i < n; i++) {
      uint8_t c = img->bytes[row + i];
      fputc(c >= 0x20 && c < 0x7f ? c : '.', out);
    }
    fprintf(out, "|\n");
    if (r.any_known) {
      fprintf(out, "    %-22s  ", "expected");
      for (size_t i = 0; i < 16; i++) {
        if (r.known[i] && i < n)
          fprintf(out, "%02x%s", r.expected[i], i == 7 ? "  " : " ");
        else
          fprintf(out, "  %s", i == 7 ? "  " : " ");
      }
      fputc('\n', out);
    }
    if (r.any_marked) {
      char line[16 * 3 + 2];
      size_t at = 0;
      bool any = false;
      for (size_t i = 0; i < 16; i++) {
        const char *sym = "  ";
        if (i < n && r.marked[i] && !r.known[i])
          sym = "..", any = true;
        else if (i < n && r.marked[i] && r.expected[i] != img->bytes[row + i])
          sym = "^^", any = true;
        at += (size_t)snprintf(line + at, sizeof line - at, "%s%s", sym,
                               i == 7 ? "  " : " ");
      }
      if (any)
        fprintf(out, "    %-22s  %s\n", "", line);
    }
  }
}

static void print_hexdumps(FILE *out, const struct hgi_dump *d,
                           const struct hgi_analysis *a)
{
  if (a->window_count == 0)
    return;
  fprintf(out, "damaged bytes (found; expected below where known; ^^ "
               "differs, .. no expectation)\n");
  size_t rows = 0, shown = 0;
  for (size_t i = 0; i < a->window_count && shown < HGI_MAX_WINDOWS; i++) {
    print_window(out, &d->damaged, a, &a->windows[i], &rows);
    shown++;
    if (rows > MAX_HEXDUMP_ROWS)
      break;
  }
  if (a->marks_dropped)
    fprintf(out, "  %zu further damaged spot(s) not recorded\n",
            a->marks_dropped);
  if (shown < a->window_count)
    fprintf(out, "  ... %zu more damaged region(s) not shown\n",
            a->window_count - shown);
  fputc('\n', out);
}

static void print_neighbours(FILE *out, const struct hgi_dump *d,
                             const struct hgi_analysis *a)
{
  fprintf(out, "neighbour segments (metadata only)\n");
  if (d->neighbour_count == 0)
    fprintf(out, "  (none dumped)\n");
  for (unsigned i = 0; i < d->neighbour_count; i++)
    print_meta(out, &d->neighbours[i], a->neighbour_fault[i]);
  fputc('\n', out);
}

static void print_report_text(FILE *out, const struct hgi_dump *d)
{
  fprintf(out, "report text\n");
  if (!d->has_text) {
    fprintf(out, "  (no report text section)\n\n");
    return;
  }
  /* Indent each line so the report stands apart from our own output. */
  const uint8_t *s = d->text, *end = d->text + d->text_length;
  while (s < end) {
    const uint8_t *nl = memchr(s, '\n', (size_t)(end - s));
    const uint8_t *stop = nl ? nl : end;
    fprintf(out, "  | ");
    hgi_text_string(out, s, (size_t)(stop - s), true);
    fputc('\n', out);
    s = nl ? nl + 1 : end;
  }
  fputc('\n', out);
}

void hgi_print_text(FILE *out, const char *name, const struct hgi_dump *d,
                    const struct hgi_analysis *a)
{
  fprintf(out, "heapguard dump ");
  hgi_text_string(out, (const uint8_t *)name, strlen(name), false);
  fprintf(out, " (%zu bytes, format version %u, %u sections",
          d->file_size, d->version, d->sections);
  if (d->skipped_sections)
    fprintf(out, ", %u of unknown type skipped", d->skipped_sections);
  fprintf(out, ")\n\n");
  print_process(out, &d->process);
  print_report(out, d, a);
  print_segment(out, d, a);
  if (a->guard_segment)
    print_guard(out, d, a);
  else if (!a->zero_segment)
    print_map(out, a);
  print_hexdumps(out, d, a);
  print_neighbours(out, d, a);
  print_report_text(out, d);
  if (a->problems && a->guard_segment)
    fprintf(out, "verdict: DAMAGE FOUND: %zu problem(s), %zu damaged slot(s)\n",
            a->problems, a->guard.damaged_slots);
  else if (a->problems)
    fprintf(out, "verdict: DAMAGE FOUND: %zu problem(s), %zu damaged block(s)\n",
            a->problems, a->damaged_blocks);
  else
    fprintf(out, "verdict: no damage found in the dumped segment\n");
}
