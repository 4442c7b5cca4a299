/*
 * test_symbols.c - what names a report's frames, on its own: the ELF
 * symbol reader (against this very program, and against damaged copies of
 * it) and the C++ demangler. Neither may allocate.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "demangler.h"
#include "elfsym.h"
#include "os.h"

/* Every allocation of the process passes here; the code under test makes none. */
static unsigned allocations;
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

void *malloc(size_t n)
{
  allocations++;
  return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
  allocations++;
  return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
  allocations++;
  return __libc_realloc(p, n);
}

static void demangles_cxx_names_without_allocating(void **state)
{
  (void)state;
  static const struct {
    const char *mangled, *readable;
  } names[] = {
    { "_ZN3geo5CloudINS_5PointEE7releaseEv", "geo::Cloud<geo::Point>::release()" },
    { "_ZNSt6vectorIiSaIiEE9push_backERKi",
      "std::vector<int, std::allocator<int> >::push_back(int const&)" },
    { "_Z3fooPKcz", "foo(char const*, ...)" },
    { "_ZN12_GLOBAL__N_14helpEv", "(anonymous namespace)::help()" },
    { "_ZNK3geo5CloudIdE4sizeEv", "geo::Cloud<double>::size() const" },
  };
  static char out[256], longest[5000];
  unsigned before = allocations;
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    assert_true(hg_demangle(names[i].mangled, out, sizeof out));
    assert_string_equal(out, names[i].readable);
  }
  /* Truncated to fit. */
  assert_true(hg_demangle(names[0].mangled, out, 8));
  assert_string_equal(out, "geo::Cl");
  /* C names, garbage, and names too long to try are left alone. */
  assert_false(hg_demangle("main", out, sizeof out));
  assert_false(hg_demangle("_Z", out, sizeof out));
  assert_false(hg_demangle("_ZN3geo5Cloud", out, sizeof out));
  assert_false(hg_demangle("", out, sizeof out));
  memset(longest, 'a', sizeof longest - 1);
  memcpy(longest, "_Z4000", 6);
  assert_false(hg_demangle(longest, out, sizeof out));
  assert_int_equal(allocations, before);
}

/* Global, so that link-time optimisation keeps its symbol's name. */
int probe_function(int x);
__attribute__((noinline)) int probe_function(int x)
{
  __asm__ volatile("" : "+r"(x));
  return x * 3 + 1;
}

static struct hg_elf self;
static const void *self_map;
static size_t self_size;

static int map_self(void **state)
{
  (void)state;
  self_map = hg_os_map_file("/proc/self/exe", &self_size);
  return self_map && hg_elf_parse(&self, self_map, self_size) ? 0 : -1;
}

/* This program's address of fn, in its own file's numbering. */
static uint64_t vaddr_of(void *fn)
{
  Dl_info info;
  struct link_map *map = NULL;
  assert_true(dladdr1(fn, &info, (void **)&map, RTLD_DL_LINKMAP) && map);
  return (uintptr_t)fn - map->l_addr;
}

static void names_functions_only_where_their_symbols_cover(void **state)
{
  (void)state;
  unsigned before = allocations;
  uint64_t at = vaddr_of((void *)probe_function), start = 0;
  const char *name = hg_elf_function_at(&self, at + 1, &start);
  assert_non_null(name);
  assert_string_equal(name, "probe_function");
  assert_int_equal(start, at);
  /* The byte before it is not in it, whatever function (if any) holds it. */
  name = hg_elf_function_at(&self, at - 1, &start);
  assert_true(!name || strcmp(name, "probe_function") != 0);
  /* An address past every function. */
  assert_null(hg_elf_function_at(&self, UINT64_MAX - 1, &start));
  uint8_t id[20];
  assert_int_equal(hg_elf_build_id(&self, id, sizeof id), 20);
  assert_true(hg_elf_has_section(&self, ".symtab"));
  assert_false(hg_elf_has_section(&self, ".no_such_section"));
  assert_int_equal(allocations, before);
  assert_int_equal(probe_function(1), 4);
}

/*
 * Bytes ending right before a PROT_NONE page: a read past them faults.
 * The mapping is kept from one call to the next.
 */
static uint8_t *copy_before_guard(size_t n)
{
  static uint8_t *region;
  static size_t room;
  if (!region) {
    room = (self_size + 4095) & ~(size_t)4095;
    region = mmap(NULL, room + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(region != MAP_FAILED);
    assert_int_equal(mprotect(region + room, 4096, PROT_NONE), 0);
  }
  uint8_t *p = region + room - ((n + 7) & ~(size_t)7);
  memcpy(p, self_map, n);
  return p;
}

static void read_everything(const uint8_t *data, size_t n)
{
  struct hg_elf e;
  uint64_t start;
  uint8_t id[20];
  if (hg_elf_parse(&e, data, n)) {
    hg_elf_function_at(&e, vaddr_of((void *)probe_function) + 1, &start);
    hg_elf_build_id(&e, id, sizeof id);
    hg_elf_has_section(&e, ".symtab");
  }
}

/*
 * Every byte of the ELF header and of the section headers flipped, and
 * the file cut short at many places: the reader says no or reads within
 * the bytes it was given, never past them.
 */
static void survives_damaged_and_truncated_files(void **state)
{
  (void)state;
  const ElfW(Ehdr) *h = self_map;
  size_t headers_end = h->e_shoff + (size_t)h->e_shnum * sizeof(ElfW(Shdr));
  assert_true(headers_end <= self_size);
  uint8_t *copy = copy_before_guard(self_size);
  for (size_t i = 0; i < headers_end; i += i < sizeof *h || i >= h->e_shoff ? 1 : 61) {
    copy[i] ^= 0xa5;
    read_everything(copy, self_size);
    copy[i] ^= 0xa5;
  }
  for (size_t n = 0; n < self_size; n += n < headers_end ? 8 * 13 : 4096)
    read_everything(copy_before_guard(n), n);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(demangles_cxx_names_without_allocating),
    cmocka_unit_test(names_functions_only_where_their_symbols_cover),
    cmocka_unit_test(survives_damaged_and_truncated_files),
  };
  return cmocka_run_group_tests_name("symbols", tests, map_self, NULL);
}
