/*
 * report.c - composing and delivering reports.
 */
#define _GNU_SOURCE
#include "report.h"

#include <stdatomic.h>

#include "backtrace.h"
#include "block.h"
#include "describe.h"
#include "dump.h"
#include "flush.h"
#include "heap.h"
#include "log.h"
#include "names.h"
#include "options.h"
#include "os.h"
#include "runtime.h"
#include "stackdepot.h"
#include "suppress.h"

HG_EXPORT const char *heapguard_bug_class_name(enum heapguard_bug_class c)
{
  return hg_bug_class_name((uint32_t)c);
}

static void line_start(struct hg_buf *out)
{
  hg_buf_str(out, "  ");
}

static void describe_expected_found(struct hg_buf *out, const struct heapguard_finding *f)
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

/* The first byte of the block's data: after its header, or (no header) the address. */
static uintptr_t data_of(const struct heapguard_finding *f)
{
  return f->block ? f->block + HG_HEADER_SIZE : f->address;
}

static void describe_pointer(struct hg_buf *out, const struct heapguard_finding *f)
{
  line_start(out);
  hg_buf_str(out, f->what);
  hg_buf_str(out, ": offset ");
  hg_buf_sdec(out, f->offset);
  hg_buf_str(out, " from the start of block data at ");
  hg_buf_hex(out, f->block ? f->block + HG_HEADER_SIZE : f->address - (uintptr_t)f->offset);
  hg_buf_char(out, '\n');
}

/* "allocated with X, released with Y (use Z)", then the check's own words. */
static void describe_mismatch(struct hg_buf *out, const struct heapguard_finding *f,
                              const struct hg_check_info *info)
{
  const char *op = hg_release_name((uint16_t)f->found);
  if (f->operation && info->show == HG_SHOW_MISMATCH)
    op = f->operation;
  line_start(out);
  hg_buf_str(out, "allocated with ");
  hg_buf_str(out, hg_alloc_kind_name((uint16_t)f->expected));
  hg_buf_str(out, ", released with ");
  hg_buf_str(out, op);
  if (hg_strncmp(op, hg_release_name((uint16_t)f->found), 32) != 0) {
    hg_buf_str(out, ", which pairs with ");
    hg_buf_str(out, hg_alloc_kind_name((uint16_t)f->found));
  }
  hg_buf_str(out, " (use ");
  hg_buf_str(out, hg_release_name((uint16_t)f->expected));
  hg_buf_str(out, ")\n");
  if (info->show == HG_SHOW_MISMATCH && info->detail[0]) {
    line_start(out);
    hg_buf_str(out, info->detail);
    hg_buf_char(out, '\n');
  }
}

static void describe_size(struct hg_buf *out, const struct heapguard_finding *f)
{
  line_start(out);
  hg_buf_str(out, f->operation ? f->operation : "operator delete");
  hg_buf_str(out, " was given size ");
  hg_buf_dec(out, f->found);
  hg_buf_str(out, ", but the block was allocated with size ");
  hg_buf_dec(out, f->expected);
  hg_buf_char(out, '\n');
}

/* "READ of address X: offset N of a R-byte block, K bytes after its end; ..." */
static void describe_access(struct hg_buf *out, const struct heapguard_finding *f,
                            const struct hg_check_info *info)
{
  line_start(out);
  hg_buf_str(out, f->operation ? f->operation : "access");
  hg_buf_str(out, " of address ");
  hg_buf_hex(out, f->address);
  bool freed = f->check == HG_CHECK_GUARD_FREED || f->check == HG_CHECK_LARGE_FREED ||
               f->check == HG_CHECK_GUARD_FREED_ARRAY_COUNT;
  bool names_a_block = f->check == HG_CHECK_GUARD_PAGE || freed ||
                       f->check == HG_CHECK_GUARD_ARRAY_COUNT;
  if (!names_a_block) {
    hg_buf_str(out, info->detail);
    hg_buf_char(out, '\n');
    return;
  }
  hg_buf_str(out, ": offset ");
  hg_buf_sdec(out, f->offset);
  hg_buf_str(out, " of a ");
  hg_buf_dec(out, f->requested);
  hg_buf_str(out, "-byte block");
  if (freed) {
    hg_buf_str(out, info->detail);
  } else if (f->check == HG_CHECK_GUARD_ARRAY_COUNT) {
    hg_buf_str(out, ", 8 bytes before its start");
    hg_buf_str(out, info->detail);
    hg_buf_char(out, '\n');
    describe_mismatch(out, f, info);
    return;
  } else if (f->offset < 0) {
    hg_buf_str(out, ", ");
    hg_buf_dec(out, (uint64_t)-f->offset);
    hg_buf_str(out, f->offset == -1 ? " byte" : " bytes");
    hg_buf_str(out, " before its start; it hit the guard page before the block");
  } else {
    uint64_t after = (uint64_t)f->offset - f->requested;
    hg_buf_str(out, ", ");
    hg_buf_dec(out, after);
    hg_buf_str(out, after == 1 ? " byte" : " bytes");
    hg_buf_str(out, " after its end; it hit the guard page after the block");
  }
  hg_buf_char(out, '\n');
}

