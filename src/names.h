/*
 * names.h - the one source of every name heapguard prints or writes: bug
 * classes, checks (checks.inc), block states, allocation kinds and segment
 * kinds.
 *
 * Pure: shared by the library and the dump inspector, so that a dump is
 * named exactly as the report that made it, whatever version reads it.
 */
#ifndef HG_NAMES_H
#define HG_NAMES_H

#include <stdbool.h>
#include <stdint.h>

#include "heapguard.h"

/* How a finding of a check is described (report.c). */
enum hg_check_show {
  HG_SHOW_VALUES,        /* "check failed: <name>: expected X, found Y" */
  HG_SHOW_DAMAGE_AFTER,  /* bytes written past the requested end */
  HG_SHOW_DAMAGE_BEFORE, /* bytes written before the block's start */
  HG_SHOW_DAMAGE_FREED,  /* bytes written into a freed block */
  HG_SHOW_FREED,         /* the block was already freed */
  HG_SHOW_POINTER,       /* where inside a block a pointer points */
  HG_SHOW_FOREIGN,       /* a pointer into no block at all */
  HG_SHOW_MISMATCH,      /* allocation and release functions differ */
  HG_SHOW_SIZE,          /* a sized delete with the wrong size */
  HG_SHOW_ACCESS,        /* a faulting access in guard mode */
  HG_SHOW_GUARD_TABLE,   /* a guard segment's slot table is not sane */
  HG_SHOW_SIZE_LIMIT,    /* a request larger than max_allocation */
};

enum hg_check {
  HG_CHECK_NONE = 0,
#define HG_CHECK(id, number, cls, show, dump, name, detail) HG_CHECK_##id = number,
#include "checks.inc"
#undef HG_CHECK
};

struct hg_check_info {
  enum heapguard_bug_class bug_class;
  enum hg_check_show show;
  bool dump;          /* a finding means a segment was damaged: dump it */
  const char *name;   /* the check's words */
  const char *detail; /* what its description style adds, or "" */
};

/* The table entry of check id; NULL for an id no version has issued. */
const struct hg_check_info *hg_check_info(uint32_t id);

/* "heap-buffer-overflow", ...; "unknown" outside the enum. */
const char *hg_bug_class_name(uint32_t c);
/* A block state: "used", "freed, in quarantine", "free"; "unknown" else. */
const char *hg_state_name(uint16_t state);
/* The call a block was allocated with: "malloc", "operator new", ... */
const char *hg_alloc_kind_name(uint16_t kind);
/* The call that releases a block of that kind: "free", "operator delete", ... */
const char *hg_release_name(uint16_t kind);
/* A segment kind: "shared", "dedicated", "guard slots", "zero-size slots"; "unknown" else. */
const char *hg_segment_kind_name(uint16_t kind);

#endif
