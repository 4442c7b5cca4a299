/*
 * backtrace.c - report backtraces (libunwind's, loaded by the first report
 * that needs one); naming and locating frames for reports.
 *
 * Naming runs on the report path only. It allocates nothing: module files
 * are mapped read-only, addr2line runs in a child process, and one thread
 * at a time names frames, into static storage, under a lock that a thread
 * never waits for while it holds it (it could only meet it again from a
 * signal handler interrupting a report, and then names nothing).
 */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include "backtrace.h"

#include <dlfcn.h>
#include <elf.h>
#include <libunwind.h>
#include <link.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "config.h"
#include "demangler.h"
#include "elfsym.h"
#include "options.h"
#include "os.h"
#include "runtime.h"
#include "symbolizer.h"
#include "unwind.h"

#define PATH_CAP 512

static uintptr_t self_start, self_end; /* our executable segment */
static char program_path[PATH_CAP];
/* Load biases of the C library and the dynamic loader, for summaries. */
static uintptr_t libc_bias, loader_bias;
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

static bool module_holds(const struct dl_phdr_info *info, uintptr_t addr)
{
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t start = info->dlpi_addr + ph->p_vaddr;
    if (ph->p_type == PT_LOAD && addr - start < ph->p_memsz)
      return true;
  }
  return false;
}

/*
 * Our own module (its code's range and build id) and the C library's
 * bias, by the modules that hold one function of each: dladdr would look
 * the addresses up in the symbol tables, a tenth of a small process's
 * start-up.
 */
static int find_self_and_libc(struct dl_phdr_info *info, size_t size, void *arg)
{
  (void)size;
  (void)arg;
  if (module_holds(info, (uintptr_t)hg_backtrace_init)) {
    for (int i = 0; i < info->dlpi_phnum; i++)
      note_text_range(info, &info->dlpi_phdr[i]);
    build_id_size = read_build_id(info, build_id, sizeof build_id);
  }
  if (module_holds(info, (uintptr_t)&fclose))
    libc_bias = info->dlpi_addr;
  return 0;
}

