/*
 * report.c - composing and delivering reports.
 */
#define _GNU_SOURCE
#include "report.h"

#include <sched.h>
#include <stdatomic.h>

#include "backtrace.h"
#include "block.h"
#include "dump.h"
#include "options.h"
#include "os.h"
#include "runtime.h"
#include "segment.h"

static const char *const class_names[] = {
  [HEAPGUARD_OK] = "no-error",
  [HEAPGUARD_HEAP_BUFFER_OVERFLOW] = "heap-buffer-overflow",
  [HEAPGUARD_DOUBLE_FREE] = "double-free",
  [HEAPGUARD_INVALID_FREE] = "invalid-free",
  [HEAPGUARD_METADATA_CORRUPTION] = "metadata-corruption",
  [HEAPGUARD_USE_AFTER_FREE] = "heap-use-after-free",
  [HEAPGUARD_ALLOC_DEALLOC_MISMATCH] = "alloc-dealloc-mismatch",
  [HEAPGUARD_SEGMENT_CORRUPTION] = "segment-corruption",
};

HG_EXPORT const char *heapguard_bug_class_name(enum heapguard_bug_class c)
{
  return (unsigned)c < sizeof class_names / sizeof *class_names ? class_names[c]
                                                                : "unknown";
}

static const char *kind_name(uint64_t kind)
{
  switch (kind) {
  case HG_KIND_MALLOC:
    return "malloc";
  case HG_KIND_NEW:
    return "operator new";
  case HG_KIND_NEW_ARRAY:
    return "operator new[]";
  default:
    return "an unknown call";
  }
}

static const char *state_name(uint16_t state)
{
  return state == HG_STATE_USED ? "used" : state == HG_STATE_FREE ? "free" : "unknown";
}

static void line_start(struct hg_buf *out)
{
  hg_buf_str(out, "  ");
}

static void describe_overflow(struct hg_buf *out, const struct heapguard_finding *f)
{
  uint64_t first = (uint64_t)f->offset;
  line_start(out);
  hg_buf_dec(out, f->extent);
  hg_buf_str(out, f->extent == 1 ? " byte" : " bytes");
  hg_buf_str(out, " written past the end of a ");
  hg_buf_dec(out, f->requested);
  hg_buf_str(out, "-byte block, at offsets ");
  hg_buf_dec(out, first);
  hg_buf_str(out, " to ");
  hg_buf_dec(out, first + f->extent - 1);
  hg_buf_str(out, " of its data\n");
  line_start(out);
  hg_buf_str(out, "trailing canary at ");
  hg_buf_hex(out, f->block + HG_HEADER_SIZE + first);
  hg_buf_str(out, ": expected ");
  hg_buf_hex(out, f->expected);
  hg_buf_str(out, ", found ");
  hg_buf_hex(out, f->found);
  hg_buf_char(out, '\n');
}

static void describe_expected_found(struct hg_buf *out,
                                    const struct heapguard_finding *f)
{
  line_start(out);
  hg_buf_str(out, "check failed: ");
  hg_buf_str(out, f->what);
  hg_buf_str(out, ": expected ");
  hg_buf_hex(out, f->expected);
  hg_buf_str(out, ", found ");
  hg_buf_hex(out, f->found);
  hg_buf_char(out, '\n');
}

static void describe_invalid_free(struct hg_buf *out, const struct heapguard_finding *f)
{
  line_start(out);
  if (!f->block) {
    hg_buf_str(out, f->segment ? "address is inside a heapguard segment but in no block\n"
                               : "address is not in any heapguard segment (stack, global, "
                                 "or memory from another allocator)\n");
    return;
  }
  hg_buf_str(out, f->what);
  hg_buf_str(out, ": offset ");
  if (f->offset < 0) {
    hg_buf_char(out, '-');
    hg_buf_dec(out, (uint64_t)-f->offset);
  } else {
    hg_buf_dec(out, (uint64_t)f->offset);
  }
  hg_buf_str(out, " from the start of block data at ");
  hg_buf_hex(out, f->block + HG_HEADER_SIZE);
  hg_buf_char(out, '\n');
}