/* "malloc was asked for N bytes (0x...), more than max_allocation=M" */
static void describe_size_limit(struct hg_buf *out, const struct heapguard_finding *f)
{
  line_start(out);
  if (f->check == HG_CHECK_CALLOC_OVERFLOW) {
    hg_buf_str(out, "calloc(");
    hg_buf_dec(out, f->expected);
    hg_buf_str(out, ", ");
    hg_buf_dec(out, f->found);
    hg_buf_str(out, "): the element count times the size does not fit in size_t\n");
    return;
  }
  hg_buf_str(out, f->operation ? f->operation : "an allocation");
  hg_buf_str(out, " was asked for ");
  hg_buf_dec(out, f->found);
  hg_buf_str(out, " bytes (");
  hg_buf_hex(out, f->found);
  hg_buf_str(out, "), more than max_allocation=");
  hg_buf_dec(out, f->expected);
  if (f->found > (uint64_t)INT64_MAX)
    hg_buf_str(out, ": a negative size converted to size_t?");
  hg_buf_char(out, '\n');
}

static void describe_guard_table(struct hg_buf *out, const struct heapguard_finding *f)
{
  line_start(out);
  hg_buf_str(out, "check failed: guard slot table: first slot at ");
  hg_buf_hex(out, f->expected);
  hg_buf_str(out, ", slot count ");
  hg_buf_dec(out, f->found);
  hg_buf_char(out, '\n');
}

/* The lines that say what the failed check found, in the words of its style. */
static void describe_check(struct hg_buf *out, const struct heapguard_finding *f,
                           const struct hg_check_info *info)
{
  switch (info->show) {
  case HG_SHOW_VALUES:
    describe_expected_found(out, f);
    break;
  case HG_SHOW_DAMAGE_AFTER:
    hg_describe_damaged_bytes(out, f, data_of(f), " written past the end of a ", info->detail,
                              "trailing canary");
    break;
  case HG_SHOW_DAMAGE_BEFORE:
    hg_describe_damaged_bytes(out, f, data_of(f), " written before the start of a ",
                              info->detail, "leading canary");
    break;
  case HG_SHOW_DAMAGE_FREED:
    hg_describe_damaged_bytes(out, f, data_of(f), " written after free to a ", info->detail,
                              "poison");
    break;
  case HG_SHOW_FREED:
    line_start(out);
    hg_buf_str(out, "the block was already freed");
    hg_buf_str(out, info->detail);
    hg_buf_char(out, '\n');
    break;
  case HG_SHOW_POINTER:
    describe_pointer(out, f);
    break;
  case HG_SHOW_FOREIGN:
    line_start(out);
    hg_buf_str(out, info->detail);
    hg_buf_char(out, '\n');
    break;
  case HG_SHOW_MISMATCH:
    describe_mismatch(out, f, info);
    break;
  case HG_SHOW_SIZE:
    describe_size(out, f);
    break;
  case HG_SHOW_ACCESS:
    describe_access(out, f, info);
    break;
  case HG_SHOW_GUARD_TABLE:
    describe_guard_table(out, f);
    break;
  case HG_SHOW_SIZE_LIMIT:
    describe_size_limit(out, f);
    break;
  }
}

void hg_report_describe(struct hg_buf *out, const struct heapguard_finding *f)
{
  const struct hg_check_info *info = hg_check_info(f->check);
  if (info)
    describe_check(out, f, info);
  hg_heap_describe(out, f);
}

/* A finding that says a segment's memory was damaged: the segment is dumped. */
static bool finding_damages_segment(const struct heapguard_finding *f)
{
  const struct hg_check_info *info = hg_check_info(f->check);
  return info && info->dump && f->segment;
}

