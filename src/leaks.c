/*
 * leaks.c - the exit-time leak check: list, mark from the roots, group.
 */
#define _GNU_SOURCE
#include "leaks.h"

#include <dlfcn.h>
#include <link.h>
#include <sys/auxv.h>
#include <stdbool.h>
#include <stddef.h>

#include "heap.h"
#include "log.h"
#include "backtrace.h"
#include "fmt.h"
#include "options.h"
#include "os.h"
#include "report.h"
#include "runtime.h"
#include "stackdepot.h"
#include "suppress.h"

/* A used block's data, and whether a pointer to it was found. */
struct live {
  uintptr_t start, end;
  uint32_t stack;
  bool marked;
};

static struct live *live;
static size_t live_count, live_cap;
static uint32_t *worklist;
static size_t work_count;

static void count_block(uintptr_t data, size_t requested, uint32_t stack, void *arg)
{
  (void)data;
  (void)requested;
  (void)stack;
  (void)arg;
  live_cap++;
}

/* Segments are visited in address order, blocks within them too: sorted. */
static void list_block(uintptr_t data, size_t requested, uint32_t stack, void *arg)
{
  (void)arg;
  if (live_count == live_cap)
    return;
  live[live_count++] = (struct live){ data, data + (requested ? requested : 1), stack, false };
}

/* The block whose data contains v, or live_count. */
static size_t find_block(uintptr_t v)
{
  size_t lo = 0, hi = live_count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (live[mid].start <= v)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo && v < live[lo - 1].end ? lo - 1 : live_count;
}

static void scan_range(uintptr_t lo, uintptr_t hi)
{
  for (uintptr_t p = (lo + 7) & ~(uintptr_t)7; p + 8 <= hi; p += 8) {
    size_t i = find_block(*(const uintptr_t *)p);
    if (i < live_count && !live[i].marked) {
      live[i].marked = true;
      worklist[work_count++] = (uint32_t)i;
    }
  }
}

static void drain_worklist(void)
{
  while (work_count) {
    const struct live *l = &live[worklist[--work_count]];
    scan_range(l->start, l->end);
  }
}

static bool is_root_segment(const struct dl_phdr_info *info, const ElfW(Phdr) *ph)
{
  return ph->p_type == PT_LOAD && (ph->p_flags & PF_W) &&
         !hg_backtrace_is_own(info->dlpi_addr + ph->p_vaddr + 1);
}

/*
 * Roots: the writable segments of every module but heapguard itself, and
 * the exiting thread's copy of each module's thread-local data (libc keeps
 * per-thread buffers there).
 */
static int scan_module(struct dl_phdr_info *info, size_t size, void *arg)
{
  (void)size;
  (void)arg;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t start = info->dlpi_addr + ph->p_vaddr;
    if (is_root_segment(info, ph))
      scan_range(start, start + ph->p_memsz);
    else if (ph->p_type == PT_TLS && info->dlpi_tls_data)
      scan_range((uintptr_t)info->dlpi_tls_data, (uintptr_t)info->dlpi_tls_data + ph->p_memsz);
    drain_worklist();
  }
  return 0;
}

extern void *__libc_stack_end;

/* The exiting thread's stack, when it is the main thread's. */
static void scan_stack(void)
{
  uintptr_t here = (uintptr_t)__builtin_frame_address(0);
  uintptr_t top = (uintptr_t)__libc_stack_end;
  if (hg_os_gettid() == hg_os_getpid() && here < top && top - here < ((size_t)1 << 28)) {
    scan_range(here, top);
    drain_worklist();
  }
}

struct group {
  uint32_t stack;
  uint64_t blocks;
  uint64_t bytes;
};

#define GROUPS 4096u
#define GROUPS_SHOWN 32u

static HG_LARGE_BSS struct group groups[GROUPS];
static uint64_t total_blocks, total_bytes, ungrouped_blocks;

/*
 * The dynamic loader allocates thread-local storage vectors and keeps them
 * in thread descriptors it caches in its own mappings, which the mark does
 * not scan: blocks it allocated directly are not counted (LeakSanitizer
 * makes the same exception).
 */
static bool allocated_by_loader(uint32_t stack)
{
  uintptr_t ips[HG_STACK_FRAMES];
  size_t n;
  uint32_t tid;
  Dl_info info;
  return hg_stack_get(stack, ips, &n, &tid) && n && dladdr((void *)(ips[0] - 1), &info) &&
         (uintptr_t)info.dli_fbase == getauxval(AT_BASE);
}

static void group_leak(const struct live *l)
{
  uint64_t bytes = l->end - l->start;
  total_blocks++;
  total_bytes += bytes;
  for (uint32_t i = 0; i < GROUPS; i++) {
    struct group *g = &groups[(l->stack * 2654435761u + i) % GROUPS];
    if (g->blocks && g->stack != l->stack)
      continue;
    g->stack = l->stack;
    g->blocks++;
    g->bytes += bytes;
    return;
  }
  ungrouped_blocks++;
}

/* The largest group not yet shown, or NULL. */
static struct group *take_largest(void)
{
  struct group *best = NULL;
  for (uint32_t i = 0; i < GROUPS; i++)
    if (groups[i].blocks && (!best || groups[i].bytes > best->bytes))
      best = &groups[i];
  return best;
}

