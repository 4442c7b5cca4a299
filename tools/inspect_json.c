/*
 * inspect_json.c - the --json output, one object, schema in
 * docs/dump-format.md.
 *
 * Owns JSON string escaping, which the HTML page reuses to embed the same
 * object: every string is valid UTF-8 (invalid bytes become U+FFFD) and
 * '<', '>' and '&' are escaped, so the text is safe inside <script>.
 * Addresses and other 64-bit patterns are hex strings, because JSON
 * readers commonly hold numbers as doubles; counts and offsets, which stay
 * far below 2^53, are numbers.
 */
#include "inspect.h"

#include <string.h>

size_t hgi_utf8_sequence(const uint8_t *s, size_t n)
{
  uint8_t c = s[0];
  size_t k;
  uint32_t min, cp;
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf)
    k = 2, min = 0x80, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef)
    k = 3, min = 0x800, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4)
    k = 4, min = 0x10000, cp = c & 0x07;
  else
    return 0;
  if (n < k)
    return 0;
  for (size_t i = 1; i < k; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = cp << 6 | (s[i] & 0x3f);
  }
  /* Overlong forms, surrogates and code points past U+10FFFF are invalid. */
  if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
    return 0;
  return k;
}

void hgi_json_string(FILE *out, const uint8_t *s, size_t n)
{
  fputc('"', out);
  for (size_t i = 0; i < n;) {
    uint8_t c = s[i];
    if (c == '"' || c == '\\') {
      fprintf(out, "\\%c", c);
      i++;
    } else if (c == '\n') {
      fputs("\\n", out), i++;
    } else if (c == '\t') {
      fputs("\\t", out), i++;
    } else if (c < 0x20 || c == 0x7f || c == '<' || c == '>' || c == '&') {
      fprintf(out, "\\u%04x", c);
      i++;
    } else if (c < 0x80) {
      fputc(c, out);
      i++;
    } else {
      size_t k = hgi_utf8_sequence(s + i, n - i);
      if (k) {
        fwrite(s + i, 1, k, out);
        i += k;
      } else {
        fputs("\\ufffd", out);
        i++;
      }
    }
  }
  fputc('"', out);
}

static void jstr(FILE *out, const char *s)
{
  hgi_json_string(out, (const uint8_t *)s, strlen(s));
}

static void jhex(FILE *out, uint64_t v)
{
  fprintf(out, "\"0x%llx\"", (unsigned long long)v);
}

static const char *segment_status(enum hg_segment_fault f)
{
  return f == HG_SEGMENT_OK ? "ok" : hg_segment_fault_name(f);
}

static void print_meta(FILE *out, const struct hgi_image *img,
                       enum hg_segment_fault f)
{
  const struct hg_segment *m = &img->meta;
  fprintf(out, "{\"address\":");
  jhex(out, img->address);
  fprintf(out, ",\"status\":");
  jstr(out, segment_status(f));
  fprintf(out, ",\"verifies\":%s,\"magic\":", f == HG_SEGMENT_OK ? "true" : "false");
  jhex(out, m->magic);
  fprintf(out, ",\"map_size\":%llu,\"first_block\":%llu,\"end\":%llu,\"kind\":",
          (unsigned long long)m->map_size, (unsigned long long)m->first_block,
          (unsigned long long)m->end);
  jstr(out, hg_segment_kind_name(m->kind));
  fprintf(out, ",\"kind_id\":%u,\"arena\":%u,\"seq\":%u,\"checksum\":", m->kind,
          m->arena, m->seq);
  jhex(out, m->checksum);
  fputc('}', out);
}

static void print_process(FILE *out, const struct hg_dump_process *p)
{
  char when[64];
  hgi_format_time(p->unix_time, when, sizeof when);
  fprintf(out, "\"process\":{\"pid\":%u,\"tid\":%u,\"unix_time\":%llu,\"time\":",
          p->pid, p->tid, (unsigned long long)p->unix_time);
  jstr(out, when);
  fprintf(out, ",\"version\":");
  hgi_json_string(out, (const uint8_t *)p->version,
                  strnlen(p->version, sizeof p->version));
  fprintf(out, ",\"build_id\":\"");
  size_t n = p->build_id_size < sizeof p->build_id ? p->build_id_size
                                                   : sizeof p->build_id;
  for (size_t i = 0; i < n; i++)
    fprintf(out, "%02x", p->build_id[i]);
  fprintf(out, "\",\"header_size\":%u,\"granule\":%u}", p->header_size,
          p->granule);
}

