/*
 * test_detect.c - death tests: every detection, run as a real program
 * under LD_PRELOAD, must abort with SIGABRT and the exact report text:
 * the bug class and operation, the check's own words, and a backtrace
 * naming the program's function that made the call.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

struct bug_case {
  const char *program;
  const char *headline;  /* "ERROR: heapguard: <class> in <op>(" */
  const char *detail;    /* words of the failed check */
  const char *summary;   /* "SUMMARY: heapguard: <class> in <function>" */
  int dumps;             /* dumps expected: 0 or 1 */
  const char *options;   /* HEAPGUARD_OPTIONS for the run, or NULL */
  const char *also;      /* another fragment the report must hold, or NULL */
  const char *arg;       /* the program's argument, or NULL */
};

/* One byte past a block in use that nothing frees: the heap check at exit. */
#define LIVE_OVERFLOW_AT_EXIT(size, dumps, options, where, also)             \
  { "live_damage_at_exit", "heap-buffer-overflow in the heap check at exit by thread", \
    "1 byte written past the end of a " size "-byte block, at offsets " size " to " size \
    " of its data" where,                                                    \
    "heap-buffer-overflow at exit, in a block allocated in overflow_kept_block", dumps, options, \
    also, "overflow=" size }

#define OVERFLOW_OF(size)                                                     \
  { "overflow_sizes", "heap-buffer-overflow in free(",                       \
    "1 byte written past the end of a " #size "-byte block, at offsets " #size, \
    "heap-buffer-overflow in overflow_by_one", 1, NULL, NULL, #size }

/*
 * A misuse of a zero-size block (zero_size.c), the same in every mode: in
 * the default mode and in guard mode.
 */
#define ZERO_SIZE(arg, headline, detail, function, dumps, also)              \
  { "zero_size", headline, detail, function, dumps, NULL, also, arg },        \
  { "zero_size", headline, detail, function, dumps, "guard_mode=all", also, arg }

/*
 * guard_alignment=1: a 1-byte read or write past a block of any size
 * faults on the guard page, in guard_mode=all and in a sampled mode that
 * guards every block.
 */
#define EXACT_GUARD "guard_mode=all:guard_alignment=1"
#define EXACT_SAMPLE "guard_mode=sample:guard_sample=1:guard_alignment=1"
#define PAST_END_OF(op, word, fn, size, options)                              \
  { "guard_overflow_exact", "heap-buffer-overflow in " op "(",                 \
    ": offset " #size " of a " #size "-byte block, 0 bytes after its end; it hit the guard " \
    "page after the block", "heap-buffer-overflow in " fn, 0, options,         \
    "the block was allocated by thread ", word "=" #size }
#define READ_PAST_END_OF(size, options) PAST_END_OF("READ", "read", "read_past_end", size, options)
#define WRITE_PAST_END_OF(size, options)                                      \
  PAST_END_OF("WRITE", "write", "write_past_end", size, options)

#define ZERO_ACCESSED ": in a zero-size block, which has no byte to read or write"

static const struct bug_case cases[] = {
  /* Its first byte is already past the end of a zero-size block: it faults. */
  { "overflow_sizes", "heap-buffer-overflow in READ(", ZERO_ACCESSED,
    "heap-buffer-overflow in clobber", 0, NULL, "in overflow_by_one+0x", "0" },
  OVERFLOW_OF(1), OVERFLOW_OF(15), OVERFLOW_OF(16), OVERFLOW_OF(17),
  OVERFLOW_OF(4095), OVERFLOW_OF(65537), OVERFLOW_OF(1048543), OVERFLOW_OF(1048576),
  OVERFLOW_OF(9999999),
  { "overflow_in_thread", "heap-buffer-overflow in free(",
    "1 byte written past the end of a 77-byte block", "heap-buffer-overflow in worker_overflows",
    1, NULL, "the block was allocated by thread " },
  { "overflow_found_later", "heap-buffer-overflow in a periodic heap check by thread",
    "1 byte written past the end of a 30-byte block, at offsets 31 to 31",
    "heap-buffer-overflow in keep_allocating", 1, "check_every=50", NULL },
  { "overflow_1byte", "heap-buffer-overflow in free(",
    "1 byte written past the end of a 13-byte block, at offsets 13 to 13",
    "heap-buffer-overflow in write_one_past_end", 1 },
  { "overflow_nul", "heap-buffer-overflow in free(",
    "1 byte written past the end of a 16-byte block", "heap-buffer-overflow in main", 1 },
  { "overflow_large", "heap-buffer-overflow in free(",
    "1 byte written past the end of a 3145728-byte block",
    "heap-buffer-overflow in overflow_big_buffer", 1 },
  { "overflow_realloc", "heap-buffer-overflow in realloc(",
    "1 byte written past the end of a 100-byte block, at offsets 103 to 103",
    "heap-buffer-overflow in grow_after_overflow", 1 },
  { "overflow_realloc_within", "heap-buffer-overflow in free(",
    "1 byte written past the end of a 98-byte block, at offsets 98 to 98",
    "heap-buffer-overflow in overflow_after_resize", 1, NULL, NULL, "shrink" },
  { "overflow_realloc_within", "heap-buffer-overflow in free(",
    "1 byte written past the end of a 110-byte block, at offsets 110 to 110",
    "heap-buffer-overflow in overflow_after_resize", 1, NULL, NULL, "grow" },
  { "overflow_realloc_within", "heap-buffer-overflow in realloc(",
    "1 byte written past the end of a 100-byte block, at offsets 103 to 103",
    "heap-buffer-overflow in overflow_before_resize", 1, NULL, NULL, "before" },
  { "usable_size_overflow", "heap-buffer-overflow in malloc_usable_size(",
    "past the end of a 10-byte block, at offsets 12 to 12",
    "heap-buffer-overflow in measure_damaged", 1 },
  { "double_free", "double-free in free(", "the block was already freed",
    "double-free in free_twice", 0, NULL, "the block was freed by thread " },
  { "double_free", "double-free in free(", "the block was already freed",
    "double-free in free_twice", 0, NULL, "80 bytes, freed, in quarantine, 40 bytes requested" },
  { "double_free_recycled", "double-free in free(", "the block was already freed",
    "double-free in free_again", 0, NULL,
    "80 bytes, freed, out of the quarantine, kept for reuse by a thread, 40 bytes requested" },
  { "double_free_recycled", "double-free in free(", "the block was already freed",
    "double-free in free_again", 0, NULL, "the block was freed by thread " },
  /* Without stacks, every free stack is 0: where the block waits is found all the same. */
  { "double_free_recycled", "double-free in free(", "the block was already freed",
    "double-free in free_again", 0, "alloc_stacks=0",
    "80 bytes, freed, out of the quarantine, kept for reuse by a thread, 40 bytes requested" },
  { "double_free", "double-free in free(", "the block was already freed",
    "double-free in free_twice", 0, "quarantine_bytes=0", "the block was freed by thread " },
  { "double_free_merged", "double-free in free(", "the block was already freed",
    "double-free in free_merged_twice", 0 },
  { "double_free_large", "double-free in free(", "the block was already freed",
    "double-free in free_large_twice", 0 },
  { "invalid_free_interior", "invalid-free in free(",
    "pointer into the middle of a block: offset 24", "invalid-free in free_interior", 0 },
  { "invalid_free_stack", "invalid-free in free(", "not in any heapguard segment",
    "invalid-free in free_stack", 0 },
  { "invalid_free_global", "invalid-free in free(", "not in any heapguard segment",
    "invalid-free in free_global", 0 },
  { "header_smash", "metadata-corruption in free(", "check failed: header canary",
    "metadata-corruption in forge_next_header", 1 },
  /* Metadata forged from what was read of other metadata (bugs/forge.h). */
  { "forge_from_leak", "invalid-free in free(",
    "pointer into the middle of a block: offset 96 from the start of block data",
    "invalid-free in free_forged_block", 0 },
  { "forge_grow", "metadata-corruption in free(", "check failed: header tag",
    "metadata-corruption in grow_over_neighbour", 1 },
  { "forge_grow", "metadata-corruption in the heap check at exit", "check failed: header tag",
    NULL, 1, "check_on_exit=1", NULL, "plant" },
  { "forge_tail", "heap-buffer-overflow in free(", "written past the end of a 58-byte block",
    "heap-buffer-overflow in overflow_with_leaked_canary", 1 },
  { "forge_link", "metadata-corruption in malloc by thread", "check failed: free-list link",
    "metadata-corruption in follow_forged_link", 1, "quarantine_bytes=0" },
  { "replay_header", "invalid-free in free(",
    "pointer into the middle of a block: offset 4096 from the start of block data",
    "invalid-free in free_replayed_header", 0, "quarantine_bytes=1" },
  { "underflow", "metadata-corruption in free(", "check failed: header tag",
    "metadata-corruption in write_before_start", 1 },
  { "underflow", "heap-buffer-overflow in free(",
    "1 byte written before the start of a 24-byte block, at offsets -2 to -2",
    "heap-buffer-overflow in write_before_start", 0, "guard_mode=all", "leading canary at " },
  { "use_after_free_link", "metadata-corruption in malloc by thread",
    "check failed: free-list link", "metadata-corruption in write_after_free", 1,
    "quarantine_bytes=0", NULL },
  { "use_after_free_top", "metadata-corruption in malloc by thread",
    "check failed: free-list link", "metadata-corruption in write_after_free_into_top", 1,
    "quarantine_bytes=0", NULL },
  { "use_after_free_write", "heap-use-after-free in free(",
    "1 byte written after free to a 40-byte block, at offsets 5 to 5 of its data (found as the "
    "block left the quarantine)",
    "heap-use-after-free in churn_until_evicted", 1, NULL,
    "the block was freed by thread " },
  { "use_after_free_write", "heap-use-after-free in free(",
    "1 byte written after free to a 40-byte block, at offsets 5 to 5",
    "heap-use-after-free in churn_until_evicted", 1, NULL,
    "80 bytes, freed, leaving the quarantine, 40 bytes requested" },
  { "use_after_free_recycled", "heap-use-after-free in malloc by thread",
    "1 byte written after free to a 40-byte block, at offsets 5 to 5 of its data (found as the "
    "block was about to be reused)",
    "heap-use-after-free in allocate_same_size", 1, NULL,
    "the block was freed by thread " },
  { "use_after_free_recycled", "heap-use-after-free in malloc by thread",
    "1 byte written after free to a 40-byte block, at offsets 5 to 5",
    "heap-use-after-free in allocate_same_size", 1, NULL,
    "80 bytes, freed, out of the quarantine, taken for reuse, 40 bytes requested" },
  /* Its thread's end finds it, where no program frame runs: the summary names the allocation. */
  { "use_after_free_thread_cache", "heap-use-after-free in the end of a thread by thread",
    "1 byte written after free to a 40-byte block, at offsets 5 to 5 of its data (found as the "
    "block left a thread's cache or its arena's pool, where it waited after the quarantine)",
    "heap-use-after-free at the end of a thread, in a block allocated in allocate_and_free", 1,
    NULL, "the block was freed by thread " },
  { "use_after_free_pooled", "heap-use-after-free in malloc by thread",
    "1 byte written after free to a 48-byte block, at offsets 5 to 5 of its data (found as the "
    "block was about to be reused)",
    "heap-use-after-free in allocate_again", 1, NULL,
    "the block was freed by thread " },
  { "use_after_free_recursive", "heap-use-after-free in malloc by thread",
    "8 bytes written after free to a 24-byte block, at offsets 16 to 23",
    "heap-use-after-free in build", 1, NULL, "the block was freed by thread " },
  { "use_after_free_exit", "heap-use-after-free in the heap check at exit by thread",
    "8 bytes written after free to a 64-byte block, at offsets 24 to 31 of its data (found by a "
    "heap check)",
    "heap-use-after-free at exit, in a block allocated in write_after_free", 1, NULL,
    "the block was allocated by thread " },
  { "use_after_free_exit", "heap-use-after-free in the heap check at exit by thread",
    "8 bytes written after free to a 64-byte block, at offsets 24 to 31",
    "heap-use-after-free at exit, in a block allocated in write_after_free", 1,
    "check_on_exit=1", NULL },
  /* Damage to blocks no free meets: the heap check at exit, on by default. */
  { "live_damage_at_exit", "heap-buffer-overflow in the heap check at exit by thread",
    "1 byte written past the end of a 24-byte block, at offsets 24 to 24",
    "heap-buffer-overflow at exit, in a block allocated in overflow_kept_block", 1, NULL,
    "found by the heap check at exit", "overflow" },
  LIVE_OVERFLOW_AT_EXIT("100", 1, NULL, "", "found by the heap check at exit"),
  LIVE_OVERFLOW_AT_EXIT("1000", 1, NULL, "", "found by the heap check at exit"),
  LIVE_OVERFLOW_AT_EXIT("24", 0, "guard_mode=all", " (in the slack before its guard page)",
                        "guarded block 0x"),
  LIVE_OVERFLOW_AT_EXIT("1000", 0, "guard_mode=all", " (in the slack before its guard page)",
                        "guarded block 0x"),
  { "live_damage_at_exit", "metadata-corruption in the heap check at exit by thread",
    "check failed: header", NULL, 1, NULL, "SUMMARY: heapguard: metadata-corruption at exit",
    "underflow" },
  /* In guard mode the bytes before a block are a keyed canary. */
  { "live_damage_at_exit", "heap-buffer-overflow in the heap check at exit by thread",
    "1 byte written before the start of a 100-byte block, at offsets -3 to -3 of its data",
    "heap-buffer-overflow at exit, in a block allocated in underflow_kept_block", 0,
    "guard_mode=all", "guarded block 0x", "underflow" },
  { "live_damage_at_exit", "heap-use-after-free in the heap check at exit by thread",
    "1 byte written after free to a 2097152-byte block, at offsets 8 to 8",
    "heap-use-after-free at exit, in a block allocated in write_freed_large_block", 1, NULL,
    "the block was freed by thread ", "large" },
  /* A freed large block's pages are inaccessible until reused. */
  { "use_after_free_large", "heap-use-after-free in WRITE(",
    "offset 1048576 of a 2097152-byte block that was freed",
    "heap-use-after-free in touch_after_free", 0, NULL, "the block was freed by thread ",
    "write" },
  { "use_after_free_large", "heap-use-after-free in READ(",
    "offset 2097151 of a 2097152-byte block that was freed",
    "heap-use-after-free in touch_after_free", 0, NULL, "the block was allocated by thread ",
    "read" },
  /* The bytes of its first page stay accessible, poisoned, and are checked. */
  { "use_after_free_large", "heap-use-after-free in malloc by thread",
    "1 byte written after free to a 2097252-byte block, at offsets 16 to 16 of its data (found "
    "as the block was about to be reused)",
    "heap-use-after-free in allocate_large_again", 1, NULL, "the block was freed by thread ",
    "head" },
  { "use_after_free_large", "heap-use-after-free in the heap check at exit by thread",
    "1 byte written after free to a 2097252-byte block, at offsets 16 to 16 of its data (found "
    "by a heap check)",
    "heap-use-after-free at exit, in a block allocated in write_head_after_free", 1, NULL,
    "the block was freed by thread ", "head_at_exit" },
  { "segment_smash", "segment-corruption in WRITE(",
    "WRITE of address 0x", "segment-corruption in smash_segment", 0, NULL,
    ": the metadata page of a segment", "write" },
  { "segment_smash", "segment-corruption in the heap check at exit",
    "check failed: segment checksum", "segment-corruption at exit", 1, NULL, NULL,
    "unprotect" },
  /* Guard mode: the access itself faults on a PROT_NONE page. */
  { "guard_overflow_read", "heap-buffer-overflow in READ(",
    "READ of address 0x", "heap-buffer-overflow in read_one_past_end", 0,
    "guard_mode=all", "offset 16 of a 16-byte block, 0 bytes after its end" },
  { "guard_use_after_free_read", "heap-use-after-free in READ(",
    "offset 4 of a 24-byte block that was freed", "heap-use-after-free in read_after_free", 0,
    "guard_mode=all", "the block was freed by thread " },
  { "guard_use_after_free_write", "heap-use-after-free in WRITE(",
    "offset 30 of a 40-byte block that was freed", "heap-use-after-free in write_after_free",
    0, "guard_mode=all", "the block was allocated by thread " },
  /* With guard_recycle=1 a freed small block waits accessible: its poison tells. */
  { "guard_recycle_write", "heap-use-after-free in malloc(",
    "1 byte written after free to a 40-byte block, at offsets 30 to 30",
    "heap-use-after-free in churn", 0, "guard_mode=all:guard_recycle=1",
    "the block was freed by thread " },
  { "guard_recycle_write", "heap-use-after-free in the heap check at exit",
    "1 byte written after free to a 40-byte block, at offsets 30 to 30",
    "heap-use-after-free at exit, in a block allocated in write_after_free", 0,
    "guard_mode=all:guard_recycle=1",
    "the block was freed by thread ", "exit" },
  { "guard_use_after_free_write", "heap-use-after-free in WRITE(",
    "offset 30 of a 40-byte block that was freed", "heap-use-after-free in write_after_free",
    0, "guard_mode=all:guard_recycle=0", "the block was allocated by thread " },
  { "guard_underflow", "heap-buffer-overflow in WRITE(",
    "offset -1 of a 24-byte block, 1 byte before its start",
    "heap-buffer-overflow in write_before_start", 0, "guard_mode=all:guard_underflow=1",
    "hit the guard page before the block" },
  { "guard_overflow_read", "heap-buffer-overflow in READ(",
    "offset 16 of a 16-byte block", "heap-buffer-overflow in read_one_past_end", 0,
    "guard_mode=sample:guard_sample=1" },
  READ_PAST_END_OF(13, EXACT_GUARD), READ_PAST_END_OF(24, EXACT_GUARD),
  READ_PAST_END_OF(100, EXACT_GUARD), READ_PAST_END_OF(1000, EXACT_GUARD),
  READ_PAST_END_OF(4095, EXACT_GUARD), READ_PAST_END_OF(13, EXACT_SAMPLE),
  READ_PAST_END_OF(1000, EXACT_SAMPLE),
  WRITE_PAST_END_OF(13, EXACT_GUARD), WRITE_PAST_END_OF(24, EXACT_GUARD),
  WRITE_PAST_END_OF(100, EXACT_GUARD), WRITE_PAST_END_OF(1000, EXACT_GUARD),
  WRITE_PAST_END_OF(70001, EXACT_GUARD), WRITE_PAST_END_OF(24, EXACT_SAMPLE),
  WRITE_PAST_END_OF(100, EXACT_SAMPLE),
  /* At malloc's alignment a write into the slack is found at free, by its canary. */
  { "guard_overflow_exact", "heap-buffer-overflow in free(",
    "1 byte written past the end of a 1000-byte block, at offsets 1000 to 1000",
    "heap-buffer-overflow in write_past_end", 0, "guard_mode=all",
    "(in the slack before its guard page)", "write=1000" },
  /* Guarded blocks keep the byte-precise canary in their alignment slack. */
  { "overflow_1byte", "heap-buffer-overflow in free(",
    "1 byte written past the end of a 13-byte block, at offsets 13 to 13",
    "heap-buffer-overflow in write_one_past_end", 0, "guard_mode=all" },
  { "double_free", "double-free in free(", "the block was already freed",
    "double-free in free_twice", 0, "guard_mode=all", "the block was freed by thread " },
  { "invalid_free_interior", "invalid-free in free(",
    "pointer into the middle of a guarded block: offset 24", "invalid-free in free_interior",
    0, "guard_mode=all" },
  { "mismatch_new_array_delete", "alloc-dealloc-mismatch in operator delete(",
    "allocated with operator new[], released with operator delete (use operator delete[])",
    "alloc-dealloc-mismatch in delete_array_as_scalar", 0 },
  { "mismatch_new_array_free", "alloc-dealloc-mismatch in free(",
    "allocated with operator new[], released with free (use operator delete[])",
    "alloc-dealloc-mismatch in free_new_array", 0 },
  { "mismatch_malloc_delete", "alloc-dealloc-mismatch in operator delete(",
    "allocated with malloc, released with operator delete (use free)",
    "alloc-dealloc-mismatch in delete_malloced", 0 },
  { "mismatch_new_free", "alloc-dealloc-mismatch in free(",
    "allocated with operator new, released with free (use operator delete)",
    "alloc-dealloc-mismatch in free_new_object", 0 },
  { "mismatch_new_delete_array", "alloc-dealloc-mismatch in operator delete[](",
    "allocated with operator new, released with operator delete[] (use operator delete)",
    "alloc-dealloc-mismatch in delete_scalar_as_array", 0 },
  { "sized_delete_wrong_size", "alloc-dealloc-mismatch in operator delete(",
    "operator delete was given size 4, but the block was allocated with size 64",
    "alloc-dealloc-mismatch in delete_through_base", 0 },
  { "double_delete", "double-free in operator delete(", "the block was already freed",
    "double-free in delete_twice", 0 },
  /*
   * Arrays of objects with destructors: new[] keeps the element count in
   * the 8 bytes before the first element, and only delete[] knows it.
   */
#define COOKIE_SKIPPED(options)                                               \
  { "mismatch_cookie_array_delete", "alloc-dealloc-mismatch in operator delete(",  \
    "allocated with operator new[], released with operator delete (use operator delete[])", \
    "alloc-dealloc-mismatch in delete_array_as_object", 0, options,        \
    "the pointer is 8 bytes into the block: the first element of an array" }
  COOKIE_SKIPPED(NULL), COOKIE_SKIPPED("guard_mode=all"),
  COOKIE_SKIPPED("guard_mode=all:guard_underflow=1"),
#define COOKIE_INVENTED(options, arg)                                         \
  { "mismatch_cookie_delete_array", "alloc-dealloc-mismatch in operator delete[](", \
    "allocated with operator new, released with operator delete[] (use operator delete)", \
    "alloc-dealloc-mismatch in delete_object_as_array", 0, options,        \
    "the pointer is 8 bytes before the block's data: delete[] read", arg }
  COOKIE_INVENTED(NULL, "quiet"), COOKIE_INVENTED(NULL, "noisy"),
  COOKIE_INVENTED("guard_mode=all", "quiet"), COOKIE_INVENTED("guard_mode=all", "noisy"),
  COOKIE_INVENTED("guard_mode=sample:guard_sample=1", "quiet"),
  /* A block at the start of its page: reading the count faults. */
  { "mismatch_cookie_delete_array", "alloc-dealloc-mismatch in READ(",
    "8 bytes before its start, where delete[] reads the element count of an array",
    "alloc-dealloc-mismatch in delete_object_as_array", 0,
    "guard_mode=all:guard_underflow=1",
    "allocated with operator new, released with operator delete[] (use operator delete)",
    "noisy" },
  { "double_delete_array_virtual", "double-free in operator delete[](",
    "the block was already freed", "double-free in delete_array_twice", 0 },
  /* Guard mode: the freed array is inaccessible, its count included. */
  { "double_delete_array_virtual", "heap-use-after-free in READ(",
    "offset 0 of a 72-byte block that was freed: its first 8 bytes, where the element count",
    "heap-use-after-free in delete_array_twice", 0, "guard_mode=all",
    "which a second delete[] of the array reads first" },
  /* Zero-size blocks: pointers into PROT_NONE slots, in every mode. */
  ZERO_SIZE("read", "heap-buffer-overflow in READ(", ZERO_ACCESSED,
            "heap-buffer-overflow in read_zero_size", 0, "the block was allocated by thread "),
  ZERO_SIZE("write", "heap-buffer-overflow in WRITE(", ZERO_ACCESSED,
            "heap-buffer-overflow in write_zero_size", 0, "the block was allocated by thread "),
  ZERO_SIZE("calloc", "heap-buffer-overflow in READ(", ZERO_ACCESSED,
            "heap-buffer-overflow in read_zero_calloc", 0,
            " (the address is 3 bytes past it): 0 bytes requested with malloc, in use"),
  ZERO_SIZE("realloc", "heap-buffer-overflow in WRITE(", ZERO_ACCESSED,
            "heap-buffer-overflow in write_zero_realloc", 0, "the block was allocated by thread "),
  ZERO_SIZE("after-free", "heap-use-after-free in READ(",
            ": in a zero-size block that was freed", "heap-use-after-free in read_after_free", 0,
            "the block was freed by thread "),
  ZERO_SIZE("double-free", "double-free in free(",
            "the block was already freed (a zero-size block)", "double-free in free_zero_size_twice",
            0,
            "the block was freed by thread "),
  ZERO_SIZE("interior", "invalid-free in free(",
            "pointer past a zero-size block: offset 1 from the start of block data at 0x",
            "invalid-free in free_past_start", 0, "the block was allocated by thread "),
  ZERO_SIZE("unused", "heap-buffer-overflow in READ(",
            ": in a segment of zero-size blocks, but in no block",
            "heap-buffer-overflow in read_unused_slot", 0, "zero-size slots"),
  ZERO_SIZE("free-unused", "invalid-free in free(",
            "address is inside a segment of zero-size blocks but in no block",
            "invalid-free in free_unused_slot", 0, "zero-size slots"),
  ZERO_SIZE("table", "segment-corruption in malloc by thread",
            "check failed: zero-size slot table: expected 0x1fe00, found 0x7fffffff",
            "segment-corruption in smash_slot_table", 1, NULL),
  { "zero_size_new", "heap-buffer-overflow in WRITE(", ZERO_ACCESSED,
    "heap-buffer-overflow in write_empty_array()", 0, NULL,
    "0 bytes requested with operator new[], in use", "write" },
  { "zero_size_new", "alloc-dealloc-mismatch in free(",
    "allocated with operator new[], released with free (use operator delete[])",
    "alloc-dealloc-mismatch in free_empty_array()", 0, "guard_mode=all", NULL, "free" },
  /* C++ names demangled, in frames and SUMMARY. */
  { "cxx_names", "double-free in operator delete[](", "the block was already freed",
    "double-free in geo::Cloud<geo::Point>::release()", 0, NULL,
    "in geo::Cloud<geo::Point>::release()+0x" },
  /* max_allocation: a negative size is a bug, not a mere ENOMEM. */
  { "negative_size", "allocation-size-too-big in malloc by thread",
    "malloc was asked for 18446744073709551611 bytes (0xfffffffffffffffb), more than "
    "max_allocation=1073741824: a negative size converted to size_t?",
    "allocation-size-too-big in allocate_negative", 0, "max_allocation=0x40000000" },
  { "negative_size", "allocation-size-too-big in calloc by thread",
    "calloc(4611686018427387904, 8): the element count times the size does not fit",
    "allocation-size-too-big in allocate_overflowing", 0, "max_allocation=1000000",
    NULL, "calloc" },
  /* Found in a realloc() that libc made: SUMMARY names the program's caller. */
  { "overflow_via_libc", "heap-buffer-overflow in realloc(",
    "1 byte written past the end of a 16-byte block", "heap-buffer-overflow in read_long_line",
    1 },
};

/* Run the test program HG_PROGS_DIR/name (with arg, unless NULL) under options. */
static void run_test_program(struct hg_run *r, const char *name, const char *arg,
                             const char *options)
{
  char path[512];
  snprintf(path, sizeof path, "%s/%s", HG_PROGS_DIR, name);
  char *argv[] = { path, (char *)arg, NULL };
  hg_run_program(r, argv, options);
}

static void run_bug(void **state)
{
  const struct bug_case *c = *state;
  static struct hg_run r;
  run_test_program(&r, c->program, c->arg, c->options);
  char want[256];

  if (!WIFSIGNALED(r.status) || WTERMSIG(r.status) != SIGABRT)
    fail_msg("%s: status %#x, expected SIGABRT; output:\n%s", c->program, r.status,
             r.output);
  snprintf(want, sizeof want, "ERROR: heapguard: %s", c->headline);
  if (!strstr(r.output, want))
    fail_msg("%s: no '%s' in:\n%s", c->program, want, r.output);
  if (!strstr(r.output, c->detail))
    fail_msg("%s: no '%s' in:\n%s", c->program, c->detail, r.output);
  snprintf(want, sizeof want, "SUMMARY: heapguard: %s\n", c->summary ? c->summary : "");
  if (c->summary && !strstr(r.output, want))
    fail_msg("%s: no '%s' in:\n%s", c->program, want, r.output);
  if (c->also && !strstr(r.output, c->also))
    fail_msg("%s: no '%s' in:\n%s", c->program, c->also, r.output);
  /* At exit or a thread's end no program frame runs: the block's stacks stand in for one. */
  const char *found = strstr(c->headline, "at exit")           ? "  found by the heap check at exit"
                      : strstr(c->headline, "end of a thread") ? "  found as this thread ended"
                                                                : "  backtrace:\n    #0 0x";
  if (!strstr(r.output, found))
    fail_msg("%s: no '%s' in:\n%s", c->program, found, r.output);
  char dump[512];
  assert_int_equal(hg_run_dump_count(&r, dump, sizeof dump), c->dumps);
  if (c->dumps) {
    if (!strstr(r.output, "dump written to "))
      fail_msg("%s: dump not announced in:\n%s", c->program, r.output);
    struct stat st;
    assert_int_equal(stat(dump, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_true(st.st_size > 4096);
  }
  hg_run_cleanup(&r);
}

/*
 * Run a program whose findings are collected to the end (leaks, or
 * halt_on_error=0) with options; it must exit 23 and print every want.
 */
static void expect_exit_23_report(const char *program, const char *options,
                                  const char *const *want, size_t wants)
{
  static struct hg_run r;
  run_test_program(&r, program, NULL, options);
  assert_true(WIFEXITED(r.status));
  assert_int_equal(WEXITSTATUS(r.status), 23);
  for (size_t i = 0; i < wants; i++)
    if (!strstr(r.output, want[i]))
      fail_msg("%s with %s: no '%s' in:\n%s", program, options, want[i], r.output);
  hg_run_cleanup(&r);
}

static void leaks_are_grouped_by_stack(void **state)
{
  (void)state;
  const char *want[] = { "ERROR: heapguard: detected memory leaks: 6000 bytes in 11 blocks",
                         "1000 bytes in 10 blocks allocated by thread",
                         "5000 bytes in 1 block allocated by thread", "in leak_small+",
                         "in leak_big+" };
  expect_exit_23_report("leak", "leaks=1", want, sizeof want / sizeof *want);
  expect_exit_23_report("leak", "leaks=1:guard_mode=all", want, sizeof want / sizeof *want);
}

/*
 * One call site, same stack pointer, two callers three frames up: the
 * remembered capture of one path must not be taken for the other's.
 */
static void stacks_from_one_site_keep_their_callers(void **state)
{
  (void)state;
  const char *want[] = { "ERROR: heapguard: detected memory leaks: ",
                         "16000 bytes in 1000 blocks allocated by thread", "in via_first+",
                         "in via_second+" };
  expect_exit_23_report("leak_shared_site", "leaks=1", want, sizeof want / sizeof *want);
}

static void halt_on_error_0_collects_every_bug(void **state)
{
  (void)state;
  const char *want[] = { "ERROR: heapguard: double-free in free(",
                         "ERROR: heapguard: heap-buffer-overflow in free(",
                         "==CONTINUING (halt_on_error=0)",
                         "heapguard: 3 reports, 2 distinct:",
                         "1 x double-free in first_bug_double_free",
                         "2 x heap-buffer-overflow in second_bug_overflow" };
  expect_exit_23_report("two_bugs", "halt_on_error=0", want, sizeof want / sizeof *want);
}

/* With halt_on_error=0 the heap check at exit reports every damaged block it reaches. */
static void exit_check_reports_every_damaged_block(void **state)
{
  (void)state;
  const char *want[] = {
    "heapguard: 4 reports, 3 distinct:",
    "  2 x heap-buffer-overflow at exit, in a block allocated in overflow_kept_block\n",
    "  1 x metadata-corruption at exit, after a block allocated in ",
    "  1 x heap-use-after-free at exit, in a block allocated in write_freed_large_block\n",
  };
  expect_exit_23_report("live_damage_at_exit", "halt_on_error=0", want,
                        sizeof want / sizeof *want);
}

/*
 * halt_on_error=0 with leaks=1: a block whose release was refused and
 * reported is kept out of use, and is not reported again as a leak.
 */
static void refused_releases_are_not_leaks(void **state)
{
  (void)state;
  static const char *const programs[] = { "overflow_1byte", "invalid_free_interior",
                                          "mismatch_new_free", "overflow_realloc" };
  /* Guard mode too: a guarded block has no header to be known by. */
  static const char *const options[] = { "halt_on_error=0:leaks=1",
                                         "halt_on_error=0:leaks=1:guard_mode=all" };
  static struct hg_run r;
  for (size_t i = 0; i < sizeof programs / sizeof *programs; i++)
    for (size_t k = 0; k < sizeof options / sizeof *options; k++) {
      run_test_program(&r, programs[i], NULL, options[k]);
      const char *first = strstr(r.output, "ERROR: heapguard: ");
      if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 23 || !first ||
          strstr(first + 1, "ERROR: heapguard: ") || strstr(r.output, "memory leaks"))
        fail_msg("%s with %s: status %#x, expected 23 and one report, no leak:\n%s",
                 programs[i], options[k], r.status, r.output);
      hg_run_cleanup(&r);
    }
}

/*
 * What a program printed through stdio, to its output and to a file it
 * never flushed, arrives however heapguard ends it: at exit with status
 * 23 (after libc wrote out its streams, and after a library destructor
 * that runs after heapguard's), or aborting after a report (its output
 * first, then the report).
 */
static void program_output_is_kept(void **state)
{
  (void)state;
  static const struct {
    const char *bug, *options;
    int status; /* exit status, or 0 for SIGABRT */
  } runs[] = {
    { "double-free", "halt_on_error=0", 23 },
    { "leak", "leaks=1", 23 },
    { "overflow", "halt_on_error=0:leaks=1:exit_code=7", 7 },
    { "overflow", NULL, 0 },
  };
  static struct hg_run r;
  for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
    char dir[] = "/tmp/hgout.XXXXXX", path[64], program[512], file[256] = "";
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/out.txt", dir);
    snprintf(program, sizeof program, "%s/output_kept", HG_PROGS_DIR);
    char *argv[] = { program, (char *)runs[i].bug, path, NULL };
    hg_run_program(&r, argv, runs[i].options);
    FILE *f = fopen(path, "r");
    if (f) {
      file[fread(file, 1, sizeof file - 1, f)] = 0;
      fclose(f);
    }
    unlink(path);
    rmdir(dir);
    const char *before = strstr(r.output, "program output before the bug\n");
    const char *report = strstr(r.output, "ERROR: heapguard: ");
    if (!runs[i].status) {
      if (!WIFSIGNALED(r.status) || !before || !report || before > report ||
          strstr(r.output, "after the bug"))
        fail_msg("%s: status %#x; expected SIGABRT, the output before the bug, then the "
                 "report:\n%s", runs[i].bug, r.status, r.output);
    } else if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != runs[i].status || !before ||
               !report || !strstr(r.output, "program output after the bug\n") ||
               !strstr(r.output, "output of a library destructor\n") ||
               strcmp(file, "file output before the bug\nfile output after the bug\n") != 0) {
      fail_msg("%s with %s: status %#x; file:\n%s\noutput:\n%s", runs[i].bug,
               runs[i].options, r.status, file, r.output);
    }
    hg_run_cleanup(&r);
  }
}

static void json_reports_parse(void **state)
{
  (void)state;
  static struct hg_run r;
  run_test_program(&r, "overflow_1byte", NULL, "report_format=json");
  assert_true(WIFSIGNALED(r.status));
  const char *want[] = { "{\"heapguard\":\"", "\"class\":\"heap-buffer-overflow\"",
                         "\"operation\":\"free\"", "\"check\":\"trailing canary\"",
                         "\"offset\":13", "\"requested\":13",
                         "\"function\":\"write_one_past_end\"", "\"build_id\":\"",
                         "\"allocated_by\":{\"thread\":", "\"dump\":\"" };
  for (size_t i = 0; i < sizeof want / sizeof *want; i++)
    if (!strstr(r.output, want[i]))
      fail_msg("json: no '%s' in:\n%s", want[i], r.output);
  if (!strstr(r.output, "\"at_exit\":false,\"at_thread_end\":false,\"backtrace\":[{"))
    fail_msg("json: a finding in a call has a backtrace:\n%s", r.output);
  /* The report is one line of valid JSON. */
  char json_path[600];
  snprintf(json_path, sizeof json_path, "%s/report.json", r.dump_dir);
  FILE *out = fopen(json_path, "w");
  assert_non_null(out);
  fputs(strchr(r.output, '{'), out);
  fclose(out);
  char command[800];
  snprintf(command, sizeof command, "python3 -m json.tool %s >/dev/null", json_path);
  assert_int_equal(system(command), 0);
  hg_run_cleanup(&r);
  /* C++ names demangled in JSON too. */
  run_test_program(&r, "cxx_names", NULL, "report_format=json");
  if (!strstr(r.output, "\"function\":\"geo::Cloud<geo::Point>::release()\""))
    fail_msg("json: no demangled function in:\n%s", r.output);
  hg_run_cleanup(&r);
}

/*
 * A finding made as a thread ends, where no program frame runs, has no
 * backtrace: the text says so, and the JSON report and the exit summary's
 * entry mark it at_thread_end.
 */
static void thread_end_findings_say_so(void **state)
{
  (void)state;
  static struct hg_run r;
  run_test_program(&r, "use_after_free_thread_cache", NULL, "report_format=json:halt_on_error=0");
  const char *want[] = { "\"at_exit\":false,\"at_thread_end\":true,\"backtrace\":[],",
                         "\"function\":\"allocate_and_free\",\"at_exit\":false,"
                         "\"at_thread_end\":true,\"count\":1" };
  for (size_t i = 0; i < sizeof want / sizeof *want; i++)
    if (!strstr(r.output, want[i]))
      fail_msg("json: no '%s' in:\n%s", want[i], r.output);
  hg_run_cleanup(&r);
  run_test_program(&r, "use_after_free_thread_cache", NULL, NULL);
  if (!strstr(r.output, "  found as this thread ended, after its last call\n") ||
      strstr(r.output, "  backtrace:"))
    fail_msg("a thread's end shown as a call:\n%s", r.output);
  hg_run_cleanup(&r);
}

/*
 * Every line of a run's output that opens with '{' must be one JSON object,
 * as python3's parser reads it. Fills kinds with what the objects are, a
 * space after each: a report's class, "memory-leak", or "summary:N" for the
 * exit summary with N distinct entries.
 */
static void json_kinds(const struct hg_run *r, char *kinds, size_t cap)
{
  static const char script[] =
    "import json, sys\n"
    "for line in open(sys.argv[1], encoding='utf-8'):\n"
    "    if line.startswith('{'):\n"
    "        o = json.loads(line)\n"
    "        s = o.get('summary')\n"
    "        print('summary:%d' % len(s['distinct']) if s else o['class'], end=' ')\n";
  char path[600], command[800];
  snprintf(path, sizeof path, "%s/output.json", r->dump_dir);
  FILE *out = fopen(path, "w");
  assert_non_null(out);
  fwrite(r->output, 1, r->len, out);
  fclose(out);
  /* In the environment, the script needs no quoting for the shell. */
  setenv("HG_JSON_SCRIPT", script, 1);
  snprintf(command, sizeof command, "python3 -c \"$HG_JSON_SCRIPT\" '%s' 2>&1", path);
  FILE *py = popen(command, "r");
  assert_non_null(py);
  size_t n = fread(kinds, 1, cap - 1, py);
  kinds[n] = 0;
  if (pclose(py) != 0)
    fail_msg("not JSON (%s):\n%s", kinds, r->output);
}

/* Reports of every class, leaks and summaries, each line valid JSON. */
static void json_reports_of_every_kind_parse(void **state)
{
  (void)state;
  static const struct {
    const char *program, *options;
  } runs[] = {
    { "two_bugs", NULL }, { "overflow_1byte", NULL }, { "double_free", NULL },
    { "invalid_free_interior", NULL }, { "header_smash", NULL },
    { "use_after_free_write", NULL }, { "mismatch_new_free", NULL },
    { "segment_smash", NULL }, { "leak", NULL },
    { "guard_overflow_read", "guard_mode=all" },
  };
  static const char *const kinds[] = {
    "heap-buffer-overflow ", "double-free ", "invalid-free ", "metadata-corruption ",
    "heap-use-after-free ", "alloc-dealloc-mismatch ", "segment-corruption ",
    "memory-leak ", "summary:2 ",
  };
  static char seen[4096];
  static struct hg_run r;
  seen[0] = 0;
  for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
    char options[256], found[1024];
    snprintf(options, sizeof options, "report_format=json:halt_on_error=0:leaks=1%s%s",
             runs[i].options ? ":" : "", runs[i].options ? runs[i].options : "");
    run_test_program(&r, runs[i].program, NULL, options);
    json_kinds(&r, found, sizeof found);
    strncat(seen, found, sizeof seen - strlen(seen) - 1);
    hg_run_cleanup(&r);
  }
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
    if (!strstr(seen, kinds[i]))
      fail_msg("no JSON object of kind '%s' among: %s", kinds[i], seen);
}

