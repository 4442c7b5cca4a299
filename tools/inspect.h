/*
 * inspect.h - the dump inspector's internal interface.
 *
 * The inspector is split so that everything between "bytes of a file" and
 * "a verdict" is a pure function of a memory buffer: the command line tool
 * reads a file and calls hgi_inspect(), the libFuzzer target calls the same
 * function on its input. Stages:
 *
 *   inspect_parse.c   container: file header and sections, every length
 *                     bounded against the buffer before it is used
 *   inspect_walk.c    the damaged segment: metadata, block walk with
 *                     resynchronisation, trailing canaries, poison, free
 *                     links; the entry point
 *   inspect_guard.c   a guard segment instead: its out-of-band slot table
 *   inspect_text.c    text output and the hexdumps
 *   inspect_json.c    JSON output, and the string escaping HTML shares
 *   inspect_html.c    the self-contained HTML page
 *
 * Nothing here trusts the dump: parsed structures are copies, raw segment
 * bytes are (pointer, length) pairs into the caller's buffer, and offsets
 * are checked against those lengths before every read.
 */
#ifndef HG_INSPECT_H
#define HG_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "block.h"
#include "guard.h"
#include "heapguard_dump.h"
#include "names.h"
#include "segment.h"

/* A larger dump is refused rather than read: see docs/dump-format.md. */
#define HGI_MAX_DUMP_BYTES ((size_t)1 << 30)

/* The library writes at most two; more than this is a hostile file. */
#define HGI_MAX_NEIGHBOURS 8u

/*
 * A real segment holds at most HG_SEGMENT_SIZE / 48 blocks (large segments
 * hold one), so these bound only forged dumps, and with them memory.
 */
#define HGI_MAX_BLOCKS ((size_t)1 << 20)
#define HGI_MAX_MARKS ((size_t)1 << 16)

/* Bytes shown on either side of a damaged spot. */
#define HGI_HEXDUMP_CONTEXT 64u

/* Exit statuses, also hgi_inspect()'s return values. */
enum {
  HGI_EXIT_CLEAN = 0,
  HGI_EXIT_DAMAGE = 1,
  HGI_EXIT_ERROR = 2,
};

/* A segment section: where the bytes lived and where they are now. */
struct hgi_image {
  uint64_t address;     /* original address of bytes[0] */
  const uint8_t *bytes; /* into the caller's buffer */
  size_t length;
  struct hg_segment meta; /* copy of the first sizeof(meta) bytes */
};

/* The container, parsed. */
struct hgi_dump {
  size_t file_size;
  uint32_t version;
  unsigned sections;
  unsigned skipped_sections; /* unknown types, skipped as the format says */
  struct hg_dump_process process;
  bool has_report;
  struct hg_dump_report report;
  bool has_text;
  const uint8_t *text; /* not terminated */
  size_t text_length;
  struct hgi_image damaged;
  unsigned neighbour_count;
  struct hgi_image neighbours[HGI_MAX_NEIGHBOURS];
};

/* On failure returns false and leaves a message in err. */
bool hgi_parse(const uint8_t *buf, size_t len, struct hgi_dump *d, char *err,
               size_t errlen);

/* Per-block problems; a block may have several. */
enum {
  HGI_P_BAD_CANARY = 1u << 0,
  HGI_P_BAD_TAG = 1u << 1,
  HGI_P_BAD_STATE = 1u << 2,
  HGI_P_BAD_SIZE = 1u << 3,
  HGI_P_PREV_MISMATCH = 1u << 4,
  HGI_P_TAIL = 1u << 5,
  HGI_P_BAD_LINK = 1u << 6,
  HGI_P_PAST_END = 1u << 7, /* verified header whose size leaves the segment */
  HGI_P_POISON = 1u << 8,   /* quarantined block written after free */
  HGI_P_HEADER_MASK = 0xf,
};

enum hgi_resync {
  HGI_RESYNC_NONE = 0,     /* header verified, its size led to the next */
  HGI_RESYNC_PREV_SIZE,    /* next verified header's prev_size confirms it */
  HGI_RESYNC_SCAN,         /* found by scanning; prev_size does not agree */
  HGI_RESYNC_LOST,         /* nothing verifies up to the end of the segment */
};

enum hgi_link_status {
  HGI_LINK_NULL = 0,
  HGI_LINK_OK,         /* the header of a free block in this segment */
  HGI_LINK_OUTSIDE,    /* outside the dump: cannot be checked */
  HGI_LINK_NEIGHBOUR,  /* inside a dumped neighbour's mapping: not dumped */
  HGI_LINK_DAMAGED,    /* a damaged header: reported there, not here */
  HGI_LINK_MISALIGNED,
  HGI_LINK_NONCANONICAL,
  HGI_LINK_NOT_FREE,   /* a block header, but a used or damaged one */
  HGI_LINK_NOT_HEADER, /* inside this segment, not at a block header */
};

