/*
 * leaks.c - grouping blocks still in use by where they were allocated.
 */
#include "leaks.h"

#include "arena.h"
#include "backtrace.h"
#include "fmt.h"
#include "os.h"
#include "stackdepot.h"

#define GROUPS 4096u
#define GROUPS_SHOWN 32u

struct group {
  uint32_t stack;
  uint64_t blocks;
  uint64_t bytes;
};

static struct group groups[GROUPS];
static uint64_t total_blocks, total_bytes, ungrouped_blocks;

static void count_block(const struct hg_block *b, void *arg)
{
  (void)arg;
  uint64_t bytes = hg_block_requested(b);
  total_blocks++;
  total_bytes += bytes;
  for (uint32_t i = 0; i < GROUPS; i++) {
    struct group *g = &groups[(b->stack * 2654435761u + i) % GROUPS];
    if (g->blocks && g->stack != b->stack)
      continue;
    g->stack = b->stack;
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

static char text[1 << 16];

uint64_t hg_leaks_report(int fd)
{
  hg_heap_for_each_used(count_block, NULL);
  if (!total_blocks)
    return 0;
  struct hg_buf out = HG_BUF(text);
  hg_buf_str(&out, "=================================================================\n==");
  hg_buf_dec(&out, (uint64_t)hg_os_getpid());
  hg_buf_str(&out, "==ERROR: heapguard: detected memory leaks: ");
  hg_buf_dec(&out, total_bytes);
  hg_buf_str(&out, " bytes in ");
  hg_buf_dec(&out, total_blocks);
  hg_buf_str(&out, " blocks still allocated at exit\n");
  for (unsigned shown = 0; shown < GROUPS_SHOWN; shown++) {
    struct group *g = take_largest();
    if (!g)
      break;
    hg_buf_str(&out, "\n  ");
    hg_buf_dec(&out, g->bytes);
    hg_buf_str(&out, " bytes in ");
    hg_buf_dec(&out, g->blocks);
    hg_buf_str(&out, g->blocks == 1 ? " block" : " blocks");
    size_t n;
    uint32_t tid;
    const uintptr_t *ips = hg_stack_get(g->stack, &n, &tid);
    if (ips) {
      hg_buf_str(&out, " allocated by thread ");
      hg_buf_dec(&out, tid);
      hg_buf_str(&out, " at:\n");
      hg_backtrace_format(&out, ips, n);
    } else {
      hg_buf_str(&out, " allocated where no stack was recorded (alloc_stacks=0?)\n");
    }
    g->blocks = 0;
  }
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
  hg_os_write_all(fd, out.p, out.len);
  return total_blocks;
}