static void group_text(struct hg_buf *out, const struct group *g)
{
  uintptr_t ips[HG_STACK_FRAMES];
  size_t n;
  uint32_t tid;
  bool known = hg_stack_get(g->stack, ips, &n, &tid);
  hg_buf_str(out, "\n  ");
  hg_buf_dec(out, g->bytes);
  hg_buf_str(out, " bytes in ");
  hg_buf_dec(out, g->blocks);
  hg_buf_str(out, g->blocks == 1 ? " block" : " blocks");
  if (!known) {
    hg_buf_str(out, " allocated where no stack was recorded (alloc_stacks=0?)\n");
    return;
  }
  hg_buf_str(out, " allocated by thread ");
  hg_buf_dec(out, tid);
  hg_buf_str(out, " at:\n");
  hg_backtrace_format(out, ips, n);
}

static void group_json(struct hg_buf *out, const struct group *g)
{
  uintptr_t ips[HG_STACK_FRAMES];
  size_t n;
  uint32_t tid = 0;
  bool known = hg_stack_get(g->stack, ips, &n, &tid);
  hg_buf_char(out, '{');
  hg_json_dec(out, "bytes", g->bytes);
  hg_json_dec(out, "blocks", g->blocks);
  hg_json_dec(out, "thread", tid);
  hg_report_json_frames(out, "backtrace", ips, known ? n : 0);
  hg_buf_char(out, '}');
}

/* Groups a suppression rule matches (by allocation stack) are not reported. */
static void drop_suppressed_groups(void)
{
  if (!hg_suppress_any(HG_SUPPRESS_LEAK))
    return;
  for (uint32_t i = 0; i < GROUPS; i++) {
    struct group *g = &groups[i];
    uintptr_t ips[HG_STACK_FRAMES];
    size_t n;
    uint32_t tid;
    if (g->blocks && hg_stack_get(g->stack, ips, &n, &tid) &&
        hg_suppress_match(HG_SUPPRESS_LEAK, ips, n, g->bytes)) {
      total_blocks -= g->blocks;
      total_bytes -= g->bytes;
      g->blocks = 0;
    }
  }
}

static HG_LARGE_BSS char text[1 << 17];

static void write_report(void)
{
  bool json = hg_options.report_format == HG_REPORT_JSON;
  struct hg_buf out = HG_BUF(text);
  if (json) {
    hg_buf_char(&out, '{');
    hg_json_key(&out, "class");
    hg_json_str(&out, "memory-leak");
    hg_json_dec(&out, "pid", (uint64_t)hg_os_getpid());
    hg_json_dec(&out, "bytes", total_bytes);
    hg_json_dec(&out, "blocks", total_blocks);
    hg_json_key(&out, "groups");
    hg_buf_char(&out, '[');
  } else {
    hg_buf_str(&out, "=================================================================\n==");
    hg_buf_dec(&out, (uint64_t)hg_os_getpid());
    hg_buf_str(&out, "==ERROR: heapguard: detected memory leaks: ");
    hg_buf_dec(&out, total_bytes);
    hg_buf_str(&out, " bytes in ");
    hg_buf_dec(&out, total_blocks);
    hg_buf_str(&out, total_blocks == 1 ? " block" : " blocks");
    hg_buf_str(&out, " unreachable at exit\n");
  }
  for (unsigned shown = 0; shown < GROUPS_SHOWN; shown++) {
    struct group *g = take_largest();
    if (!g)
      break;
    if (json && shown)
      hg_buf_char(&out, ',');
    if (json)
      group_json(&out, g);
    else
      group_text(&out, g);
    g->blocks = 0;
  }
  if (json) {
    hg_buf_str(&out, "]}\n");
  } else {
    if (ungrouped_blocks) {
      hg_buf_str(&out, "  and ");
      hg_buf_dec(&out, ungrouped_blocks);
      hg_buf_str(&out, " blocks from too many distinct stacks to group\n");
    }
    hg_buf_str(&out, "SUMMARY: heapguard: ");
    hg_buf_dec(&out, total_bytes);
    hg_buf_str(&out, " bytes leaked in ");
    hg_buf_dec(&out, total_blocks);
    hg_buf_str(&out, " allocations\n");
  }
  int fd = hg_log_open();
  hg_log_write(fd, out.p, out.len);
  hg_log_close(fd);
}

uint64_t hg_leaks_report(void)
{
  hg_heap_for_each_used(count_block, NULL);
  if (!live_cap)
    return 0;
  live = hg_os_map(live_cap * sizeof *live);
  worklist = hg_os_map(live_cap * sizeof *worklist);
  if (!live || !worklist)
    return 0;
  hg_heap_for_each_used(list_block, NULL);
  dl_iterate_phdr(scan_module, NULL);
  scan_stack();
  for (size_t i = 0; i < live_count; i++)
    if (!live[i].marked && !allocated_by_loader(live[i].stack) &&
        !hg_report_kept(live[i].start, live[i].end, live[i].stack))
      group_leak(&live[i]);
  drop_suppressed_groups();
  if (total_blocks)
    write_report();
  return total_blocks;
}