/* One report at a time: a second thread that fails waits for the first. */
static _Atomic int reporting;
static HG_LARGE_BSS char text_storage[1 << 16];

static _Noreturn void finish(void)
{
  if (hg_options.exit_code)
    hg_os_exit((int)hg_options.exit_code);
  hg_os_abort();
}

static void describe_stack(struct hg_buf *out, const char *what, uint32_t id)
{
  uintptr_t ips[HG_STACK_FRAMES];
  size_t n;
  uint32_t tid;
  if (!hg_stack_get(id, ips, &n, &tid))
    return;
  line_start(out);
  hg_buf_str(out, what);
  hg_buf_str(out, " by thread ");
  hg_buf_dec(out, tid);
  hg_buf_str(out, " at:\n");
  hg_backtrace_format(out, ips, n);
}

/* ---- JSON ---- */

static void json_str_or_null(struct hg_buf *out, const char *key, const char *value)
{
  hg_json_key(out, key);
  if (value)
    hg_json_str(out, value);
  else
    hg_buf_str(out, "null");
}

void hg_report_json_frames(struct hg_buf *out, const char *key, const uintptr_t *ips,
                            size_t n)
{
  hg_json_key(out, key);
  hg_backtrace_json(out, ips, n);
}

static void json_stack(struct hg_buf *out, const char *key, uint32_t id)
{
  uintptr_t ips[HG_STACK_FRAMES];
  size_t n;
  uint32_t tid;
  bool known = hg_stack_get(id, ips, &n, &tid);
  hg_json_key(out, key);
  if (!known) {
    hg_buf_str(out, "null");
    return;
  }
  hg_buf_char(out, '{');
  hg_json_dec(out, "thread", tid);
  hg_report_json_frames(out, "backtrace", ips, n);
  hg_buf_char(out, '}');
}

/* The description lines of the text report, as an array of strings. */
static void json_description(struct hg_buf *out, const struct heapguard_finding *f)
{
  static HG_LARGE_BSS char lines[8192];
  struct hg_buf text = HG_BUF(lines);
  hg_report_describe(&text, f);
  hg_json_key(out, "description");
  hg_buf_char(out, '[');
  size_t start = 0;
  bool first = true;
  for (size_t i = 0; i < text.len; i++) {
    if (lines[i] != '\n')
      continue;
    lines[i] = 0;
    if (!first)
      hg_buf_char(out, ',');
    first = false;
    size_t skip = start;
    while (skip < i && lines[skip] == ' ')
      skip++;
    hg_json_str(out, lines + skip);
    start = i + 1;
  }
  hg_buf_char(out, ']');
}

/*
 * When a finding was made: in a call of the program, or where none runs
 * (a thread's end, the heap check at exit). A finding of the latter is
 * placed by the allocation of its block, not by the backtrace.
 */
enum when { IN_CALL, AT_THREAD_END, AT_EXIT };

/* Where no program frame ran: the heap check at exit, or a thread's end. */
static void json_when(struct hg_buf *out, enum when when)
{
  hg_json_key(out, "at_exit");
  hg_buf_str(out, when == AT_EXIT ? "true" : "false");
  hg_json_key(out, "at_thread_end");
  hg_buf_str(out, when == AT_THREAD_END ? "true" : "false");
}

static void compose_json(struct hg_buf *out, const struct heapguard_finding *f,
                         const uintptr_t *ips, size_t frames, enum when when,
                         const char *dump)
{
  hg_buf_char(out, '{');
  hg_json_key(out, "heapguard");
  hg_json_str(out, HEAPGUARD_VERSION_STRING);
  hg_json_dec(out, "pid", (uint64_t)hg_os_getpid());
  hg_json_dec(out, "tid", (uint64_t)hg_os_gettid());
  hg_json_key(out, "class");
  hg_json_str(out, heapguard_bug_class_name(f->bug_class));
  hg_json_key(out, "operation");
  hg_json_str(out, f->operation ? f->operation : "a heap check");
  hg_json_hex(out, "address", f->address);
  json_str_or_null(out, "check", f->what);
  hg_json_dec(out, "check_id", f->check);
  hg_json_hex(out, "expected", f->expected);
  hg_json_hex(out, "found", f->found);
  hg_json_key(out, "offset");
  hg_buf_sdec(out, f->offset);
  hg_json_dec(out, "extent", f->extent);
  hg_json_dec(out, "requested", f->requested);
  hg_json_hex(out, "block", f->block);
  hg_json_hex(out, "neighbour", f->neighbour);
  hg_json_hex(out, "segment", f->segment);
  json_description(out, f);
  json_when(out, when);
  hg_report_json_frames(out, "backtrace", ips, frames);
  json_stack(out, "allocated_by", f->alloc_stack);
  json_stack(out, "freed_by", f->free_stack);
  json_stack(out, "neighbour_allocated_by", f->neighbour_stack);
  json_str_or_null(out, "dump", dump);
  hg_buf_str(out, "}\n");
}