/*
 * Frames are named only by a symbol that covers them: libc's static
 * __libc_start_call_main is not "__libc_init_first+0x8a", its nearest
 * exported predecessor.
 */
static void frames_are_named_by_covering_symbols(void **state)
{
  (void)state;
  static struct hg_run r;
  run_test_program(&r, "overflow_1byte", NULL, NULL);
  assert_non_null(strstr(r.output, "in main+0x"));
  if (strstr(r.output, "__libc_init_first"))
    fail_msg("a libc frame named by a symbol that does not cover it:\n%s", r.output);
  hg_run_cleanup(&r);
}

/* The first frames after heading, a line each, are at the source lines of want, in order. */
static void expect_frames(const struct hg_run *r, const char *heading, const char *const *want,
                          size_t n)
{
  const char *p = strstr(r->output, heading);
  if (!p)
    fail_msg("no '%s' in:\n%s", heading, r->output);
  for (size_t i = 0; i < n; i++) {
    p = strstr(p, "\n    #");
    if (!p)
      fail_msg("'%s': no frame %zu in:\n%s", heading, i, r->output);
    p++;
    char line[1024];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(p, "\n"), p);
    if (!strstr(line, want[i]))
      fail_msg("'%s': frame %zu is not at %s in:\n%s", heading, i, want[i], r->output);
  }
}

