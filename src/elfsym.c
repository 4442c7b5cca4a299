/*
 * elfsym.c - bounded reading of section headers, notes and symbol tables.
 */
#include "elfsym.h"

#include <string.h>

static bool fits(const struct hg_elf *e, uint64_t offset, uint64_t size)
{
  return offset <= e->size && size <= e->size - offset;
}

static const ElfW(Shdr) *section(const struct hg_elf *e, size_t i)
{
  return i < e->section_count ? &e->sections[i] : NULL;
}

/* A section's contents, when the file holds them. */
static const uint8_t *contents(const struct hg_elf *e, const ElfW(Shdr) *s)
{
  if (!s || s->sh_type == SHT_NOBITS || !fits(e, s->sh_offset, s->sh_size))
    return NULL;
  return e->data + s->sh_offset;
}

/* The NUL-terminated string at offset in string table s, or NULL. */
static const char *string_at(const struct hg_elf *e, const ElfW(Shdr) *s, uint64_t offset)
{
  const uint8_t *p = contents(e, s);
  if (!p || s->sh_type != SHT_STRTAB || offset >= s->sh_size)
    return NULL;
  const char *str = (const char *)p + offset;
  return memchr(str, 0, s->sh_size - offset) ? str : NULL;
}

bool hg_elf_parse(struct hg_elf *e, const void *data, size_t size)
{
  const ElfW(Ehdr) *h = data;
  *e = (struct hg_elf){ data, size, NULL, 0, NULL };
  if (size < sizeof *h || memcmp(h->e_ident, ELFMAG, SELFMAG) != 0 ||
      h->e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
      h->e_ident[EI_DATA] != (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB
                                                                       : ELFDATA2MSB) ||
      h->e_shentsize != sizeof(ElfW(Shdr)) || h->e_shoff == 0 ||
      h->e_shoff % _Alignof(ElfW(Shdr)) != 0 ||
      !fits(e, h->e_shoff, sizeof(ElfW(Shdr))))
    return false;
  e->sections = (const ElfW(Shdr) *)(e->data + h->e_shoff);
  /* With 0xff00 sections or more, the counts live in section 0. */
  uint64_t count = h->e_shnum ? h->e_shnum : e->sections[0].sh_size;
  if (count > (e->size - h->e_shoff) / sizeof(ElfW(Shdr)))
    return false;
  e->section_count = (size_t)count;
  uint64_t names = h->e_shstrndx == SHN_XINDEX ? e->sections[0].sh_link : h->e_shstrndx;
  e->names = section(e, (size_t)names);
  return true;
}

size_t hg_elf_build_id(const struct hg_elf *e, uint8_t *out, size_t cap)
{
  for (size_t i = 0; i < e->section_count; i++) {
    const ElfW(Shdr) *s = &e->sections[i];
    const uint8_t *p = s->sh_type == SHT_NOTE ? contents(e, s) : NULL;
    uint64_t at = 0;
    while (p && s->sh_size - at >= sizeof(ElfW(Nhdr))) {
      ElfW(Nhdr) n;
      memcpy(&n, p + at, sizeof n);
      uint64_t name = at + sizeof n;
      uint64_t desc = name + (((uint64_t)n.n_namesz + 3) & ~(uint64_t)3);
      uint64_t next = desc + (((uint64_t)n.n_descsz + 3) & ~(uint64_t)3);
      if (next > s->sh_size)
        break;
      if (n.n_type == NT_GNU_BUILD_ID && n.n_namesz == 4 && memcmp(p + name, "GNU", 4) == 0) {
        size_t size = n.n_descsz < cap ? n.n_descsz : cap;
        memcpy(out, p + desc, size);
        return size;
      }
      at = next;
    }
  }
  return 0;
}

bool hg_elf_has_section(const struct hg_elf *e, const char *name)
{
  for (size_t i = 0; i < e->section_count; i++) {
    const char *s = string_at(e, e->names, e->sections[i].sh_name);
    if (s && strcmp(s, name) == 0 && contents(e, &e->sections[i]) && e->sections[i].sh_size)
      return true;
  }
  return false;
}

/* The symbol table to search: .symtab when there is one, else .dynsym. */
static const ElfW(Shdr) *symbol_table(const struct hg_elf *e)
{
  const ElfW(Shdr) *dynamic = NULL;
  for (size_t i = 0; i < e->section_count; i++) {
    const ElfW(Shdr) *s = &e->sections[i];
    if (s->sh_type == SHT_SYMTAB && contents(e, s))
      return s;
    if (s->sh_type == SHT_DYNSYM && contents(e, s))
      dynamic = s;
  }
  return dynamic;
}

/* Global beats weak beats local, for aliases at the same address. */
static int binding_rank(unsigned char info)
{
  switch (ELF64_ST_BIND(info)) /* the same in both classes */ {
  case STB_GLOBAL:
    return 2;
  case STB_WEAK:
    return 1;
  default:
    return 0;
  }
}

static bool is_function(const ElfW(Sym) *sym)
{
  unsigned type = ELF64_ST_TYPE(sym->st_info);
  return (type == STT_FUNC || type == STT_GNU_IFUNC) && sym->st_shndx != SHN_UNDEF &&
         sym->st_size != 0;
}

const char *hg_elf_function_at(const struct hg_elf *e, uint64_t vaddr, uint64_t *start)
{
  const ElfW(Shdr) *table = symbol_table(e);
  const ElfW(Shdr) *strings = table ? section(e, table->sh_link) : NULL;
  if (!strings)
    return NULL;
  const uint8_t *syms = contents(e, table);
  uint64_t count = table->sh_size / sizeof(ElfW(Sym));
  const ElfW(Sym) *best = NULL;
  for (uint64_t i = 0; i < count; i++) {
    ElfW(Sym) sym;
    memcpy(&sym, syms + i * sizeof sym, sizeof sym);
    if (!is_function(&sym) || vaddr < sym.st_value || vaddr - sym.st_value >= sym.st_size)
      continue;
    if (best && (sym.st_value < best->st_value ||
                 (sym.st_value == best->st_value &&
                  binding_rank(sym.st_info) <= binding_rank(best->st_info))))
      continue;
    best = (const ElfW(Sym) *)(syms + i * sizeof sym);
  }
  if (!best)
    return NULL;
  ElfW(Sym) sym;
  memcpy(&sym, best, sizeof sym);
  *start = sym.st_value;
  return string_at(e, strings, sym.st_name);
}
