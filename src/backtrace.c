/*
 * backtrace.c - libunwind capture and symbolisation.
 *
 * Called only from the report path, where the thread is flagged as
 * reentered so that any allocation libunwind makes is served from scratch
 * memory rather than from the heap that is being reported on.
 */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include "backtrace.h"

#include <dlfcn.h>
#include <elf.h>
#include <libunwind.h>
#include <link.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

static uintptr_t self_base;
static char program_path[512];
static uint8_t build_id[20];
static size_t build_id_size;

static int find_build_id(struct dl_phdr_info *info, size_t size, void *arg)
{
  (void)size;
  (void)arg;
  if (info->dlpi_addr != self_base)
    return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_NOTE)
      continue;
    const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
    const char *end = p + ph->p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
      const char *name = p + sizeof *n;
      const char *desc = name + ((n->n_namesz + 3) & ~3u);
      if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 &&
          memcmp(name, "GNU", 4) == 0) {
        build_id_size = n->n_descsz < sizeof build_id ? n->n_descsz : sizeof build_id;
        memcpy(build_id, desc, build_id_size);
        return 1;
      }
      p = desc + ((n->n_descsz + 3) & ~3u);
    }
  }
  return 0;
}

void hg_backtrace_init(void)
{
  Dl_info info;
  if (dladdr((void *)hg_backtrace_init, &info))
    self_base = (uintptr_t)info.dli_fbase;
  ssize_t n = readlink("/proc/self/exe", program_path, sizeof program_path - 1);
  program_path[n > 0 ? n : 0] = 0;
  dl_iterate_phdr(find_build_id, NULL);
}

const char *hg_program_path(void)
{
  return program_path;
}

size_t hg_library_build_id(const uint8_t **id)
{
  *id = build_id;
  return build_id_size;
}

static bool is_own_frame(uintptr_t ip)
{
  Dl_info info;
  return dladdr((void *)(ip - 1), &info) && (uintptr_t)info.dli_fbase == self_base;
}

size_t hg_backtrace_capture(uintptr_t *ips, size_t max)
{
  unw_context_t uc;
  unw_cursor_t cursor;
  if (max == 0 || unw_getcontext(&uc) != 0 || unw_init_local(&cursor, &uc) != 0)
    return 0;
  size_t n = 0;
  bool leading = true;
  while (n < max && unw_step(&cursor) > 0) {
    unw_word_t ip;
    if (unw_get_reg(&cursor, UNW_REG_IP, &ip) != 0 || ip == 0)
      break;
    if (leading && is_own_frame(ip))
      continue;
    leading = false;
    ips[n++] = ip;
  }
  return n;
}

/* Name the function containing ip - 1 (the call, not the return address). */
static bool function_of(uintptr_t ip, char *name, size_t cap, unw_word_t *off)
{
  unw_context_t uc;
  unw_cursor_t cursor;
  if (unw_getcontext(&uc) != 0 || unw_init_local(&cursor, &uc) != 0)
    return false;
  if (unw_set_reg(&cursor, UNW_REG_IP, ip - 1) != 0)
    return false;
  if (unw_get_proc_name(&cursor, name, cap, off) != 0)
    return false;
  *off += 1;
  return true;
}

static void format_frame(struct hg_buf *out, size_t i, uintptr_t ip)
{
  char name[256];
  unw_word_t off;
  Dl_info info;
  hg_buf_str(out, "    #");
  hg_buf_dec(out, i);
  hg_buf_str(out, " ");
  hg_buf_hex(out, ip);
  if (function_of(ip, name, sizeof name, &off)) {
    hg_buf_str(out, " in ");
    hg_buf_str(out, name);
    hg_buf_str(out, "+");
    hg_buf_hex(out, off);
  }
  if (dladdr((void *)(ip - 1), &info)) {
    const char *module = info.dli_fname && info.dli_fname[0] ? info.dli_fname
                                                              : program_path;
    hg_buf_str(out, " (");
    hg_buf_str(out, module);
    hg_buf_str(out, "+");
    hg_buf_hex(out, ip - (uintptr_t)info.dli_fbase);
    hg_buf_str(out, ")");
  }
  hg_buf_char(out, '\n');
}

void hg_backtrace_format(struct hg_buf *out, const uintptr_t *ips, size_t n)
{
  if (n == 0)
    hg_buf_str(out, "    (no frames)\n");
  for (size_t i = 0; i < n; i++)
    format_frame(out, i, ips[i]);
}

void hg_backtrace_first_function(struct hg_buf *out, const uintptr_t *ips, size_t n)
{
  char name[256];
  unw_word_t off;
  if (n && function_of(ips[0], name, sizeof name, &off))
    hg_buf_str(out, name);
  else
    hg_buf_str(out, "<unknown>");
}