/* The frames of the stack after heading: the lines that follow it and begin "    #". */
static size_t frames_after(const struct hg_run *r, const char *heading)
{
  const char *p = strstr(r->output, heading);
  if (!p)
    fail_msg("no '%s' in:\n%s", heading, r->output);
  size_t n = 0;
  for (p = strchr(p, '\n'); p && strncmp(p + 1, "    #", 5) == 0; p = strchr(p + 1, '\n'))
    n++;
  return n;
}

/*
 * The marked leaf's allocation and free stacks in use_after_free_recursive,
 * under these options: their first frames name the leaf's own path (its
 * last turns, innermost first), and they have that many frames.
 */
static void expect_recursive_stacks(const char *options, size_t frames)
{
  static const char turns[] = "RLRRLLLRLR";
  static struct hg_run r;
  run_test_program(&r, "use_after_free_recursive", NULL, options);
  const char *alloc[8] = { "use_after_free_recursive.c:21 (" };
  const char *freed[8] = { "use_after_free_recursive.c:39 (" };
  for (size_t i = 1; i < 8; i++) {
    int right = turns[sizeof turns - 1 - i] == 'R';
    alloc[i] = right ? "use_after_free_recursive.c:28 (" : "use_after_free_recursive.c:27 (";
    freed[i] = right ? "use_after_free_recursive.c:38 (" : "use_after_free_recursive.c:37 (";
  }
  expect_frames(&r, "the block was allocated by thread ", alloc, frames);
  expect_frames(&r, "the block was freed by thread ", freed, frames);
  assert_int_equal(frames_after(&r, "the block was allocated by thread "), frames);
  assert_int_equal(frames_after(&r, "the block was freed by thread "), frames);
  hg_run_cleanup(&r);
}