static void print_report(FILE *out, const struct hgi_dump *d,
                         const struct hgi_analysis *a)
{
  const struct hg_dump_report *r = &d->report;
  fprintf(out, "\"report\":");
  if (!d->has_report) {
    fprintf(out, "null");
    return;
  }
  fprintf(out, "{\"bug_class\":%u,\"bug_class_name\":", r->bug_class);
  jstr(out, hg_bug_class_name(r->bug_class));
  fprintf(out, ",\"check\":%u,\"check_name\":", r->check);
  jstr(out, hgi_check_name(r->check));
  fprintf(out, ",\"address\":");
  jhex(out, r->address);
  fprintf(out, ",\"block\":");
  jhex(out, r->block);
  fprintf(out, ",\"segment\":");
  jhex(out, r->segment);
  fprintf(out, ",\"expected\":");
  jhex(out, r->expected);
  fprintf(out, ",\"found\":");
  jhex(out, r->found);
  if (a->report_block_found)
    fprintf(out, ",\"block_index\":%zu", a->report_block);
  else
    fprintf(out, ",\"block_index\":null");
  if (a->report_slot_found)
    fprintf(out, ",\"slot_index\":%zu}", a->report_slot);
  else
    fprintf(out, ",\"slot_index\":null}");
}

/* A problem bit and its JSON code. */
struct code {
  unsigned bit;
  const char *code;
};

static const struct code table_problem_codes[] = {
    {HGI_T_NOT_DUMPED, "not_dumped"}, {HGI_T_GEOMETRY, "geometry"},
    {HGI_T_LIVE, "live"},             {HGI_T_FREE_LIST, "free_list"},
    {HGI_T_OPEN_LINK, "open_link"},   {HGI_T_TOO_MANY, "too_many_slots"},
}, slot_problem_codes[] = {
    {HGI_S_STATE, "bad_state"},       {HGI_S_NOT_CLEAR, "not_clear"},
    {HGI_S_KIND, "bad_kind"},         {HGI_S_ALIGNMENT, "bad_alignment"},
    {HGI_S_OUTSIDE, "outside_slot"},  {HGI_S_FREE_STACK, "free_stack"},
};

#define COUNT(array) (sizeof array / sizeof *array)

/* The codes of the bits set, as a JSON array. */
static void print_codes(FILE *out, const struct code *codes, size_t n, unsigned bits)
{
  fputc('[', out);
  const char *sep = "";
  for (size_t k = 0; k < n; k++)
    if (bits & codes[k].bit) {
      fprintf(out, "%s\"%s\"", sep, codes[k].code);
      sep = ",";
    }
  fputc(']', out);
}

static void print_slot(FILE *out, const struct hgi_slot *s, size_t i)
{
  char status[256];
  hgi_slot_status(s, status, sizeof status);
  fprintf(out, "{\"index\":%zu,\"offset\":%zu,\"state\":", i, s->offset);
  jstr(out, hgi_slot_state_name(s->state));
  fprintf(out, ",\"state_id\":%u,\"requested\":%llu,\"alignment\":%llu,"
               "\"data_off\":%u,\"data\":",
          s->state, (unsigned long long)s->requested, (unsigned long long)s->alignment,
          s->data_off);
  if (s->data)
    jhex(out, s->data);
  else
    fprintf(out, "null");
  fprintf(out, ",\"kind\":");
  if (s->state == HG_SLOT_UNUSED)
    fprintf(out, "null");
  else
    jstr(out, hg_alloc_kind_name(s->kind));
  fprintf(out, ",\"alloc_stack\":%u,\"free_stack\":%u,\"next\":", s->alloc_stack,
          s->free_stack);
  jhex(out, s->next);
  fprintf(out, ",\"on_free_list\":%s,\"status\":", s->on_free_list ? "true" : "false");
  jstr(out, status);
  fprintf(out, ",\"problems\":");
  print_codes(out, slot_problem_codes, COUNT(slot_problem_codes), s->problems);
  fputc('}', out);
}