struct hgi_block {
  size_t offset;         /* from the start of the segment image */
  uint64_t address;      /* original header address */
  size_t extent;         /* bytes this entry covers */
  struct hg_block hdr;   /* as found */
  enum hg_header_fault fault;
  unsigned problems;
  uint32_t expected_prev;
  /*
   * The trailing canary (HGI_P_TAIL) or the poison (HGI_P_POISON) as
   * block.c's check found it: offsets from the first byte checked, the
   * requested end or the data start; and how many bytes differ.
   */
  struct hg_damage damage;
  size_t damage_bytes;
  /* free-list links, for verified free blocks (a dedicated segment has none) */
  bool links_checked;
  uint64_t link[2];
  enum hgi_link_status link_status[2];
  /* how the walk got past a damaged header */
  enum hgi_resync resync;
  bool size_field_agrees; /* the damaged header's size matched the resync */
  /*
   * The damaged header with its canary, and size and prev_size where the
   * walk knows them, put back verifies: every other field is as found.
   */
  bool reconstructed;
  struct hg_block original;
};

/* What a damaged spot belongs to. */
enum hgi_mark_owner {
  HGI_MARK_BLOCK, /* index: into blocks */
  HGI_MARK_SLOT,  /* index: into the guard slots, its table entry */
  HGI_MARK_TABLE, /* the guard slot table's own header */
};

/* A damaged spot: bytes to show, with what should have been there. */
#define HGI_MARK_MAX 64u
struct hgi_mark {
  size_t offset;       /* into the segment image */
  size_t length;       /* <= HGI_MARK_MAX */
  enum hgi_mark_owner owner;
  size_t index;
  const char *what;    /* "leading canary", "trailing canary", ... */
  uint8_t expected[HGI_MARK_MAX];
  bool known[HGI_MARK_MAX]; /* expected[i] is meaningful */
};

/* Contiguous ranges of the image shown as one hexdump. */
struct hgi_window {
  size_t offset, length;
};

/* ---- guard segments (inspect_guard.c) ---- */

/* Real tables hold a few hundred slots: this bounds forged ones' memory. */
#define HGI_MAX_SLOTS ((size_t)1 << 16)

/* Problems of a guard segment's slot table as a whole. */
enum {
  HGI_T_NOT_DUMPED = 1u << 0, /* the dump ends before the table's header */
  HGI_T_GEOMETRY = 1u << 1,   /* slot count and pages do not fit the segment */
  HGI_T_LIVE = 1u << 2,       /* live is not the number of used slots */
  HGI_T_FREE_LIST = 1u << 3,  /* the free list is broken */
  HGI_T_OPEN_LINK = 1u << 4,  /* prev or next names no segment */
  HGI_T_TOO_MANY = 1u << 5,   /* decoding stopped at HGI_MAX_SLOTS */
};

/* Problems of one slot, judged by its state. */
enum {
  HGI_S_STATE = 1u << 0,      /* not an enum hg_slot_state */
  HGI_S_NOT_CLEAR = 1u << 1,  /* never used, yet holds a block's fields */
  HGI_S_KIND = 1u << 2,       /* not an allocation kind */
  HGI_S_ALIGNMENT = 1u << 3,  /* not a power of two, or the data not aligned */
  HGI_S_OUTSIDE = 1u << 4,    /* the block leaves the slot's data pages */
  HGI_S_FREE_STACK = 1u << 5, /* in use, yet a free stack is recorded */
};

enum hgi_free_list {
  HGI_FREE_LIST_OK = 0,
  HGI_FREE_LIST_UNDUMPED,   /* a link names a slot past the dump: not followed */
  HGI_FREE_LIST_NOT_A_SLOT, /* a link names no slot of this table */
  HGI_FREE_LIST_NOT_FREE,   /* a link names a slot in use or in quarantine */
  HGI_FREE_LIST_LOOP,       /* a link names a slot already on the list */
  HGI_FREE_LIST_LENGTH,     /* the list is not free_count slots long */
};

/* One entry of the slot table (struct hg_guard_slot), as found. */
struct hgi_slot {
  size_t offset;       /* of its table entry in the image */
  uint64_t next, requested, alignment;
  uint32_t data_off, alloc_stack, free_stack;
  uint16_t state, kind;
  uint64_t data;       /* original address of its block's data; 0 unknown */
  unsigned problems;   /* HGI_S_* */
  bool on_free_list;
};

/* The slot table (struct hg_guard_meta and its slots), decoded. */
struct hgi_guard {
  uint32_t slot_pages, slot_count, live, class_index, free_count;
  uint64_t free_slots, prev, next;
  unsigned problems;   /* HGI_T_* */
  bool geometry_sane;  /* so slot i's pages are where guard.h says */
  size_t slot_total;   /* slots decoded: those dumped, at most slot_count */
  struct hgi_slot *slots;
  size_t used, quarantined, freed, unused, damaged_slots;
  enum hgi_free_list free_list;
  size_t free_list_length;
  bool free_list_from_head; /* the bad link is free_slots, */
  size_t free_list_from;    /* else this slot's next */
  uint64_t free_list_target;
};

/* Hexdumps beyond this many, or this many bytes, are summarised. */
#define HGI_MAX_WINDOWS 64u
#define HGI_MAX_HEXDUMP_BYTES ((size_t)128 << 10)

