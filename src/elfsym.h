/*
 * elfsym.h - function names and build ids read from an ELF file's bytes.
 *
 * Reports name functions from the symbol tables of the files on disk
 * (.symtab, where the static functions are; .dynsym when it is stripped),
 * and only when a symbol's size covers the address: an address in no
 * function symbol has no name, rather than the name of whichever symbol
 * happens to precede it. The file is trusted no further than its size:
 * every offset and count read from it is checked. Pure: nothing here
 * allocates or makes a system call.
 */
#ifndef HG_ELFSYM_H
#define HG_ELFSYM_H

#include <elf.h>
#include <link.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An ELF file of this process's class and byte order, as bytes in memory. */
struct hg_elf {
  const uint8_t *data;
  size_t size;
  const ElfW(Shdr) *sections; /* the section headers, all inside data */
  size_t section_count;
  const ElfW(Shdr) *names;    /* the section name string table, or NULL */
};

/* False when data is not such an ELF file or its section headers do not fit. */
bool hg_elf_parse(struct hg_elf *e, const void *data, size_t size);

/* The GNU build id from the file's note sections; its size, 0 when none. */
size_t hg_elf_build_id(const struct hg_elf *e, uint8_t *out, size_t cap);

/* True when a section of that name has contents in the file. */
bool hg_elf_has_section(const struct hg_elf *e, const char *name);

/*
 * The function symbol whose [value, value + size) holds vaddr (an address
 * in the file's own numbering): its name, pointing into the file's bytes,
 * and its value in *start; NULL when none does. Of several, the one that
 * starts last, and of those a global rather than a weak or local alias.
 */
const char *hg_elf_function_at(const struct hg_elf *e, uint64_t vaddr, uint64_t *start);

#endif