static void print_free_list(FILE *out, const struct hgi_guard *g)
{
  fprintf(out, "\"free_list\":{\"length\":%zu,\"status\":", g->free_list_length);
  jstr(out, hgi_free_list_name(g->free_list));
  fprintf(out, ",\"ok\":%s,\"from\":",
          g->free_list == HGI_FREE_LIST_OK ? "true" : "false");
  if (g->free_list == HGI_FREE_LIST_OK || g->free_list == HGI_FREE_LIST_LENGTH)
    fprintf(out, "null,\"target\":null}");
  else {
    if (g->free_list_from_head)
      fprintf(out, "\"free_slots\"");
    else
      fprintf(out, "%zu", g->free_list_from);
    fprintf(out, ",\"target\":");
    jhex(out, g->free_list_target);
    fputc('}', out);
  }
}

static void print_guard(FILE *out, const struct hgi_guard *g)
{
  fprintf(out, "{\"table_offset\":%u,\"problems\":", HG_SEGMENT_META_SIZE);
  print_codes(out, table_problem_codes, COUNT(table_problem_codes), g->problems);
  if (g->problems & HGI_T_NOT_DUMPED) {
    fputc('}', out);
    return;
  }
  fprintf(out, ",\"slot_pages\":%u,\"slot_count\":%u,\"live\":%u,\"class_index\":%u,"
               "\"free_count\":%u,\"free_slots\":",
          g->slot_pages, g->slot_count, g->live, g->class_index, g->free_count);
  jhex(out, g->free_slots);
  fprintf(out, ",\"prev\":");
  jhex(out, g->prev);
  fprintf(out, ",\"next\":");
  jhex(out, g->next);
  fprintf(out, ",\"geometry_sane\":%s,\"slots_decoded\":%zu,",
          g->geometry_sane ? "true" : "false", g->slot_total);
  print_free_list(out, g);
  fprintf(out, ",\"counted\":{\"used\":%zu,\"quarantined\":%zu,\"free\":%zu,"
               "\"unused\":%zu},\"damaged_slots\":%zu,\"slots\":[",
          g->used, g->quarantined, g->freed, g->unused, g->damaged_slots);
  for (size_t i = 0; i < g->slot_total; i++) {
    if (i)
      fputc(',', out);
    print_slot(out, &g->slots[i], i);
  }
  fprintf(out, "]}");
}

static void print_segment(FILE *out, const struct hgi_dump *d,
                          const struct hgi_analysis *a)
{
  fprintf(out, "\"segment\":{\"address\":");
  jhex(out, d->damaged.address);
  fprintf(out, ",\"dumped_bytes\":%zu,\"metadata_size\":%u,\"metadata\":",
          d->damaged.length, HG_SEGMENT_META_SIZE);
  print_meta(out, &d->damaged, a->meta_fault);
  if (a->guard_segment) {
    fprintf(out, ",\"walk\":null,\"guard\":");
    print_guard(out, &a->guard);
    fputc('}', out);
    return;
  }
  fprintf(out,
          ",\"walk\":{\"first\":%zu,\"end\":%zu,\"first_assumed\":%s,"
          "\"end_assumed\":%s,\"dump_short\":%s,\"leftover\":%zu,"
          "\"overrun\":%s,\"cut\":%s,\"lost\":%s,\"too_many_blocks\":%s,\"blocks\":%zu,"
          "\"damaged_blocks\":%zu},\"guard\":null}",
          a->first, a->end, a->first_assumed ? "true" : "false",
          a->end_assumed ? "true" : "false", a->dump_short ? "true" : "false",
          a->leftover, a->overrun ? "true" : "false", a->cut ? "true" : "false",
          a->lost ? "true" : "false",
          a->too_many ? "true" : "false", a->block_count, a->damaged_blocks);
}

