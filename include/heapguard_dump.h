/*
 * heapguard_dump.h - the on-disk format of heapguard's forensic dumps.
 *
 * A dump is a fixed file header followed by sections, each a 16-byte
 * section header and `length` payload bytes, padded with zeros to a
 * multiple of 8. Readers must skip section types they do not know, and
 * must bound every length and offset against the file size: a dump is
 * written from a damaged process and may itself be damaged.
 *
 * All integers are little-endian, as written by the x86-64 / aarch64
 * process that produced the dump. Version 2 is described here; a reader
 * rejects a version it does not know. Version 1 (heapguard 0.1) differs in
 * the segment metadata (an owner field and block counters inside the
 * checksum) and in the report section (no check id).
 */
#ifndef HEAPGUARD_DUMP_H
#define HEAPGUARD_DUMP_H

#include <stdint.h>

#define HG_DUMP_MAGIC "HGDUMP\r\n"
#define HG_DUMP_VERSION 2u

struct hg_dump_file_header {
  char magic[8];           /* HG_DUMP_MAGIC, no terminator */
  uint32_t version;        /* HG_DUMP_VERSION */
  uint32_t header_size;    /* sizeof(struct hg_dump_file_header) */
  uint32_t section_count;  /* sections that follow */
  uint32_t reserved;       /* zero */
};

struct hg_dump_section {
  uint32_t type;           /* enum hg_dump_section_type */
  uint32_t flags;          /* per type, see below */
  uint64_t length;         /* payload bytes, padding excluded */
};

enum hg_dump_section_type {
  HG_DUMP_PROCESS = 1,     /* struct hg_dump_process */
  HG_DUMP_REPORT = 2,      /* struct hg_dump_report */
  HG_DUMP_REPORT_TEXT = 3, /* the text report, UTF-8, not terminated */
  HG_DUMP_SEGMENT = 4,     /* struct hg_dump_segment, then the raw bytes */
};

struct hg_dump_process {
  uint32_t pid;
  uint32_t tid;
  uint64_t unix_time;
  char version[16];        /* heapguard version, NUL-padded */
  uint8_t build_id[20];    /* GNU build id of libheapguard.so, zero-padded */
  uint32_t build_id_size;
  /*
   * The process's secret. The process is gone when the dump is read, and
   * without it the inspector could not verify canaries and checksums. The
   * file is created with mode 0600.
   */
  uint64_t secret[2];
  uint32_t header_size;    /* block header bytes (32) */
  uint32_t granule;        /* block granule bytes (16) */
};

/*
 * The detection that caused the dump: its bug class (enum
 * heapguard_bug_class) and the id of the check that failed (the library's
 * src/checks.inc; 0 for an on-demand dump).
 */
struct hg_dump_report {
  uint32_t bug_class;
  uint32_t check;
  uint64_t address;        /* the address the program passed or touched */
  uint64_t block;          /* header address of the block concerned, or 0 */
  uint64_t segment;        /* segment metadata address, or 0 */
  uint64_t expected;       /* check-specific expected value */
  uint64_t found;          /* check-specific found value */
};

/* Section flags for HG_DUMP_SEGMENT. */
#define HG_DUMP_SEGMENT_DAMAGED 1u   /* the segment the report is about */
#define HG_DUMP_SEGMENT_META_ONLY 2u /* a neighbour: metadata bytes only */

/*
 * The bytes of a segment from its metadata (struct hg_segment, src/segment.h)
 * on; a page the writer could not read ends them early.
 */
struct hg_dump_segment {
  uint64_t address;        /* where the first byte below lived */
  uint64_t length;         /* bytes that follow this struct */
};

/* The layout, fixed: a reader built anywhere must agree with the writer. */
#ifdef __cplusplus
#define HG_DUMP_LAYOUT(cond, what) static_assert(cond, what)
#else
#define HG_DUMP_LAYOUT(cond, what) _Static_assert(cond, what)
#endif
HG_DUMP_LAYOUT(sizeof(struct hg_dump_file_header) == 24, "dump file header");
HG_DUMP_LAYOUT(sizeof(struct hg_dump_section) == 16, "dump section header");
HG_DUMP_LAYOUT(sizeof(struct hg_dump_process) == 80, "dump process section");
HG_DUMP_LAYOUT(sizeof(struct hg_dump_report) == 48, "dump report section");
HG_DUMP_LAYOUT(sizeof(struct hg_dump_segment) == 16, "dump segment section");
#undef HG_DUMP_LAYOUT

#endif
