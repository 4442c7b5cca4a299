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

#include "options.h"
#include "runtime.h"

static uintptr_t self_base;
static uintptr_t self_start, self_end; /* our executable segment */
static char program_path[512];
static uint8_t build_id[20];
static size_t build_id_size;

static void note_text_range(const struct dl_phdr_info *info, const ElfW(Phdr) *ph)
{
  if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
    self_start = info->dlpi_addr + ph->p_vaddr;
    self_end = self_start + ph->p_memsz;
  }
}

/* The GNU build id in a loaded module's notes; returns its size, 0 if none. */
static size_t read_build_id(const struct dl_phdr_info *info, uint8_t *out, size_t cap)
{
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
        size_t size = n->n_descsz < cap ? n->n_descsz : cap;
        memcpy(out, desc, size);
        return size;
      }
      p = desc + ((n->n_descsz + 3) & ~3u);
    }
  }
  return 0;
}

static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
  (void)size;
  (void)arg;
  if (info->dlpi_addr != self_base)
    return 0;
  for (int i = 0; i < info->dlpi_phnum; i++)
    note_text_range(info, &info->dlpi_phdr[i]);
  build_id_size = read_build_id(info, build_id, sizeof build_id);
  return 1;
}

void hg_backtrace_init(void)
{
  Dl_info info;
  if (dladdr((void *)hg_backtrace_init, &info))
    self_base = (uintptr_t)info.dli_fbase;
  ssize_t n = readlink("/proc/self/exe", program_path, sizeof program_path - 1);
  program_path[n > 0 ? n : 0] = 0;
  dl_iterate_phdr(find_self, NULL);
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

bool hg_backtrace_is_own(uintptr_t ip)
{
  return ip - 1 >= self_start && ip - 1 < self_end;
}

static HG_TLS uintptr_t tls_start_pc;

void hg_backtrace_start_at(uintptr_t pc)
{
  tls_start_pc = pc;
}

size_t hg_backtrace_capture(uintptr_t *ips, size_t max)
{
  uintptr_t start_pc = tls_start_pc;
  tls_start_pc = 0;
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
    if (start_pc && ip != start_pc)
      continue; /* the fault handler's frames and the kernel's signal frame */
    if (start_pc) {
      start_pc = 0;
      leading = false;
    }
    if (leading && hg_backtrace_is_own(ip))
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

struct build_id_query {
  uintptr_t base;
  struct hg_frame *frame;
};

static int find_module_build_id(struct dl_phdr_info *info, size_t size, void *arg)
{
  (void)size;
  struct build_id_query *q = arg;
  if (info->dlpi_addr != q->base)
    return 0;
  q->frame->build_id_size =
    read_build_id(info, q->frame->build_id, sizeof q->frame->build_id);
  return 1;
}

void hg_backtrace_resolve(uintptr_t ip, struct hg_frame *fr)
{
  unw_word_t off = 0;
  Dl_info info;
  fr->ip = ip;
  fr->has_function = function_of(ip, fr->function, sizeof fr->function, &off);
  fr->function_offset = off;
  fr->module = NULL;
  fr->module_offset = 0;
  fr->build_id_size = 0;
  if (dladdr((void *)(ip - 1), &info)) {
    fr->module = info.dli_fname && info.dli_fname[0] ? info.dli_fname : program_path;
    fr->module_offset = ip - (uintptr_t)info.dli_fbase;
    struct build_id_query q = { (uintptr_t)info.dli_fbase, fr };
    dl_iterate_phdr(find_module_build_id, &q);
  }
}

size_t hg_backtrace_shown(size_t n)
{
  return n < hg_options.backtrace_frames ? n : hg_options.backtrace_frames;
}

static void format_frame(struct hg_buf *out, size_t i, uintptr_t ip)
{
  struct hg_frame fr;
  hg_backtrace_resolve(ip, &fr);
  hg_buf_str(out, "    #");
  hg_buf_dec(out, i);
  hg_buf_str(out, " ");
  hg_buf_hex(out, ip);
  if (fr.has_function) {
    hg_buf_str(out, " in ");
    hg_buf_str(out, fr.function);
    hg_buf_str(out, "+");
    hg_buf_hex(out, fr.function_offset);
  }
  if (fr.module) {
    hg_buf_str(out, " (");
    hg_buf_str(out, fr.module);
    hg_buf_str(out, "+");
    hg_buf_hex(out, fr.module_offset);
    hg_buf_str(out, ")");
  }
  hg_buf_char(out, '\n');
}

void hg_backtrace_format(struct hg_buf *out, const uintptr_t *ips, size_t n)
{
  n = hg_backtrace_shown(n);
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