void hg_backtrace_init(void)
{
  loader_bias = getauxval(AT_BASE);
  ssize_t n = readlink("/proc/self/exe", program_path, sizeof program_path - 1);
  program_path[n > 0 ? n : 0] = 0;
  dl_iterate_phdr(find_self_and_libc, NULL);
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

/*
 * libunwind is loaded by the first report that captures a backtrace, not
 * at start-up: loading it and liblzma, which it needs, took about a third
 * of what heapguard adds to a short process that never reports. Reports
 * take turns (report.c), so one thread at a time runs this; dlopen's
 * allocations are served from scratch memory like the rest of the report
 * path's, and no heap lock is held there, so a thread inside the loader
 * that allocates is not kept from finishing.
 */
#define NAME_OF_(symbol) #symbol
#define NAME_OF(symbol) NAME_OF_(symbol)

struct libunwind {
  __typeof__(unw_tdep_getcontext) *getcontext;
  __typeof__(unw_init_local) *init_local;
  __typeof__(unw_step) *step;
  __typeof__(unw_get_reg) *get_reg;
};

enum libunwind_state { LIBUNWIND_UNTRIED, LIBUNWIND_LOADED, LIBUNWIND_MISSING };

static struct libunwind libunwind;
static enum libunwind_state libunwind_state;

/* Whether every entry point resolved; the libunwind.h macros give their real names. */
static bool load_libunwind(void)
{
  void *lib = dlopen(HG_LIBUNWIND_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    return false;
  libunwind.getcontext = (__typeof__(libunwind.getcontext))dlsym(lib, NAME_OF(unw_tdep_getcontext));
  libunwind.init_local = (__typeof__(libunwind.init_local))dlsym(lib, NAME_OF(unw_init_local));
  libunwind.step = (__typeof__(libunwind.step))dlsym(lib, NAME_OF(unw_step));
  libunwind.get_reg = (__typeof__(libunwind.get_reg))dlsym(lib, NAME_OF(unw_get_reg));
  return libunwind.getcontext && libunwind.init_local && libunwind.step && libunwind.get_reg;
}

/*
 * A capture from a fault handler (in_signal) does not load it: dlopen is
 * not async-signal-safe.
 */
static bool libunwind_ready(bool in_signal)
{
  if (libunwind_state == LIBUNWIND_UNTRIED && !in_signal)
    libunwind_state = load_libunwind() ? LIBUNWIND_LOADED : LIBUNWIND_MISSING;
  return libunwind_state == LIBUNWIND_LOADED;
}

/* Up to max frames from libunwind, the first being our caller's caller's. */
static __attribute__((noinline)) size_t walk_with_libunwind(uintptr_t *ips, size_t max)
{
  unw_context_t uc;
  unw_cursor_t cursor;
  if (libunwind.getcontext(&uc) != 0 || libunwind.init_local(&cursor, &uc) != 0)
    return 0;
  size_t n = 0;
  while (n < max && libunwind.step(&cursor) > 0) {
    unw_word_t ip;
    if (libunwind.get_reg(&cursor, UNW_REG_IP, &ip) != 0 || ip == 0)
      break;
    ips[n++] = ip;
  }
  return n;
}

/*
 * Without libunwind, the walk of allocation stacks (unwind.c), which the
 * unit tests hold to libunwind's frames, signal frames included; it
 * leaves out heapguard's own frames.
 */
static __attribute__((noinline)) size_t walk_with_cfi(uintptr_t *ips, size_t max)
{
  return hg_unwind(HG_CALLER, ips, max, NULL);
}

/* Frames before the first kept: the fault handler's and the kernel's, or heapguard's own. */
#define FRAMES_LEFT_OUT 16u

size_t hg_backtrace_capture(uintptr_t *ips, size_t max)
{
  uintptr_t start_pc = tls_start_pc;
  tls_start_pc = 0;
  if (max == 0)
    return 0;
  uintptr_t raw[HG_MAX_FRAMES + FRAMES_LEFT_OUT];
  size_t want = (max < HG_MAX_FRAMES ? max : HG_MAX_FRAMES) + FRAMES_LEFT_OUT;
  size_t walked = libunwind_ready(start_pc != 0) ? walk_with_libunwind(raw, want)
                                                 : walk_with_cfi(raw, want);
  size_t first = 0;
  if (start_pc) {
    while (first < walked && raw[first] != start_pc)
      first++;
  } else {
    while (first < walked && hg_backtrace_is_own(raw[first]))
      first++;
  }
  size_t n = 0;
  for (size_t i = first; i < walked && n < max; i++)
    ips[n++] = raw[i];
  return n;
}

size_t hg_backtrace_shown(size_t n)
{
  return n < hg_options.backtrace_frames ? n : hg_options.backtrace_frames;
}

/* ---- one thread names frames at a time ---- */

static _Atomic pid_t naming_owner;

/* False only when this thread already holds the lock. */
static bool naming_lock(void)
{
  pid_t me = hg_os_gettid(), expected = 0;
  while (!atomic_compare_exchange_weak(&naming_owner, &expected, me)) {
    if (expected == me)
      return false;
    expected = 0;
    sched_yield();
  }
  return true;
}

static void naming_unlock(void)
{
  atomic_store(&naming_owner, 0);
}

/* ---- modules ---- */

/* A loaded module, as a frame names it. */
struct module {
  struct link_map *map;
  uintptr_t bias;           /* ip - bias: the address in the file's own numbering */
  char path[PATH_CAP];      /* absolute */
  uint8_t build_id[20];
  size_t build_id_size;
};

static const char *parse_hex(const char *p, uintptr_t *v)
{
  for (*v = 0;; p++) {
    unsigned d;
    if (*p >= '0' && *p <= '9')
      d = (unsigned)(*p - '0');
    else if (*p >= 'a' && *p <= 'f')
      d = (unsigned)(*p - 'a' + 10);
    else
      return p;
    *v = *v << 4 | d;
  }
}

/* One line of /proc/self/maps: "lo-hi perms offset dev inode path". */
static bool maps_line_names(const char *line, uintptr_t addr, char *path, size_t cap)
{
  uintptr_t lo, hi;
  const char *p = parse_hex(line, &lo);
  if (*p++ != '-')
    return false;
  p = parse_hex(p, &hi);
  if (addr < lo || addr >= hi)
    return false;
  for (int field = 0; field < 4; field++) {
    while (*p == ' ')
      p++;
    while (*p && *p != ' ')
      p++;
  }
  while (*p == ' ')
    p++;
  if (*p != '/')
    return false;
  hg_strlcpy(path, p, cap);
  return true;
}

/* The absolute path of the file mapped at addr, as the kernel names it. */
static bool mapped_path(uintptr_t addr, char *path, size_t cap)
{
  static HG_LARGE_BSS char buf[4096], line[PATH_CAP + 128];
  int fd = hg_os_open_read("/proc/self/maps");
  if (fd < 0)
    return false;
  size_t used = 0;
  bool found = false;
  ssize_t n;
  while (!found && (n = hg_os_read(fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n && !found; i++) {
      if (buf[i] != '\n') {
        if (used < sizeof line - 1)
          line[used++] = buf[i];
        continue;
      }
      line[used] = 0;
      used = 0;
      found = maps_line_names(line, addr, path, cap);
    }
  }
  hg_os_close(fd);
  return found;
}

static int find_module_build_id(struct dl_phdr_info *info, size_t size, void *arg)
{
  (void)size;
  struct module *m = arg;
  if (info->dlpi_addr != m->map->l_addr || info->dlpi_name != m->map->l_name)
    return 0;
  m->build_id_size = read_build_id(info, m->build_id, sizeof m->build_id);
  return 1;
}

/* The module holding the call before return address ip; info gets dladdr's symbol. */
static bool module_of(uintptr_t ip, struct module *m, Dl_info *info)
{
  m->map = NULL;
  if (!dladdr1((void *)(ip - 1), info, (void **)&m->map, RTLD_DL_LINKMAP) || !m->map)
    return false;
  m->bias = m->map->l_addr;
  const char *name = m->map->l_name && m->map->l_name[0] ? m->map->l_name : program_path;
  /* dlopen("./x.so") and relative LD_LIBRARY_PATH entries leave relative names. */
  if (name[0] == '/' || !mapped_path(ip - 1, m->path, sizeof m->path))
    hg_strlcpy(m->path, name, sizeof m->path);
  m->build_id_size = 0;
  dl_iterate_phdr(find_module_build_id, m);
  return true;
}

static bool is_runtime(const struct module *m)
{
  return m->bias && (m->bias == libc_bias || m->bias == loader_bias);
}

/* ---- module files, mapped and kept ---- */

#define IMAGES 4u

struct image {
  char path[PATH_CAP];
  const void *map;
  size_t size;
  bool parsed;
  struct hg_elf elf;
  uint8_t build_id[20];
  size_t build_id_size;
};

static HG_LARGE_BSS struct image images[IMAGES];
static unsigned next_image;

/*
 * The image's ELF, when it is the module's build: a file rebuilt since it
 * was loaded would name the wrong functions.
 */
static const struct hg_elf *if_module_build(const struct image *im, const struct module *m)
{
  bool same = !m->build_id_size || (im->build_id_size == m->build_id_size &&
                                    memcmp(im->build_id, m->build_id, m->build_id_size) == 0);
  return im->parsed && same ? &im->elf : NULL;
}

/* The ELF file at path, mapped (and kept), if it is module m's build; else NULL. */
static const struct hg_elf *image(const char *path, const struct module *m)
{
  for (unsigned i = 0; i < IMAGES; i++)
    if (images[i].map && strcmp(images[i].path, path) == 0)
      return if_module_build(&images[i], m);
  size_t size;
  const void *map = hg_os_map_file(path, &size);
  if (!map)
    return NULL;
  struct image *im = &images[next_image++ % IMAGES];
  if (im->map)
    hg_os_unmap((void *)im->map, im->size);
  *im = (struct image){ .map = map, .size = size };
  hg_strlcpy(im->path, path, sizeof im->path);
  im->parsed = hg_elf_parse(&im->elf, map, size);
  if (im->parsed)
    im->build_id_size = hg_elf_build_id(&im->elf, im->build_id, sizeof im->build_id);
  return if_module_build(im, m);
}

/* Where separate debug information is installed: /usr/lib/debug/.build-id/xx/yyyy.debug. */
static bool debug_file_path(const struct module *m, char *path, size_t cap)
{
  if (!m->build_id_size)
    return false;
  struct hg_buf b = { path, 0, cap - 1 };
  hg_buf_str(&b, "/usr/lib/debug/.build-id/");
  for (size_t i = 0; i < m->build_id_size; i++) {
    hg_buf_hex_byte(&b, m->build_id[i]);
    if (i == 0)
      hg_buf_char(&b, '/');
  }
  hg_buf_str(&b, ".debug");
  path[b.len] = 0;
  return b.len < cap - 1;
}

/* The module's own file when it has section name, else its debug file's. */
static const struct hg_elf *image_with(const struct module *m, const char *section,
                                       const char **path)
{
  static char debug[PATH_CAP];
  const struct hg_elf *e = image(m->path, m);
  *path = m->path;
  if (e && hg_elf_has_section(e, section))
    return e;
  if (!debug_file_path(m, debug, sizeof debug))
    return NULL;
  e = image(debug, m);
  *path = debug;
  return e && hg_elf_has_section(e, section) ? e : NULL;
}

/* ---- source locations, found in batches and kept ---- */

#define LOCATIONS 512u

struct location {
  uintptr_t ip;
  uint32_t file; /* offset in location_files */
  uint32_t line; /* 0: not found */
};

static HG_LARGE_BSS struct location locations[LOCATIONS];
static unsigned location_count;
static HG_LARGE_BSS char location_files[1 << 15];
static uint32_t location_files_used;

static const struct location *location_of(uintptr_t ip)
{
  for (unsigned i = 0; i < location_count; i++)
    if (locations[i].ip == ip)
      return &locations[i];
  return NULL;
}

/* Room for a batch of frames, made by forgetting earlier reports' frames. */
static void make_room(void)
{
  if (LOCATIONS - location_count < HG_MAX_FRAMES ||
      sizeof location_files - location_files_used < HG_MAX_FRAMES * PATH_CAP) {
    location_count = 0;
    location_files_used = 0;
  }
}

static void remember_location(uintptr_t ip, const char *file, unsigned line)
{
  size_t len = file ? hg_strlen(file) : 0;
  len = len < PATH_CAP - 1 ? len : PATH_CAP - 1;
  if (location_count == LOCATIONS || len + 1 > sizeof location_files - location_files_used)
    return;
  locations[location_count++] = (struct location){ ip, location_files_used, file ? line : 0 };
  memcpy(location_files + location_files_used, file ? file : "", len);
  location_files[location_files_used + len] = 0;
  location_files_used += (uint32_t)len + 1;
}

struct batch {
  uintptr_t ips[HG_MAX_FRAMES];
  uint64_t vaddrs[HG_MAX_FRAMES];
  size_t n;
};

static void note_location(size_t i, const char *file, unsigned line, void *arg)
{
  const struct batch *b = arg;
  remember_location(b->ips[i], file, line);
}

/* Ask addr2line, once per module, where the frames not yet located are. */
static void locate(const uintptr_t *ips, size_t n)
{
  struct link_map *maps[HG_MAX_FRAMES];
  n = n < HG_MAX_FRAMES ? n : HG_MAX_FRAMES;
  make_room();
  for (size_t i = 0; i < n; i++) {
    Dl_info info;
    maps[i] = NULL;
    if (!location_of(ips[i]) &&
        !dladdr1((void *)(ips[i] - 1), &info, (void **)&maps[i], RTLD_DL_LINKMAP))
      maps[i] = NULL;
  }
  for (size_t i = 0; i < n; i++) {
    struct module m;
    Dl_info info;
    if (!maps[i] || location_of(ips[i]) || !module_of(ips[i], &m, &info))
      continue;
    struct link_map *map = maps[i];
    struct batch b = { .n = 0 };
    for (size_t j = i; j < n; j++) {
      if (maps[j] == map && !location_of(ips[j]) && b.n < HG_MAX_FRAMES) {
        b.ips[b.n] = ips[j];
        b.vaddrs[b.n++] = ips[j] - m.bias;
        maps[j] = NULL;
      }
    }
    const char *path;
    if (image_with(&m, ".debug_line", &path) || image_with(&m, ".zdebug_line", &path))
      hg_symbolizer_locate(path, b.vaddrs, b.n, note_location, &b);
    for (size_t j = 0; j < b.n; j++)
      if (!location_of(b.ips[j]))
        remember_location(b.ips[j], NULL, 0);
  }
}

/* ---- frames ---- */

/* One frame resolved: function, module, offsets, build id, source line. */
struct frame {
  uintptr_t ip;
  char function[768];       /* empty when no symbol covers the address */
  uintptr_t function_offset;
  struct module module;     /* path empty when no module holds the address */
  uintptr_t module_offset;
  char file[PATH_CAP];      /* empty when not located */
  unsigned line;
};

static struct frame frame; /* under the naming lock */

/* The function whose symbol covers the call: the exported one, else the symbol tables. */
static void name_function(struct frame *fr, const Dl_info *info)
{
  const char *name = info->dli_sname;
  uintptr_t start = (uintptr_t)info->dli_saddr;
  if (!name || !start) {
    const char *path;
    uint64_t value = 0;
    const struct hg_elf *e = image_with(&fr->module, ".symtab", &path);
    if (!e)
      e = image(fr->module.path, &fr->module); /* its .dynsym */
    name = e ? hg_elf_function_at(e, fr->ip - 1 - fr->module.bias, &value) : NULL;
    start = (uintptr_t)value + fr->module.bias;
  }
  if (!name)
    return;
  if (!hg_demangle(name, fr->function, sizeof fr->function))
    hg_strlcpy(fr->function, name, sizeof fr->function);
  fr->function_offset = fr->ip - start;
}

static void resolve(uintptr_t ip, struct frame *fr)
{
  Dl_info info;
  fr->ip = ip;
  fr->function[0] = 0;
  fr->function_offset = 0;
  fr->module.path[0] = 0;
  fr->module.build_id_size = 0;
  fr->module_offset = 0;
  fr->file[0] = 0;
  fr->line = 0;
  if (module_of(ip, &fr->module, &info)) {
    fr->module_offset = ip - fr->module.bias;
    name_function(fr, &info);
  }
  const struct location *l = location_of(ip);
  if (l && l->line) {
    hg_strlcpy(fr->file, location_files + l->file, sizeof fr->file);
    fr->line = l->line;
  }
}

static void format_build_id(struct hg_buf *out, const struct module *m)
{
  for (size_t k = 0; k < m->build_id_size; k++)
    hg_buf_hex_byte(out, m->build_id[k]);
}

static void format_frame(struct hg_buf *out, size_t i, const struct frame *fr)
{
  hg_buf_str(out, "    #");
  hg_buf_dec(out, i);
  hg_buf_str(out, " ");
  hg_buf_hex(out, fr->ip);
  if (fr->function[0]) {
    hg_buf_str(out, " in ");
    hg_buf_str(out, fr->function);
    hg_buf_str(out, "+");
    hg_buf_hex(out, fr->function_offset);
  }
  if (fr->line) {
    hg_buf_str(out, " ");
    hg_buf_str(out, fr->file);
    hg_buf_char(out, ':');
    hg_buf_dec(out, fr->line);
  }
  if (fr->module.path[0]) {
    hg_buf_str(out, " (");
    hg_buf_str(out, fr->module.path);
    hg_buf_str(out, "+");
    hg_buf_hex(out, fr->module_offset);
    hg_buf_str(out, ")");
  }
  if (fr->module.build_id_size) {
    hg_buf_str(out, " (BuildId: ");
    format_build_id(out, &fr->module);
    hg_buf_str(out, ")");
  }
  hg_buf_char(out, '\n');
}

/* Name the frames, or, for a thread already naming (a nested report), leave them bare. */
static bool begin_naming(const uintptr_t *ips, size_t n)
{
  if (!naming_lock())
    return false;
  if (hg_options.symbolize)
    locate(ips, n);
  return true;
}

void hg_backtrace_format(struct hg_buf *out, const uintptr_t *ips, size_t n)
{
  n = hg_backtrace_shown(n);
  if (n == 0)
    hg_buf_str(out, "    (no frames)\n");
  bool naming = begin_naming(ips, n);
  for (size_t i = 0; i < n; i++) {
    if (naming)
      resolve(ips[i], &frame);
    else
      frame = (struct frame){ .ip = ips[i] };
    format_frame(out, i, &frame);
  }
  if (naming)
    naming_unlock();
}

static void json_str_or_null(struct hg_buf *out, const char *key, const char *value)
{
  hg_json_key(out, key);
  if (value[0])
    hg_json_str(out, value);
  else
    hg_buf_str(out, "null");
}

void hg_backtrace_json(struct hg_buf *out, const uintptr_t *ips, size_t n)
{
  n = hg_backtrace_shown(n);
  bool naming = begin_naming(ips, n);
  hg_buf_char(out, '[');
  for (size_t i = 0; i < n; i++) {
    if (naming)
      resolve(ips[i], &frame);
    else
      frame = (struct frame){ .ip = ips[i] };
    if (i)
      hg_buf_char(out, ',');
    hg_buf_char(out, '{');
    hg_json_hex(out, "ip", frame.ip);
    json_str_or_null(out, "function", frame.function);
    hg_json_dec(out, "function_offset", frame.function_offset);
    json_str_or_null(out, "module", frame.module.path);
    hg_json_hex(out, "module_offset", frame.module_offset);
    hg_json_key(out, "build_id");
    hg_buf_char(out, '"');
    format_build_id(out, &frame.module);
    hg_buf_char(out, '"');
    json_str_or_null(out, "file", frame.file);
    hg_json_key(out, "line");
    if (frame.line)
      hg_buf_dec(out, frame.line);
    else
      hg_buf_str(out, "null");
    hg_buf_char(out, '}');
  }
  hg_buf_char(out, ']');
  if (naming)
    naming_unlock();
}

bool hg_backtrace_match(const uintptr_t *ips, size_t n, hg_frame_match_fn match, void *arg)
{
  if (!naming_lock())
    return false;
  bool found = false;
  for (size_t i = 0; i < n && !found; i++) {
    resolve(ips[i], &frame);
    found = match(frame.function, frame.module.path, frame.file, arg);
  }
  if (!found && hg_options.symbolize) {
    locate(ips, n);
    for (size_t i = 0; i < n && !found; i++) {
      resolve(ips[i], &frame);
      found = match("", "", frame.file, arg);
    }
  }
  naming_unlock();
  return found;
}

size_t hg_backtrace_summary_frame(const uintptr_t *ips, size_t n)
{
  if (!naming_lock())
    return 0;
  size_t chosen = 0;
  for (size_t i = 0; i < n; i++) {
    struct module m;
    Dl_info info;
    if (!module_of(ips[i], &m, &info) || !is_runtime(&m)) {
      chosen = i;
      break;
    }
  }
  naming_unlock();
  return chosen;
}

void hg_backtrace_summary_name(struct hg_buf *out, const uintptr_t *ips, size_t n)
{
  size_t i = n ? hg_backtrace_summary_frame(ips, n) : 0;
  if (!n || !naming_lock()) {
    hg_buf_str(out, "<unknown>");
    return;
  }
  resolve(ips[i], &frame);
  if (frame.function[0]) {
    hg_buf_str(out, frame.function);
  } else if (frame.module.path[0]) {
    hg_buf_str(out, "(");
    hg_buf_str(out, frame.module.path);
    hg_buf_str(out, "+");
    hg_buf_hex(out, frame.module_offset);
    hg_buf_str(out, ")");
  } else {
    hg_buf_str(out, "<unknown>");
  }
  naming_unlock();
}