struct hgi_analysis {
  struct hg_key key;
  enum hg_segment_fault meta_fault;
  enum hg_segment_fault neighbour_fault[HGI_MAX_NEIGHBOURS];
  size_t first, end;       /* walked range [first, end) of the image */
  bool first_assumed;      /* metadata untrusted: first_block assumed */
  bool end_assumed;        /* metadata untrusted: end taken from the dump */
  bool dump_short;         /* the image holds fewer bytes than meta.end */
  size_t leftover;         /* bytes between the last block and end */
  bool overrun;            /* last verified block leaves the segment */
  bool cut;                /* last verified block goes on past the dump (dump_short) */
  bool lost;               /* the walk gave up resynchronising */
  bool too_many;           /* stopped at HGI_MAX_BLOCKS */
  size_t marks_dropped;    /* damaged spots past HGI_MAX_MARKS */
  size_t block_count, block_cap;
  struct hgi_block *blocks;
  size_t mark_count, mark_cap;
  struct hgi_mark *marks;
  size_t window_count;
  struct hgi_window *windows;
  size_t damaged_blocks;
  size_t problems;         /* everything that makes the exit status 1 */
  bool report_block_found;
  size_t report_block;     /* index of the reported block, when found */
  /* A guard segment has no blocks to walk: its slot table instead. */
  bool guard_segment;
  struct hgi_guard guard;
  bool report_slot_found;
  size_t report_slot;      /* the slot whose pages hold the report's address */
  /* A zero segment's blocks have no bytes and no headers: nothing to walk. */
  bool zero_segment;
};

/* False only when out of memory; the analysis is freed by hgi_free. */
bool hgi_analyse(const struct hgi_dump *d, struct hgi_analysis *a);
void hgi_free(struct hgi_analysis *a);

/* A damaged spot to hexdump; NULL past HGI_MAX_MARKS or out of memory. */
struct hgi_mark *hgi_push_mark(struct hgi_analysis *a, enum hgi_mark_owner owner,
                               size_t index, size_t offset, size_t length,
                               const char *what);

/* Decode and check a guard segment's slot table; false when out of memory. */
bool hgi_guard_decode(const struct hgi_dump *d, struct hgi_analysis *a);
/* The slot whose data or guard page holds address, if the table says. */
bool hgi_guard_slot_of(const struct hgi_dump *d, const struct hgi_analysis *a,
                       uint64_t address, size_t *slot);
/* A slot state as the library names the like block state; "never used". */
const char *hgi_slot_state_name(uint16_t state);
const char *hgi_free_list_name(enum hgi_free_list f);
/* "OK", or the slot's problems: "bad kind; block outside its slot". */
void hgi_slot_status(const struct hgi_slot *s, char *buf, size_t n);
/* The words for one HGI_T_* problem. */
const char *hgi_table_problem_name(unsigned bit);

/* Naming shared by the outputs; classes, states and kinds come from names.h. */
/* A report's check by name: "none" for 0 (an on-demand dump), else "unknown". */
const char *hgi_check_name(uint32_t check);
const char *hgi_link_status_name(enum hgi_link_status s);
bool hgi_link_is_bad(enum hgi_link_status s);
const char *hgi_resync_name(enum hgi_resync r);
/* "bad canary; trailing canary damaged at +3 bytes", or "OK". */
void hgi_block_status(const struct hgi_block *b, char *buf, size_t n);
/* snprintf at buf + *at, advancing *at; does nothing once buf is full. */
__attribute__((format(printf, 4, 5))) void hgi_append(char *buf, size_t n,
                                                      size_t *at,
                                                      const char *fmt, ...);

void hgi_print_text(FILE *out, const char *name, const struct hgi_dump *d,
                    const struct hgi_analysis *a);
void hgi_print_json(FILE *out, const char *name, const struct hgi_dump *d,
                    const struct hgi_analysis *a);
void hgi_print_html(FILE *out, const char *name, const struct hgi_dump *d,
                    const struct hgi_analysis *a);

/* Length of the valid UTF-8 sequence at s, 0 if none starts there. */
size_t hgi_utf8_sequence(const uint8_t *s, size_t n);

/* Text for a terminal: controls and invalid UTF-8 as \xNN escapes. */
void hgi_text_string(FILE *out, const uint8_t *s, size_t n, bool newlines);

/* ISO 8601 UTC for unix_time, "?" when it is not representable. */
void hgi_format_time(uint64_t unix_time, char *buf, size_t n);

/* JSON string body: escapes controls, quotes, <>& and invalid UTF-8. */
void hgi_json_string(FILE *out, const uint8_t *s, size_t n);

struct hgi_options {
  bool json;
  FILE *html;    /* write the HTML page here too, or NULL */
  const char *name;
};

/*
 * Parse, analyse, print. Returns HGI_EXIT_*; on HGI_EXIT_ERROR a message
 * has gone to err and nothing to out.
 */
int hgi_inspect(const uint8_t *buf, size_t len, const struct hgi_options *o,
                FILE *out, FILE *err);

#endif