/* ---- text ---- */

/*
 * What a SUMMARY line names: the first program frame of the backtrace or,
 * at a thread's end or at exit, where the block (else the block before it)
 * was allocated.
 */
struct place {
  const char *words;
  bool named;      /* a frame follows the words */
  uintptr_t frame; /* 0: unknown */
};

static struct place place_of(const struct heapguard_finding *f, const uintptr_t *ips,
                             size_t n, enum when when)
{
  if (when == IN_CALL)
    return (struct place){ " in ", true, n ? ips[hg_backtrace_summary_frame(ips, n)] : 0 };
  /* Static words: the summary of a run that went on compares them by address. */
  static const char *const words[][3] = {
    [AT_THREAD_END] = { " at the end of a thread",
                        " at the end of a thread, in a block allocated in ",
                        " at the end of a thread, after a block allocated in " },
    [AT_EXIT] = { " at exit", " at exit, in a block allocated in ",
                  " at exit, after a block allocated in " },
  };
  uintptr_t alloc[HG_STACK_FRAMES];
  uint32_t tid;
  bool own = f->alloc_stack != 0;
  if (!hg_stack_get(own ? f->alloc_stack : f->neighbour_stack, alloc, &n, &tid) || !n)
    return (struct place){ words[when][0], false, 0 };
  return (struct place){ words[when][own ? 1 : 2], true,
                         alloc[hg_backtrace_summary_frame(alloc, n)] };
}

static void place_text(struct hg_buf *out, const struct place *p)
{
  hg_buf_str(out, p->words);
  if (p->named)
    hg_backtrace_summary_name(out, &p->frame, p->frame != 0);
}

static void compose_text(struct hg_buf *out, const struct heapguard_finding *f,
                         const uintptr_t *ips, size_t frames, enum when when,
                         const char *dump, bool dump_failed)
{
  uint64_t pid = (uint64_t)hg_os_getpid();
  hg_buf_str(out, "=================================================================\n==");
  hg_buf_dec(out, pid);
  hg_buf_str(out, "==ERROR: heapguard: ");
  hg_buf_str(out, heapguard_bug_class_name(f->bug_class));
  hg_buf_str(out, " in ");
  hg_buf_str(out, f->operation ? f->operation : "a heap check");
  /* At exit the address is the damaged block's, which the report names. */
  if (f->address && when != AT_EXIT) {
    hg_buf_str(out, "(");
    hg_buf_hex(out, f->address);
    hg_buf_str(out, ")");
  }
  hg_buf_str(out, " by thread ");
  hg_buf_dec(out, (uint64_t)hg_os_gettid());
  hg_buf_char(out, '\n');
  hg_report_describe(out, f);
  if (when == AT_EXIT) {
    hg_buf_str(out, "  found by the heap check at exit, after the program's last call\n");
  } else if (when == AT_THREAD_END) {
    hg_buf_str(out, "  found as this thread ended, after its last call\n");
  } else {
    hg_buf_str(out, "  backtrace:\n");
    hg_backtrace_format(out, ips, frames);
  }
  describe_stack(out, "the block was allocated", f->alloc_stack);
  describe_stack(out, "the block was freed", f->free_stack);
  describe_stack(out, "the block before it was allocated", f->neighbour_stack);
  if (dump) {
    hg_buf_str(out, "  dump written to ");
    hg_buf_str(out, dump);
    hg_buf_str(out, " (read it with: heapguard-inspect ");
    hg_buf_str(out, dump);
    hg_buf_str(out, ")\n");
  } else if (dump_failed) {
    hg_buf_str(out, "  no dump written: could not create a file in dump_dir=");
    hg_buf_str(out, hg_options.dump_dir);
    hg_buf_char(out, '\n');
  }
  hg_buf_str(out, "SUMMARY: heapguard: ");
  hg_buf_str(out, heapguard_bug_class_name(f->bug_class));
  struct place where = place_of(f, ips, frames, when);
  place_text(out, &where);
  hg_buf_str(out, "\n==");
  hg_buf_dec(out, pid);
  if (!hg_options.halt_on_error) {
    hg_buf_str(out, "==CONTINUING (halt_on_error=0)\n");
  } else if (hg_options.exit_code) {
    hg_buf_str(out, "==EXITING with status ");
    hg_buf_dec(out, hg_options.exit_code);
    hg_buf_char(out, '\n');
  } else {
    hg_buf_str(out, "==ABORTING\n");
  }
}