/*
 * Each leaf of a tree built and freed by recursive functions has stacks of
 * its own, which the stack memo keeps as variants after the first trees:
 * the report names the marked leaf's own path (its last seven turns,
 * innermost first) in the stack that allocated it and in the one that
 * freed it (use_after_free_recursive.c).
 */
static void recursive_stacks_name_their_path(void **state)
{
  (void)state;
  expect_recursive_stacks(NULL, 8);
}

/* stack_frames=N keeps the first N frames of every allocation and free stack. */
static void stack_frames_shortens_allocation_and_free_stacks(void **state)
{
  (void)state;
  expect_recursive_stacks("stack_frames=3", 3);
  expect_recursive_stacks("stack_frames=1", 1);
}

/*
 * A frame that has a source line reads "... FILE:LINE (MODULE+0xOFFSET)";
 * module_offset is the start of "MODULE+0xOFFSET", the module in HG_PROGS_DIR.
 */
static void expect_line(const struct hg_run *r, const char *program, const char *file_line,
                        const char *module_offset)
{
  char want[512];
  snprintf(want, sizeof want, "tests/bugs/%s (%s/%s", file_line, HG_PROGS_DIR, module_offset);
  if (!strstr(r->output, want))
    fail_msg("%s: no '%s' in:\n%s", program, want, r->output);
}

