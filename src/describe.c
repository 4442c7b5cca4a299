/*
 * describe.c - the words for blocks, segments and damaged bytes.
 */
#include "describe.h"

#include "names.h"

static void line_start(struct hg_buf *out)
{
  hg_buf_str(out, "  ");
}

void hg_describe_header(struct hg_buf *out, const struct hg_key *key, const char *label,
                        uintptr_t addr, const char *state)
{
  const struct hg_block *b = (const struct hg_block *)addr;
  line_start(out);
  hg_buf_str(out, label);
  hg_buf_str(out, " ");
  hg_buf_hex(out, addr);
  hg_buf_str(out, " (data ");
  hg_buf_hex(out, addr + HG_HEADER_SIZE);
  hg_buf_str(out, "): ");
  if (hg_block_verify(key, b) != HG_HEADER_OK) {
    hg_buf_str(out, "header damaged; it reads size ");
    hg_buf_dec(out, hg_block_bytes(b));
    hg_buf_str(out, ", prev size ");
    hg_buf_dec(out, (uint64_t)b->prev_size << HG_GRANULE_SHIFT);
    hg_buf_str(out, ", state ");
    hg_buf_dec(out, b->state);
    hg_buf_char(out, '\n');
    return;
  }
  hg_buf_dec(out, hg_block_bytes(b));
  hg_buf_str(out, " bytes, ");
  hg_buf_str(out, state ? state : hg_state_name(b->state));
  if (b->state != HG_STATE_FREE) {
    hg_buf_str(out, ", ");
    hg_buf_dec(out, hg_block_requested(b));
    hg_buf_str(out, " bytes requested with ");
    hg_buf_str(out, hg_alloc_kind_name(b->kind));
  }
  hg_buf_char(out, '\n');
}

void hg_describe_block_and_neighbour(struct hg_buf *out, const struct hg_key *key,
                                     const struct heapguard_finding *f, const char *state)
{
  if (f->block)
    hg_describe_header(out, key, "block", f->block, state);
  if (!f->neighbour)
    return;
  hg_describe_header(out, key, "the block before it, the likely writer:", f->neighbour, NULL);
  struct hg_damage d;
  uint64_t pattern;
  const struct hg_block *n = (const struct hg_block *)f->neighbour;
  if (hg_block_verify_at(key, n, f->neighbour, &pattern) == HG_HEADER_OK &&
      n->state == HG_STATE_USED && !hg_tail_check(n, pattern, &d)) {
    line_start(out);
    hg_buf_str(out, "its trailing canary is damaged too, from offset ");
    hg_buf_dec(out, hg_block_requested(n) + d.first);
    hg_buf_str(out, ": it overflowed into this header\n");
  }
}

void hg_describe_segment(struct hg_buf *out, const struct hg_segment *s, const char *one,
                         const char *many, uint64_t count)
{
  line_start(out);
  hg_buf_str(out, "segment ");
  hg_buf_hex(out, (uintptr_t)s);
  hg_buf_str(out, " (#");
  hg_buf_dec(out, s->seq);
  hg_buf_str(out, ", ");
  if (s->kind == HG_SEGMENT_SHARED) {
    hg_buf_str(out, "arena ");
    hg_buf_dec(out, s->arena);
  } else {
    hg_buf_str(out, hg_segment_kind_name(s->kind));
  }
  hg_buf_str(out, ", ");
  hg_buf_dec(out, s->map_size);
  hg_buf_str(out, " bytes mapped");
  if (one) {
    hg_buf_str(out, ", ");
    hg_buf_dec(out, count);
    hg_buf_str(out, count == 1 ? one : many);
  }
  hg_buf_str(out, ")\n");
}

void hg_describe_damaged_bytes(struct hg_buf *out, const struct heapguard_finding *f,
                               uintptr_t data, const char *how, const char *where,
                               const char *guard)
{
  line_start(out);
  hg_buf_dec(out, f->extent);
  hg_buf_str(out, f->extent == 1 ? " byte" : " bytes");
  hg_buf_str(out, how);
  hg_buf_dec(out, f->requested);
  hg_buf_str(out, "-byte block, at offsets ");
  hg_buf_sdec(out, f->offset);
  hg_buf_str(out, " to ");
  hg_buf_sdec(out, f->offset + (intptr_t)f->extent - 1);
  hg_buf_str(out, " of its data");
  hg_buf_str(out, where);
  hg_buf_char(out, '\n');
  line_start(out);
  hg_buf_str(out, guard);
  hg_buf_str(out, " at ");
  hg_buf_hex(out, data + (uintptr_t)f->offset);
  hg_buf_str(out, ": expected ");
  hg_buf_hex(out, f->expected);
  hg_buf_str(out, ", found ");
  hg_buf_hex(out, f->found);
  hg_buf_char(out, '\n');
}