/* ---- the summary of a run that continued after reports ---- */

#define SUMMARY_SLOTS 64u

struct summary_entry {
  enum heapguard_bug_class bug_class;
  struct place where;
  enum when when;
  uint64_t count;
};

static HG_LARGE_BSS struct summary_entry summary[SUMMARY_SLOTS];
static unsigned summary_used;
static uint64_t summary_total;

/*
 * With halt_on_error=0 a release refused by its checks leaves the block
 * allocated and out of use: the program gave it up and the report says
 * why, so the leak check does not count it again. Findings about freed
 * blocks (double free, write after free) keep nothing.
 */
#define KEPT_SLOTS 256u

struct kept_block {
  uintptr_t address; /* the pointer the program passed */
  uint32_t stack;    /* the block's allocation stack, 0 unknown */
};

static HG_LARGE_BSS struct kept_block kept[KEPT_SLOTS];
static unsigned kept_used;

static void note_kept(const struct heapguard_finding *f)
{
  bool names_a_block = f->block || f->segment; /* a guarded block has no header */
  if (names_a_block && f->address && f->bug_class != HEAPGUARD_DOUBLE_FREE &&
      f->bug_class != HEAPGUARD_USE_AFTER_FREE && kept_used < KEPT_SLOTS)
    kept[kept_used++] = (struct kept_block){ f->address, f->alloc_stack };
}

bool hg_report_kept(uintptr_t start, uintptr_t end, uint32_t stack)
{
  for (unsigned i = 0; i < kept_used; i++)
    if (kept[i].address >= start && kept[i].address < end &&
        (!kept[i].stack || kept[i].stack == stack))
      return true;
  return false;
}

bool hg_report_refused_before(const struct heapguard_finding *f)
{
  uintptr_t start = f->block ? f->block : f->address;
  return start && hg_report_kept(start, data_of(f) + f->requested + 1, f->alloc_stack);
}

static void remember(const struct heapguard_finding *f, const uintptr_t *ips, size_t n,
                     enum when when)
{
  note_kept(f);
  struct place where = place_of(f, ips, n, when);
  summary_total++;
  for (unsigned i = 0; i < summary_used; i++) {
    if (summary[i].bug_class == f->bug_class && summary[i].where.frame == where.frame &&
        summary[i].where.words == where.words) {
      summary[i].count++;
      return;
    }
  }
  if (summary_used < SUMMARY_SLOTS)
    summary[summary_used++] = (struct summary_entry){ f->bug_class, where, when, 1 };
}

uint64_t hg_report_count(void)
{
  return summary_total;
}

static void summary_text(struct hg_buf *out)
{
  hg_log_line_start(out);
  hg_buf_str(out, ": ");
  hg_buf_dec(out, summary_total);
  hg_buf_str(out, summary_total == 1 ? " report, " : " reports, ");
  hg_buf_dec(out, summary_used);
  hg_buf_str(out, " distinct:\n");
  for (unsigned i = 0; i < summary_used; i++) {
    hg_buf_str(out, "  ");
    hg_buf_dec(out, summary[i].count);
    hg_buf_str(out, " x ");
    hg_buf_str(out, heapguard_bug_class_name(summary[i].bug_class));
    place_text(out, &summary[i].where);
    hg_buf_char(out, '\n');
  }
}

static void summary_json(struct hg_buf *out)
{
  hg_buf_char(out, '{');
  hg_json_key(out, "summary");
  hg_buf_char(out, '{');
  hg_json_dec(out, "pid", (uint64_t)hg_os_getpid());
  hg_json_dec(out, "reports", summary_total);
  hg_json_key(out, "distinct");
  hg_buf_char(out, '[');
  for (unsigned i = 0; i < summary_used; i++) {
    static char where[1024];
    struct hg_buf w = HG_BUF(where);
    hg_backtrace_summary_name(&w, &summary[i].where.frame, summary[i].where.frame != 0);
    where[w.len < sizeof where ? w.len : sizeof where - 1] = 0;
    if (i)
      hg_buf_char(out, ',');
    hg_buf_char(out, '{');
    hg_json_key(out, "class");
    hg_json_str(out, heapguard_bug_class_name(summary[i].bug_class));
    hg_json_key(out, "function");
    hg_json_str(out, where);
    json_when(out, summary[i].when);
    hg_json_dec(out, "count", summary[i].count);
    hg_buf_char(out, '}');
  }
  hg_buf_str(out, "]}}\n");
}