static const struct code block_problem_codes[] = {
    {HGI_P_BAD_CANARY, "bad_canary"},
    {HGI_P_BAD_TAG, "bad_tag"},
    {HGI_P_BAD_STATE, "bad_state"},
    {HGI_P_BAD_SIZE, "bad_size"},
    {HGI_P_PAST_END, "past_end"},
    {HGI_P_PREV_MISMATCH, "prev_size_mismatch"},
    {HGI_P_TAIL, "tail_damaged"},
    {HGI_P_POISON, "poison_damaged"},
    {HGI_P_BAD_LINK, "bad_link"},
};

static void print_header(FILE *out, const struct hg_block *h)
{
  fprintf(out, "{\"prev_size\":%u,\"prev_tag\":", h->prev_size);
  jhex(out, h->prev_tag);
  fprintf(out,
          ",\"size\":%u,\"free_stack\":%u,\"stack\":%u,\"state\":%u,\"kind\":%u,"
          "\"tail\":%u,\"tag\":",
          h->size, h->free_stack, h->stack, (unsigned)h->state, (unsigned)h->kind,
          (unsigned)h->tail);
  jhex(out, h->tag);
  fputc('}', out);
}

static void print_block(FILE *out, const struct hgi_block *b, size_t i)
{
  char status[256];
  hgi_block_status(b, status, sizeof status);
  bool ok = b->fault == HG_HEADER_OK;
  /* Used and quarantined blocks keep the allocation's fields. */
  bool allocated = ok && b->hdr.state != HG_STATE_FREE;
  fprintf(out, "{\"index\":%zu,\"offset\":%zu,\"address\":", i, b->offset);
  jhex(out, b->address);
  fprintf(out, ",\"size\":%zu,\"state\":", b->extent);
  jstr(out, ok ? hg_state_name(b->hdr.state) : "damaged");
  if (allocated)
    fprintf(out, ",\"requested\":%zu,\"kind\":\"%s\",\"stack\":%u",
            hg_block_requested(&b->hdr), hg_alloc_kind_name(b->hdr.kind),
            b->hdr.stack);
  else if (ok)
    fprintf(out, ",\"requested\":null,\"kind\":null,\"stack\":%u",
            b->hdr.stack);
  else
    fprintf(out, ",\"requested\":null,\"kind\":null,\"stack\":null");
  fprintf(out, ",\"status\":");
  jstr(out, status);
  fprintf(out, ",\"problems\":");
  print_codes(out, block_problem_codes, COUNT(block_problem_codes), b->problems);
  fprintf(out, ",\"header\":");
  print_header(out, &b->hdr);
  fprintf(out, ",\"expected_prev_size\":%u", b->expected_prev);
  if (b->problems & (HGI_P_TAIL | HGI_P_POISON))
    fprintf(out,
            ",\"%s\":{\"first\":%zu,\"last\":%zu,\"bad_bytes\":%zu,"
            "\"expected\":\"%02x\",\"found\":\"%02x\"}",
            b->problems & HGI_P_TAIL ? "tail" : "poison", b->damage.first,
            b->damage.last, b->damage_bytes, b->damage.expected,
            b->damage.found);
  if (b->links_checked) {
    fprintf(out, ",\"links\":[");
    for (int k = 0; k < 2; k++) {
      fprintf(out, "%s{\"target\":", k ? "," : "");
      jhex(out, b->link[k]);
      fprintf(out, ",\"status\":");
      jstr(out, hgi_link_status_name(b->link_status[k]));
      fprintf(out, ",\"bad\":%s}", hgi_link_is_bad(b->link_status[k]) ? "true" : "false");
    }
    fputc(']', out);
  }
  if (!ok) {
    fprintf(out, ",\"resync\":{\"method\":");
    jstr(out, b->resync == HGI_RESYNC_PREV_SIZE ? "prev_size"
              : b->resync == HGI_RESYNC_SCAN    ? "scan"
                                                : "lost");
    fprintf(out, ",\"size_field_agrees\":%s}",
            b->size_field_agrees ? "true" : "false");
    fprintf(out, ",\"reconstructed\":");
    if (b->reconstructed)
      print_header(out, &b->original);
    else
      fprintf(out, "null");
  }
  fputc('}', out);
}