/* The header of a block as it reads now, damaged or not. */
static void describe_block(struct hg_buf *out, const char *label, uintptr_t addr)
{
  const struct hg_block *b = (const struct hg_block *)addr;
  line_start(out);
  hg_buf_str(out, label);
  hg_buf_str(out, " ");
  hg_buf_hex(out, addr);
  hg_buf_str(out, " (data ");
  hg_buf_hex(out, addr + HG_HEADER_SIZE);
  hg_buf_str(out, "): ");
  if (hg_block_verify(&hg_key, b) != HG_HEADER_OK) {
    hg_buf_str(out, "header damaged; it reads size ");
    hg_buf_dec(out, hg_block_bytes(b));
    hg_buf_str(out, ", prev size ");
    hg_buf_dec(out, (uint64_t)b->prev_size << HG_GRANULE_SHIFT);
    hg_buf_str(out, ", state ");
    hg_buf_hex(out, b->state);
    hg_buf_char(out, '\n');
    return;
  }
  hg_buf_dec(out, hg_block_bytes(b));
  hg_buf_str(out, " bytes, ");
  hg_buf_str(out, state_name(b->state));
  if (b->state == HG_STATE_USED) {
    hg_buf_str(out, ", ");
    hg_buf_dec(out, hg_block_requested(b));
    hg_buf_str(out, " bytes requested with ");
    hg_buf_str(out, kind_name(b->kind));
  }
  hg_buf_char(out, '\n');
}

static void describe_segment(struct hg_buf *out, uintptr_t addr)
{
  const struct hg_segment *s = (const struct hg_segment *)addr;
  line_start(out);
  hg_buf_str(out, "segment ");
  hg_buf_hex(out, addr);
  if (hg_segment_verify(&hg_key, s) != HG_SEGMENT_OK) {
    hg_buf_str(out, ": metadata damaged\n");
    return;
  }
  hg_buf_str(out, " (#");
  hg_buf_dec(out, s->seq);
  if (hg_segment_is_large(s)) {
    hg_buf_str(out, ", dedicated");
  } else {
    hg_buf_str(out, ", arena ");
    hg_buf_dec(out, s->owner);
  }
  hg_buf_str(out, ", ");
  hg_buf_dec(out, s->map_size);
  hg_buf_str(out, " bytes mapped, ");
  hg_buf_dec(out, s->used_blocks);
  hg_buf_str(out, " blocks in use)\n");
}

void hg_report_describe(struct hg_buf *out, const struct heapguard_finding *f)
{
  switch (f->bug_class) {
  case HEAPGUARD_HEAP_BUFFER_OVERFLOW:
    describe_overflow(out, f);
    break;
  case HEAPGUARD_INVALID_FREE:
    describe_invalid_free(out, f);
    break;
  case HEAPGUARD_DOUBLE_FREE:
    line_start(out);
    hg_buf_str(out, "the block was already freed (state free, expected used)\n");
    break;
  case HEAPGUARD_ALLOC_DEALLOC_MISMATCH:
    if (hg_strncmp(f->what, "allocation kind", 16) != 0) {
      describe_expected_found(out, f);
      break;
    }
    line_start(out);
    hg_buf_str(out, "allocated with ");
    hg_buf_str(out, kind_name(f->expected));
    hg_buf_str(out, ", released with a call that expects ");
    hg_buf_str(out, kind_name(f->found));
    hg_buf_char(out, '\n');
    break;
  default:
    describe_expected_found(out, f);
    break;
  }
  if (f->block)
    describe_block(out, "block", f->block);
  if (f->neighbour) {
    describe_block(out, "the block before it, the likely writer:", f->neighbour);
    struct hg_tail_damage d;
    const struct hg_block *n = (const struct hg_block *)f->neighbour;
    if (hg_block_verify(&hg_key, n) == HG_HEADER_OK && n->state == HG_STATE_USED &&
        !hg_tail_check(&hg_key, n, &d)) {
      line_start(out);
      hg_buf_str(out, "its trailing canary is damaged too, from offset ");
      hg_buf_dec(out, hg_block_requested(n) + d.first);
      hg_buf_str(out, ": it overflowed into this header\n");
    }
  }
  if (f->segment)
    describe_segment(out, f->segment);
}