/*
 * With debug information, each frame gives its source file and line, as
 * found by addr2line: in a signal handler (guard mode), in JSON, in a
 * program that is not position-independent (whose module offsets are
 * link-time addresses), and in a plugin opened by a relative path (whose
 * module is named by its absolute path).
 */
static void reports_give_source_lines(void **state)
{
  (void)state;
  static struct hg_run r;
  run_test_program(&r, "overflow_1byte", NULL, NULL);
  expect_line(&r, "overflow_1byte", "overflow_1byte.c:10", "overflow_1byte+0x");
  expect_line(&r, "overflow_1byte", "overflow_1byte.c:6", "overflow_1byte+0x");
  assert_non_null(strstr(r.output, "(BuildId: "));
  hg_run_cleanup(&r);
  run_test_program(&r, "guard_overflow_read", NULL, "guard_mode=all");
  expect_line(&r, "guard_overflow_read", "guard_overflow_read.c:12", "guard_overflow_read+0x");
  hg_run_cleanup(&r);
  run_test_program(&r, "overflow_1byte_nopie", NULL, NULL);
  expect_line(&r, "overflow_1byte_nopie", "overflow_1byte.c:10", "overflow_1byte_nopie+0x40");
  hg_run_cleanup(&r);
  run_test_program(&r, "overflow_1byte", NULL, "report_format=json");
  if (!strstr(r.output, "tests/bugs/overflow_1byte.c\",\"line\":10}"))
    fail_msg("JSON: no file and line in:\n%s", r.output);
  hg_run_cleanup(&r);
  char here[512];
  assert_non_null(getcwd(here, sizeof here));
  assert_int_equal(chdir(HG_PROGS_DIR), 0);
  run_test_program(&r, "load_plugin", "./libbug_plugin.so", NULL);
  assert_int_equal(chdir(here), 0);
  expect_line(&r, "load_plugin", "lib/bug_plugin.c:10", "libbug_plugin.so+0x");
  hg_run_cleanup(&r);
}