void hg_report_exit_summary(void)
{
  if (!summary_total)
    return;
  hg_tls_reentered = true;
  struct hg_buf out = HG_BUF(text_storage);
  if (hg_options.report_format == HG_REPORT_JSON)
    summary_json(&out);
  else
    summary_text(&out);
  int fd = hg_log_open();
  hg_log_write(fd, out.p, out.len);
  hg_log_close(fd);
  hg_tls_reentered = false;
}

/*
 * Whether a suppression rule matches the finding's stack: the call that
 * found it, or where none of the program's runs (a thread's end, the heap
 * check at exit) where the block was allocated.
 */
static bool suppressed(const struct heapguard_finding *f, const uintptr_t *ips, size_t frames,
                       enum when when)
{
  if (!hg_suppress_any(f->bug_class))
    return false;
  if (when == IN_CALL)
    return hg_suppress_match(f->bug_class, ips, frames, 0);
  uintptr_t alloc[HG_STACK_FRAMES];
  size_t n;
  uint32_t tid;
  return hg_stack_get(f->alloc_stack, alloc, &n, &tid) &&
         hg_suppress_match(f->bug_class, alloc, n, 0);
}

static void report(const struct heapguard_finding *f, enum when when)
{
  if (hg_tls_reentered) {
    static const char msg[] = "heapguard: a check failed while reporting; aborting\n";
    hg_os_write_all(2, msg, sizeof msg - 1);
    hg_os_abort();
  }
  hg_tls_reentered = true;
  int expected = 0;
  while (!atomic_compare_exchange_weak(&reporting, &expected, 1)) {
    expected = 0;
    hg_os_yield();
  }

  uintptr_t ips[HG_MAX_FRAMES];
  size_t frames = 0;
  if (when == IN_CALL)
    frames = hg_backtrace_capture(ips, hg_suppress_any(f->bug_class)
                                         ? HG_MAX_FRAMES
                                         : hg_options.backtrace_frames);
  if (suppressed(f, ips, frames, when)) {
    /* As with halt_on_error=0: the caller goes on, the damaged block out of use. */
    note_kept(f);
    atomic_store(&reporting, 0);
    hg_tls_reentered = false;
    return;
  }
  struct hg_buf out = HG_BUF(text_storage);
  char path[HG_OPTION_STRING_MAX + 64];
  const char *dump = NULL;
  bool dump_failed = false;
  if (hg_options.dump && finding_damages_segment(f)) {
    /* The dump carries the text report, so compose it once without the path. */
    compose_text(&out, f, ips, frames, when, NULL, false);
    if (hg_dump_write(f, out.p, out.len, path, sizeof path))
      dump = path;
    else
      dump_failed = true;
    out.len = 0;
  }
  if (hg_options.report_format == HG_REPORT_JSON)
    compose_json(&out, f, ips, frames, when, dump);
  else
    compose_text(&out, f, ips, frames, when, dump, dump_failed);
  /* What the program printed before the bug comes before the report. */
  if (hg_options.halt_on_error)
    hg_flush_before_death();
  int fd = hg_log_open();
  hg_log_write(fd, out.p, out.len);
  hg_log_close(fd);
  remember(f, ips, frames, when);
  if (hg_options.halt_on_error)
    finish();
  atomic_store(&reporting, 0);
  hg_tls_reentered = false;
}

/*
 * Kept out of line: these three are where a debugger breaks on every
 * finding (docs/debugging.md), before anything is written.
 */
__attribute__((noinline)) void hg_report(const struct heapguard_finding *f)
{
  report(f, IN_CALL);
}

__attribute__((noinline)) void hg_report_at_thread_end(const struct heapguard_finding *f)
{
  report(f, AT_THREAD_END);
}

__attribute__((noinline)) void hg_report_at_exit(const struct heapguard_finding *f)
{
  report(f, AT_EXIT);
}