static bool class_damages_metadata(enum heapguard_bug_class c)
{
  return c == HEAPGUARD_HEAP_BUFFER_OVERFLOW || c == HEAPGUARD_METADATA_CORRUPTION ||
         c == HEAPGUARD_SEGMENT_CORRUPTION || c == HEAPGUARD_USE_AFTER_FREE;
}

static int open_log(void)
{
  if (!hg_options.log_path[0])
    return 2;
  char path[HG_OPTION_STRING_MAX + 24];
  struct hg_buf b = { path, 0, sizeof path - 1 };
  hg_buf_str(&b, hg_options.log_path);
  hg_buf_char(&b, '.');
  hg_buf_dec(&b, (uint64_t)hg_os_getpid());
  path[b.len] = 0;
  int fd = hg_os_open_write(path, false);
  return fd >= 0 ? fd : 2;
}

static _Noreturn void finish(void)
{
  if (hg_options.exit_code)
    hg_os_exit((int)hg_options.exit_code);
  hg_os_abort();
}

/* One report at a time: a second thread that fails waits for the first. */
static _Atomic int reporting;
static char text_storage[1 << 16];

_Noreturn void hg_report(const struct heapguard_finding *f)
{
  if (hg_tls_reentered) {
    static const char msg[] = "heapguard: a check failed while reporting; aborting\n";
    hg_os_write_all(2, msg, sizeof msg - 1);
    hg_os_abort();
  }
  hg_tls_reentered = true;
  if (atomic_exchange(&reporting, 1))
    for (;;)
      sched_yield();

  uintptr_t ips[HG_MAX_FRAMES];
  size_t frames = hg_backtrace_capture(ips, hg_options.backtrace_frames);
  struct hg_buf out = HG_BUF(text_storage);
  uint64_t pid = (uint64_t)hg_os_getpid();
  hg_buf_str(&out, "=================================================================\n==");
  hg_buf_dec(&out, pid);
  hg_buf_str(&out, "==ERROR: heapguard: ");
  hg_buf_str(&out, heapguard_bug_class_name(f->bug_class));
  hg_buf_str(&out, " in ");
  hg_buf_str(&out, f->operation ? f->operation : "a heap check");
  hg_buf_str(&out, "(");
  hg_buf_hex(&out, f->address);
  hg_buf_str(&out, ") by thread ");
  hg_buf_dec(&out, (uint64_t)hg_os_gettid());
  hg_buf_char(&out, '\n');
  hg_report_describe(&out, f);
  hg_buf_str(&out, "  backtrace:\n");
  hg_backtrace_format(&out, ips, frames);

  char path[HG_OPTION_STRING_MAX + 64];
  size_t text_len = out.len;
  if (hg_options.dump && class_damages_metadata(f->bug_class)) {
    if (hg_dump_write(f, out.p, text_len, path, sizeof path)) {
      hg_buf_str(&out, "  dump written to ");
      hg_buf_str(&out, path);
      hg_buf_str(&out, " (read it with: heapguard-inspect ");
      hg_buf_str(&out, path);
      hg_buf_str(&out, ")\n");
    } else {
      hg_buf_str(&out, "  no dump written: could not create a file in dump_dir=");
      hg_buf_str(&out, hg_options.dump_dir);
      hg_buf_char(&out, '\n');
    }
  }
  hg_buf_str(&out, "SUMMARY: heapguard: ");
  hg_buf_str(&out, heapguard_bug_class_name(f->bug_class));
  hg_buf_str(&out, " in ");
  hg_backtrace_first_function(&out, ips, frames);
  hg_buf_str(&out, "\n==");
  hg_buf_dec(&out, pid);
  if (hg_options.exit_code) {
    hg_buf_str(&out, "==EXITING with status ");
    hg_buf_dec(&out, hg_options.exit_code);
    hg_buf_char(&out, '\n');
  } else {
    hg_buf_str(&out, "==ABORTING\n");
  }
  int fd = open_log();
  hg_os_write_all(fd, out.p, out.len);
  finish();
}