/*
 * Run program with PATH set to path: its report must be whole (SUMMARY and
 * the abort line) within seconds, and without any file:line.
 */
static void expect_report_without_lines(const char *program, const char *path,
                                        const char *options)
{
  static struct hg_run r;
  char *old = strdup(getenv("PATH"));
  setenv("PATH", path, 1);
  time_t start = time(NULL);
  run_test_program(&r, program, NULL, options);
  time_t took = time(NULL) - start;
  setenv("PATH", old, 1);
  free(old);
  if (!WIFSIGNALED(r.status) || !strstr(r.output, "SUMMARY: heapguard: ") ||
      !strstr(r.output, "==ABORTING") || strstr(r.output, ".c:") || took > 10)
    fail_msg("%s with PATH=%s: status %#x after %lds, expected a whole report without "
             "file:line:\n%s", program, path, r.status, (long)took, r.output);
  hg_run_cleanup(&r);
}

/*
 * Without addr2line, with one that hangs or talks nonsense, or with
 * symbolize=0, reports are whole and have no file:line.
 */
static void symbolizer_failures_leave_reports_whole(void **state)
{
  (void)state;
  char dir[] = "/tmp/hgpath.XXXXXX", tool[64], command[256];
  assert_non_null(mkdtemp(dir));
  snprintf(tool, sizeof tool, "%s/addr2line", dir);
  expect_report_without_lines("overflow_1byte", dir, NULL);
  FILE *f = fopen(tool, "w");
  fputs("#!/bin/sh\nexec sleep 60\n", f);
  fclose(f);
  chmod(tool, 0755);
  expect_report_without_lines("overflow_1byte", dir, NULL);
  expect_report_without_lines("guard_overflow_read", dir, "guard_mode=all");
  f = fopen(tool, "w");
  fputs("#!/bin/sh\nprintf ':12\\n??:0\\nx.c:notanumber\\n\\n\\n%0999d\\n' 0\n", f);
  fclose(f);
  expect_report_without_lines("overflow_1byte", dir, NULL);
  expect_report_without_lines("overflow_1byte", getenv("PATH"), "symbolize=0");
  snprintf(command, sizeof command, "rm -rf %s", dir);
  assert_int_equal(system(command), 0);
}

/* Each of a run's dumps must parse, and verify: the heap was sound. */
static void expect_clean_dumps(const struct hg_run *r, int at_least)
{
  char command[1024];
  snprintf(command, sizeof command,
           "n=0; for d in %s/*.hgdump; do %s \"$d\" >/dev/null || exit 1; n=$((n+1)); done;"
           " test $n -ge %d",
           r->dump_dir, HG_INSPECT_PATH, at_least);
  if (system(command) != 0)
    fail_msg("dumps in %s: fewer than %d, or one did not verify", r->dump_dir, at_least);
}

static void dumps_on_demand_and_on_signal(void **state)
{
  (void)state;
  static struct hg_run r;
  run_test_program(&r, "on_demand_dump", NULL, "dump_signal=12");
  if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
    fail_msg("on_demand_dump: status %#x; output:\n%s", r.status, r.output);
  assert_non_null(strstr(r.output, "on-demand dumps ok"));
  assert_non_null(strstr(r.output, "heapguard: dump_signal: "));
  assert_null(strstr(r.output, "ERROR: heapguard"));
  expect_clean_dumps(&r, 2);
  hg_run_cleanup(&r);
}

/*
 * max_dump_bytes: the dump of a 200 MiB block's overflow holds its first
 * 16 MiB (the default), not 200 MiB; the inspector reads a shortened dump,
 * and finds the block cut by the dump's end, not damaged.
 */
static void dumps_of_large_blocks_are_shortened(void **state)
{
  (void)state;
  static const struct {
    const char *arg, *options;
    long max_size;
  } runs[] = {
    { "209715200", NULL, 16L << 20 },
    { "9999999", "max_dump_bytes=65536", 65536 },
  };
  static struct hg_run r;
  for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
    run_test_program(&r, "overflow_sizes", runs[i].arg, runs[i].options);
    assert_true(WIFSIGNALED(r.status));
    char dump[512], command[2400];
    assert_int_equal(hg_run_dump_count(&r, dump, sizeof dump), 1);
    struct stat st;
    assert_int_equal(stat(dump, &st), 0);
    if (st.st_size > runs[i].max_size + 8192 || st.st_size < runs[i].max_size)
      fail_msg("overflow of a %s-byte block: a dump of %ld bytes", runs[i].arg,
               (long)st.st_size);
    snprintf(command, sizeof command,
             "%s %s | grep -q 'the last block goes on past the end of the dump' && %s --json %s | "
             "grep -q '\"cut\":true'",
             HG_INSPECT_PATH, dump, HG_INSPECT_PATH, dump);
    if (system(command) != 0)
      fail_msg("the inspector does not read the shortened dump %s as cut and sound", dump);
    hg_run_cleanup(&r);
  }
}

/*
 * A dump of a zero segment (its slot table smashed): the inspector names
 * the segment's kind and walks no block in it.
 */
static void zero_segment_dumps_are_named(void **state)
{
  (void)state;
  static struct hg_run r;
  char dump[512], command[1200], text[8192];
  run_test_program(&r, "zero_size", "table", NULL);
  assert_int_equal(hg_run_dump_count(&r, dump, sizeof dump), 1);
  snprintf(command, sizeof command, "%s '%s' 2>&1", HG_INSPECT_PATH, dump);
  FILE *p = popen(command, "r");
  assert_non_null(p);
  text[fread(text, 1, sizeof text - 1, p)] = 0;
  int status = pclose(p);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
      !strstr(text, "kind zero-size slots") || !strstr(text, "there is no block to walk") ||
      strstr(text, "block map"))
    fail_msg("heapguard-inspect on a zero segment's dump: status %#x:\n%s", status, text);
  hg_run_cleanup(&r);
}

static void exit_code_replaces_abort(void **state)
{
  (void)state;
  static struct hg_run r;
  run_test_program(&r, "double_free", NULL, "exit_code=42");
  assert_true(WIFEXITED(r.status));
  assert_int_equal(WEXITSTATUS(r.status), 42);
  assert_non_null(strstr(r.output, "ERROR: heapguard: double-free"));
  assert_non_null(strstr(r.output, "EXITING with status 42"));
  hg_run_cleanup(&r);
}

/* backtrace_frames=1: one frame in every stack, text and JSON alike. */
static void backtrace_frames_limits_every_stack(void **state)
{
  (void)state;
  static struct hg_run r;
  run_test_program(&r, "double_free", NULL, "backtrace_frames=1");
  assert_non_null(strstr(r.output, "  backtrace:\n    #0 0x"));
  assert_non_null(strstr(r.output, "the block was allocated by thread "));
  assert_non_null(strstr(r.output, "the block was freed by thread "));
  if (strstr(r.output, "    #1 "))
    fail_msg("more than one frame in a stack:\n%s", r.output);
  hg_run_cleanup(&r);
  run_test_program(&r, "double_free", NULL, "backtrace_frames=1:report_format=json");
  assert_non_null(strstr(r.output, "\"freed_by\":{\"thread\":"));
  if (strstr(r.output, "},{\"ip\":"))
    fail_msg("more than one frame in a JSON stack:\n%s", r.output);
  hg_run_cleanup(&r);
}

static void dump_can_be_turned_off(void **state)
{
  (void)state;
  static struct hg_run r;
  run_test_program(&r, "overflow_1byte", NULL, "dump=0");
  assert_true(WIFSIGNALED(r.status));
  assert_int_equal(hg_run_dump_count(&r, NULL, 0), 0);
  assert_null(strstr(r.output, "dump written"));
  hg_run_cleanup(&r);
}

static void expect_exit(const struct hg_run *r, const char *what, int status)
{
  if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != status)
    fail_msg("%s: status %#x, expected exit %d:\n%s", what, r->status, status, r->output);
}

static void expect_in_output(const struct hg_run *r, const char *what, const char *want)
{
  if (!strstr(r->output, want))
    fail_msg("%s: no '%s' in:\n%s", what, want, r->output);
}

/*
 * verbosity=1: the options in effect at start-up, a summary line at exit;
 * verbosity=2 and print_stats=1: the statistics block; help=1 lists the
 * values in effect. With none of them (legal, real), nothing is written.
 */