static void print_mark(FILE *out, const struct hgi_mark *m)
{
  fprintf(out, "{\"offset\":%zu,\"length\":%zu,", m->offset, m->length);
  if (m->owner != HGI_MARK_TABLE)
    fprintf(out, "\"%s\":%zu,", m->owner == HGI_MARK_BLOCK ? "block" : "slot", m->index);
  fprintf(out, "\"what\":");
  jstr(out, m->what);
  fprintf(out, ",\"expected\":\"");
  for (size_t i = 0; i < m->length; i++)
    if (m->known[i])
      fprintf(out, "%02x", m->expected[i]);
    else
      fprintf(out, "\?\?");
  fprintf(out, "\"}");
}

static void print_hexdumps(FILE *out, const struct hgi_dump *d,
                           const struct hgi_analysis *a)
{
  const struct hgi_image *img = &d->damaged;
  size_t bytes = 0, shown = 0;
  fprintf(out, "\"hexdumps\":[");
  for (size_t i = 0; i < a->window_count && shown < HGI_MAX_WINDOWS &&
                     bytes < HGI_MAX_HEXDUMP_BYTES;
       i++, shown++) {
    const struct hgi_window *w = &a->windows[i];
    size_t n = w->length;
    if (n > HGI_MAX_HEXDUMP_BYTES - bytes)
      n = HGI_MAX_HEXDUMP_BYTES - bytes;
    bytes += n;
    fprintf(out, "%s{\"offset\":%zu,\"address\":", i ? "," : "", w->offset);
    jhex(out, img->address + w->offset);
    fprintf(out, ",\"bytes\":\"");
    for (size_t k = 0; k < n; k++)
      fprintf(out, "%02x", img->bytes[w->offset + k]);
    fprintf(out, "\",\"marks\":[");
    const char *sep = "";
    for (size_t j = 0; j < a->mark_count; j++) {
      const struct hgi_mark *m = &a->marks[j];
      if (m->offset < w->offset || m->offset >= w->offset + n)
        continue;
      fputs(sep, out);
      print_mark(out, m);
      sep = ",";
    }
    fprintf(out, "]}");
  }
  fprintf(out, "],\"hexdumps_omitted\":%zu,\"marks_dropped\":%zu",
          a->window_count - shown, a->marks_dropped);
}

void hgi_print_json(FILE *out, const char *name, const struct hgi_dump *d,
                    const struct hgi_analysis *a)
{
  fprintf(out, "{\"tool\":\"heapguard-inspect\",\"file\":{\"name\":");
  jstr(out, name);
  fprintf(out,
          ",\"size\":%zu,\"format_version\":%u,\"sections\":%u,"
          "\"skipped_sections\":%u},",
          d->file_size, d->version, d->sections, d->skipped_sections);
  print_process(out, &d->process);
  fputc(',', out);
  print_report(out, d, a);
  fputc(',', out);
  print_segment(out, d, a);
  fprintf(out, ",\"blocks\":[");
  for (size_t i = 0; i < a->block_count; i++) {
    if (i)
      fputc(',', out);
    print_block(out, &a->blocks[i], i);
  }
  fprintf(out, "],");
  print_hexdumps(out, d, a);
  fprintf(out, ",\"neighbours\":[");
  for (unsigned i = 0; i < d->neighbour_count; i++) {
    if (i)
      fputc(',', out);
    print_meta(out, &d->neighbours[i], a->neighbour_fault[i]);
  }
  fprintf(out, "],\"report_text\":");
  if (d->has_text)
    hgi_json_string(out, d->text, d->text_length);
  else
    fprintf(out, "null");
  fprintf(out, ",\"problems\":%zu,\"damage_found\":%s}\n", a->problems,
          a->problems ? "true" : "false");
}
