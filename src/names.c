/*
 * names.c - the names of bug classes, checks, states and kinds.
 */
#include "names.h"

#include "block.h"
#include "segment.h"

#define HG_CHECK(id, number, cls, show, dump, name, detail)                  \
  [number] = { HEAPGUARD_##cls, HG_SHOW_##show, dump, name, detail },
static const struct hg_check_info checks[] = {
#include "checks.inc"
};
#undef HG_CHECK

const struct hg_check_info *hg_check_info(uint32_t id)
{
  if (id >= sizeof checks / sizeof *checks || !checks[id].name)
    return NULL;
  return &checks[id];
}

static const char *const class_names[] = {
  [HEAPGUARD_OK] = "no-error",
  [HEAPGUARD_HEAP_BUFFER_OVERFLOW] = "heap-buffer-overflow",
  [HEAPGUARD_DOUBLE_FREE] = "double-free",
  [HEAPGUARD_INVALID_FREE] = "invalid-free",
  [HEAPGUARD_METADATA_CORRUPTION] = "metadata-corruption",
  [HEAPGUARD_USE_AFTER_FREE] = "heap-use-after-free",
  [HEAPGUARD_ALLOC_DEALLOC_MISMATCH] = "alloc-dealloc-mismatch",
  [HEAPGUARD_SEGMENT_CORRUPTION] = "segment-corruption",
  [HEAPGUARD_ALLOCATION_SIZE_TOO_BIG] = "allocation-size-too-big",
};

const char *hg_bug_class_name(uint32_t c)
{
  return c < sizeof class_names / sizeof *class_names ? class_names[c] : "unknown";
}

const char *hg_state_name(uint16_t state)
{
  switch (state) {
  case HG_STATE_USED:
    return "used";
  case HG_STATE_QUARANTINED:
    return "freed, in quarantine";
  case HG_STATE_FREE:
    return "free";
  }
  return "unknown";
}

const char *hg_alloc_kind_name(uint16_t kind)
{
  switch (kind) {
  case HG_KIND_MALLOC:
    return "malloc";
  case HG_KIND_NEW:
    return "operator new";
  case HG_KIND_NEW_ARRAY:
    return "operator new[]";
  }
  return "an unknown call";
}

const char *hg_release_name(uint16_t kind)
{
  switch (kind) {
  case HG_KIND_MALLOC:
    return "free";
  case HG_KIND_NEW:
    return "operator delete";
  case HG_KIND_NEW_ARRAY:
    return "operator delete[]";
  }
  return "an unknown call";
}

const char *hg_segment_kind_name(uint16_t kind)
{
  switch (kind) {
  case HG_SEGMENT_SHARED:
    return "shared";
  case HG_SEGMENT_LARGE:
    return "dedicated";
  case HG_SEGMENT_GUARD:
    return "guard slots";
  case HG_SEGMENT_ZERO:
    return "zero-size slots";
  }
  return "unknown";
}