static void verbosity_and_statistics(void **state)
{
  (void)state;
  static struct hg_run r;
  run_test_program(&r, "leak", NULL, "verbosity=1:quarantine_bytes=0x10000");
  assert_true(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
  expect_in_output(&r, "verbosity=1", "/leak, options in effect: dump_dir=");
  expect_in_output(&r, "verbosity=1", ":verbosity=1:quarantine_bytes=65536\n");
  expect_in_output(&r, "verbosity=1",
                   "heapguard: at exit: 0 reports, 0 suppressed; in use 11 blocks, 6000 bytes;"
                   " peak mapped 4194304 bytes\n");
  assert_null(strstr(r.output, "statistics:"));
  hg_run_cleanup(&r);
  run_test_program(&r, "leak", NULL, "print_stats=1");
  assert_true(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
  expect_in_output(&r, "print_stats=1", "== heapguard statistics:\n"
                                        "  in use:       11 blocks, 6000 bytes requested\n"
                                        "  quarantined:  0 blocks, 0 bytes");
  expect_in_output(&r, "print_stats=1", "  segments:     1 shared (4194304 bytes)\n"
                                        "  mapped:       4194304 bytes, at most 4194304 (peak)\n");
  assert_null(strstr(r.output, "options in effect"));
  hg_run_cleanup(&r);
  run_test_program(&r, "leak", NULL, "verbosity=2:guard_mode=all");
  expect_in_output(&r, "verbosity=2", "\n  guard_mode=all (default off)  place");
  expect_in_output(&r, "verbosity=2", "\n  arenas=0  number of arenas");
  expect_in_output(&r, "verbosity=2", "  guard slots:  11 in use, 0 quarantined, of ");
  hg_run_cleanup(&r);
  run_test_program(&r, "leak", NULL, "help=1:leaks=1:exit_code=0x2a");
  assert_true(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
  expect_in_output(&r, "help=1", "with the values in effect:\n  help=1 (default 0)  print");
  expect_in_output(&r, "help=1", "\n  leaks=1 (default 0)  report blocks unreachable");
  expect_in_output(&r, "help=1", "\n  exit_code=42 (default 0)  after a report");
  expect_in_output(&r, "help=1", "\n  verbosity=0  0: nothing but reports");
  hg_run_cleanup(&r);
}

/*
 * heapguard.h's HEAPGUARD_CHECK, HEAPGUARD_CHECK_HEAP and HEAPGUARD_ACTIVE
 * in programs not linked against libheapguard (PIE, non-PIE, C++): they
 * find heapguard preloaded, and without it do nothing.
 */
static void optional_api_works_with_and_without_heapguard(void **state)
{
  (void)state;
  static const char *const programs[] = { "optional_api", "optional_api_nopie",
                                          "optional_api_cxx" };
  static struct hg_run r;
  for (size_t i = 0; i < sizeof programs / sizeof *programs; i++) {
    run_test_program(&r, programs[i], NULL, NULL);
    expect_exit(&r, programs[i], 0);
    expect_in_output(&r, programs[i], "active=1 check=overflow (trailing canary) heap=overflow");
    hg_run_cleanup(&r);
    char command[600], out[256] = "";
    snprintf(command, sizeof command, "env -u LD_PRELOAD %s/%s", HG_PROGS_DIR, programs[i]);
    FILE *p = popen(command, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    assert_int_equal(pclose(p), 0);
    if (strcmp(out, "active=0 check=ok (none) heap=ok\n") != 0)
      fail_msg("%s without heapguard printed: %s", programs[i], out);
  }
}

/*
 * __heapguard_default_options: read before HEAPGUARD_OPTIONS, whose values
 * win; found in a program linked against heapguard and in one that only
 * exports it; a bad option in it is named as coming from it.
 */
static void default_options_come_from_the_program(void **state)
{
  (void)state;
  static const char *const programs[] = { "default_options", "default_options_linked" };
  static struct hg_run r;
  for (size_t i = 0; i < sizeof programs / sizeof *programs; i++) {
    run_test_program(&r, programs[i], NULL, NULL);
    expect_exit(&r, programs[i], 42);
    expect_in_output(&r, programs[i], "ERROR: heapguard: double-free in free(");
    expect_in_output(&r, programs[i], "==EXITING with status 42");
    if (strstr(r.output, "    #2 "))
      fail_msg("%s: more than backtrace_frames=2 frames:\n%s", programs[i], r.output);
    hg_run_cleanup(&r);
    run_test_program(&r, programs[i], NULL, "exit_code=43");
    expect_exit(&r, programs[i], 43);
    hg_run_cleanup(&r);
    setenv("BAD_DEFAULTS", "exit_code=1:nope=2", 1);
    run_test_program(&r, programs[i], NULL, NULL);
    unsetenv("BAD_DEFAULTS");
    expect_exit(&r, programs[i], 1);
    expect_in_output(&r, programs[i], "heapguard: __heapguard_default_options: unknown option 'nope'");
    hg_run_cleanup(&r);
  }
}

/*
 * Without max_allocation, or with allocator_may_return_null=1, a request
 * too big fails with ENOMEM, unreported, as with glibc; halt_on_error=0
 * reports it and fails it too.
 */
static void requests_too_big_fail_quietly_unless_limited(void **state)
{
  (void)state;
  static const struct {
    const char *arg, *options, *want;
    int status;
  } runs[] = {
    { "malloc", NULL, "malloc: NULL, errno ENOMEM\n", 0 },
    { "calloc", NULL, "calloc: NULL, errno ENOMEM\n", 0 },
    { "malloc", "max_allocation=1000000:allocator_may_return_null=1",
      "malloc: NULL, errno ENOMEM\n", 0 },
    { "calloc", "max_allocation=1000000:allocator_may_return_null=1",
      "calloc: NULL, errno ENOMEM\n", 0 },
    { "malloc", "max_allocation=1000000:halt_on_error=0", "malloc: NULL, errno ENOMEM\n", 23 },
  };
  static struct hg_run r;
  for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
    run_test_program(&r, "negative_size", runs[i].arg, runs[i].options);
    expect_exit(&r, runs[i].arg, runs[i].status);
    expect_in_output(&r, runs[i].arg, runs[i].want);
    if (!runs[i].status && strstr(r.output, "heapguard"))
      fail_msg("%s with %s: a report:\n%s", runs[i].arg, runs[i].options, r.output);
    hg_run_cleanup(&r);
  }
}

/* malloc_fill_byte: every new block but calloc's, in every kind; off by default. */
static void new_blocks_take_the_fill_byte(void **state)
{
  (void)state;
  static struct hg_run r;
  static const char *const modes[] = { "malloc_fill_byte=0xbe",
                                       "malloc_fill_byte=190:guard_mode=all" };
  for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
    run_test_program(&r, "fill_byte", NULL, modes[i]);
    expect_exit(&r, modes[i], 0);
    expect_in_output(&r, modes[i],
                     "malloc be be large be be calloc 00 00 realloc be be\n");
    hg_run_cleanup(&r);
  }
  run_test_program(&r, "fill_byte", NULL, NULL);
  expect_exit(&r, "no fill", 0);
  if (strstr(r.output, "be be"))
    fail_msg("filled without malloc_fill_byte:\n%s", r.output);
  hg_run_cleanup(&r);
}

/* A suppressions file with these lines, in a fresh directory; its path in path. */
static void write_suppressions(char *path, size_t cap, const char *lines)
{
  char dir[] = "/tmp/hgsupp.XXXXXX";
  assert_non_null(mkdtemp(dir));
  snprintf(path, cap, "%s/rules.supp", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(lines, f);
  fclose(f);
}

static void remove_suppressions(const char *path)
{
  char dir[512];
  snprintf(dir, sizeof dir, "%s", path);
  *strrchr(dir, '/') = 0;
  unlink(path);
  rmdir(dir);
}

/* Run program with suppressions=FILE holding lines, and more options. */
static void run_suppressed(struct hg_run *r, const char *program, const char *lines,
                           const char *options)
{
  char path[512], all[1024];
  write_suppressions(path, sizeof path, lines);
  snprintf(all, sizeof all, "suppressions=%s%s%s", path, options ? ":" : "",
           options ? options : "");
  run_test_program(r, program, NULL, all);
  remove_suppressions(path);
}

/*
 * Leaks whose allocation stack a rule matches (by function, module or
 * source file) are not reported, and do not fail the run; verbosity=1
 * counts them at exit.
 */
static void suppressed_leaks_are_not_reported(void **state)
{
  (void)state;
  static struct hg_run r;
  run_suppressed(&r, "leak", "# the small ones are known\nleak:leak_small\n", "leaks=1");
  expect_exit(&r, "leak_small suppressed", 23);
  assert_non_null(strstr(r.output, "detected memory leaks: 5000 bytes in 1 block"));
  assert_null(strstr(r.output, "in leak_small+"));
  assert_null(strstr(r.output, "suppressed"));
  hg_run_cleanup(&r);
  run_suppressed(&r, "leak", "leak:^leak_small$\n  leak:*/tests/bugs/leak.c  \r\n",
                 "leaks=1:verbosity=1");
  expect_exit(&r, "every leak suppressed", 0);
  assert_null(strstr(r.output, "ERROR: heapguard"));
  if (!strstr(r.output, "heapguard: 2 findings suppressed\n  count      bytes rule\n"
                        "      1       1000 leak:^leak_small$\n"
                        "      1       5000 leak:*/tests/bugs/leak.c\n"))
    fail_msg("no count of suppressed findings in:\n%s", r.output);
  hg_run_cleanup(&r);
  run_suppressed(&r, "leak", "leak:/leak$\n", "leaks=1");
  expect_exit(&r, "leaks suppressed by module", 0);
  hg_run_cleanup(&r);
}

/*
 * A suppressed report is not written and the run goes on as with
 * halt_on_error=0, the block left out of use: the next bug is reported.
 */
static void suppressed_reports_let_the_run_go_on(void **state)
{
  (void)state;
  static struct hg_run r;
  run_suppressed(&r, "two_bugs", "double-free:first_bug_double_free\n", NULL);
  if (!WIFSIGNALED(r.status) || strstr(r.output, "double-free") ||
      !strstr(r.output, "ERROR: heapguard: heap-buffer-overflow in free("))
    fail_msg("status %#x, expected the overflow alone:\n%s", r.status, r.output);
  hg_run_cleanup(&r);
  run_suppressed(&r, "two_bugs", "double-free:two_bugs\nheap-buffer-overflow:*\n",
                 "leaks=1:verbosity=1");
  expect_exit(&r, "every report suppressed", 0);
  assert_null(strstr(r.output, "ERROR: heapguard"));
  assert_non_null(strstr(r.output, "heapguard: 3 findings suppressed"));
  hg_run_cleanup(&r);
  run_suppressed(&r, "mismatch_new_free", "alloc-dealloc-mismatch:free_new_object\n", NULL);
  expect_exit(&r, "mismatch suppressed", 0);
  assert_int_equal(r.len, 0);
  hg_run_cleanup(&r);
  /* Found as a thread ends, where no program frame runs: matched by its allocation. */
  run_suppressed(&r, "use_after_free_thread_cache", "heap-use-after-free:allocate_and_free\n",
                 NULL);
  expect_exit(&r, "write after free found at a thread's end suppressed", 0);
  assert_int_equal(r.len, 0);
  hg_run_cleanup(&r);
}

/*
 * libunwind is not loaded at start-up, where loading it cost a short
 * process a third of what heapguard adds: the first report loads it, and
 * its backtrace starts in the program's frame.
 */
static void reports_load_libunwind_when_needed(void **state)
{
  (void)state;
  static struct hg_run r;
  run_test_program(&r, "libunwind_when_needed", NULL, "halt_on_error=0");
  if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 23 ||
      !strstr(r.output, "before: not mapped\n") || !strstr(r.output, "after: mapped\n") ||
      !strstr(r.output, "  backtrace:\n    #0 0x") ||
      !strstr(r.output, " in free_twice+"))
    fail_msg("status %#x, expected libunwind mapped only after the report:\n%s", r.status,
             r.output);
  hg_run_cleanup(&r);
}

/* The text of the line that starts with prefix after from, into line; false if none. */
static bool line_after(const char *from, const char *prefix, char *line, size_t cap)
{
  const char *p = from ? strstr(from, prefix) : NULL;
  if (!p)
    return false;
  size_t n = strcspn(p, "\n");
  snprintf(line, cap, "%.*s", (int)n, p);
  return true;
}

/*
 * Where libunwind cannot be loaded (a sandbox that forbids opening
 * files), a report's backtrace comes from heapguard's own walk: the
 * double free's second call is called from where the first was, so
 * frame #1 of the report is frame #1 of the block's free stack.
 */
static void reports_walk_without_libunwind(void **state)
{
  (void)state;
  static struct hg_run r;
  run_test_program(&r, "libunwind_unavailable", NULL, NULL);
  char caller[256], freed_caller[256];
  const char *trace = strstr(r.output, "  backtrace:\n    #0 0x");
  if (!WIFSIGNALED(r.status) || !strstr(r.output, "files cannot be opened\n") ||
      !strstr(r.output, "ERROR: heapguard: double-free in free(") || !trace ||
      !line_after(trace, "    #1 0x", caller, sizeof caller) ||
      !line_after(strstr(r.output, "the block was freed by"), "    #1 0x", freed_caller,
                  sizeof freed_caller) ||
      strcmp(caller, freed_caller) != 0 || !strstr(caller, "/libunwind_unavailable+0x"))
    fail_msg("status %#x, expected a walked backtrace:\n%s", r.status, r.output);
  hg_run_cleanup(&r);
}

/* alloc_dealloc_mismatch=0, new_delete_type_mismatch=0: those checks are off. */
static void mismatch_checks_can_be_turned_off(void **state)
{
  (void)state;
  static const struct {
    const char *program, *options;
  } runs[] = {
    { "mismatch_new_free", "alloc_dealloc_mismatch=0:leaks=1" },
    { "mismatch_malloc_delete", "alloc_dealloc_mismatch=0:leaks=1" },
    { "mismatch_new_array_delete",
      "alloc_dealloc_mismatch=0:new_delete_type_mismatch=0:leaks=1:guard_mode=all" },
    { "sized_delete_wrong_size", "new_delete_type_mismatch=0:leaks=1" },
  };
  static struct hg_run r;
  for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
    run_test_program(&r, runs[i].program, NULL, runs[i].options);
    expect_exit(&r, runs[i].program, 0);
    assert_int_equal(r.len, 0);
    hg_run_cleanup(&r);
  }
}

/* A bad line stops start-up, naming the file and the line; so does a missing file. */
static void bad_suppressions_stop_start_up(void **state)
{
  (void)state;
  static const struct {
    const char *lines, *message;
  } bad[] = {
    { "leak:x\n\nlek:y\n", "rules.supp:3: unknown class 'lek' (one of: leak, " },
    { "# ok\nno colon here\n", "rules.supp:2: expected CLASS:PATTERN, found 'no colon here'" },
    { "double-free:\n", "rules.supp:1: empty pattern for class 'double-free'" },
  };
  static struct hg_run r;
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    run_suppressed(&r, "api_corners", bad[i].lines, NULL);
    expect_exit(&r, bad[i].lines, 1);
    if (!strstr(r.output, bad[i].message))
      fail_msg("no '%s' in:\n%s", bad[i].message, r.output);
    hg_run_cleanup(&r);
  }
  run_test_program(&r, "api_corners", NULL, "suppressions=/nonexistent/rules.supp");
  expect_exit(&r, "missing file", 1);
  assert_non_null(strstr(r.output, "heapguard: suppressions /nonexistent/rules.supp: cannot "
                                   "open the file"));
  hg_run_cleanup(&r);
}

static void bad_options_stop_start_up(void **state)
{
  (void)state;
  static const struct {
    const char *options, *message;
  } bad[] = {
    { "nope=1", "heapguard: HEAPGUARD_OPTIONS: unknown option 'nope'" },
    { "arenas=65", "bad value '65' for option 'arenas': expected an integer from 0 to 64" },
    { "stack_frames=9",
      "bad value '9' for option 'stack_frames': expected an integer from 1 to 8" },
    { "dump=maybe", "bad value 'maybe' for option 'dump': expected 0 or 1" },
    { "exit_code", "option 'exit_code' needs a value" },
  };
  static struct hg_run r;
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    run_test_program(&r, "api_corners", NULL, bad[i].options);
    assert_true(WIFEXITED(r.status));
    assert_int_equal(WEXITSTATUS(r.status), 1);
    if (!strstr(r.output, bad[i].message))
      fail_msg("options '%s': no '%s' in:\n%s", bad[i].options, bad[i].message,
               r.output);
    hg_run_cleanup(&r);
  }
}

int main(void)
{
  enum { CASES = sizeof cases / sizeof *cases };
  struct CMUnitTest tests[CASES + 40];
  static char names[CASES][128];
  size_t n = 0;
  for (size_t i = 0; i < CASES; i++) {
    const struct bug_case *c = &cases[i];
    snprintf(names[i], sizeof names[i], "%s%s%s%s%s", c->program, c->arg ? " " : "",
             c->arg ? c->arg : "", c->options ? " with " : "", c->options ? c->options : "");
    tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(run_bug, (void *)c);
    tests[n++].name = names[i];
  }
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(exit_code_replaces_abort);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(dumps_on_demand_and_on_signal);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(zero_segment_dumps_are_named);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(leaks_are_grouped_by_stack);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(stacks_from_one_site_keep_their_callers);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(halt_on_error_0_collects_every_bug);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(exit_check_reports_every_damaged_block);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(refused_releases_are_not_leaks);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(frames_are_named_by_covering_symbols);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(reports_give_source_lines);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(recursive_stacks_name_their_path);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(stack_frames_shortens_allocation_and_free_stacks);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(symbolizer_failures_leave_reports_whole);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(program_output_is_kept);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(json_reports_parse);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(thread_end_findings_say_so);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(json_reports_of_every_kind_parse);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(backtrace_frames_limits_every_stack);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(dump_can_be_turned_off);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(bad_options_stop_start_up);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(verbosity_and_statistics);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(requests_too_big_fail_quietly_unless_limited);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(new_blocks_take_the_fill_byte);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(dumps_of_large_blocks_are_shortened);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(optional_api_works_with_and_without_heapguard);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(default_options_come_from_the_program);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(suppressed_leaks_are_not_reported);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(suppressed_reports_let_the_run_go_on);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(reports_load_libunwind_when_needed);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(reports_walk_without_libunwind);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(mismatch_checks_can_be_turned_off);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(bad_suppressions_stop_start_up);
  return _cmocka_run_group_tests("detect", tests, n, NULL, NULL);
}
