/*
 * unwind_shapes.h - functions of distinct frame shapes for test_unwind,
 * each compiled twice at -O2: with frame pointers (_fp) and without
 * (_nofp), and a few more in a shared library (_lib). Each one calls
 * next(arg) from a frame of its shape, never as a tail call, so that the
 * unwinders have that frame to step over.
 */
#ifndef UNWIND_SHAPES_H
#define UNWIND_SHAPES_H

#include <stdint.h>

typedef void (*shape_next)(void *arg);
typedef void (*shape_fn)(int n, shape_next next, void *arg);

#define SHAPE_DECLARE(suffix)                                                   \
  /* n nested calls of itself */                                                \
  void shape_recurse_##suffix(int n, shape_next next, void *arg);               \
  /* an alloca of n bytes: a frame whose size is known only at run time */     \
  void shape_alloca_##suffix(int n, shape_next next, void *arg);                \
  /* a frame of several pages */                                                \
  void shape_big_frame_##suffix(int n, shape_next next, void *arg);             \
  /* values live across the call in every callee-saved register */            \
  void shape_saves_##suffix(int n, shape_next next, void *arg);                 \
  /* next called from call site n (0-3) of four, at different CFA offsets;  \
     three copies, for their rules to be computed in different orders */     \
  void shape_sites_a_##suffix(int n, shape_next next, void *arg);              \
  void shape_sites_b_##suffix(int n, shape_next next, void *arg);              \
  void shape_sites_c_##suffix(int n, shape_next next, void *arg);              \
  /* the return address of a call made from this function's body */            \
  uintptr_t shape_call_site_##suffix(void)

SHAPE_DECLARE(fp);
SHAPE_DECLARE(nofp);
SHAPE_DECLARE(lib); /* in libunwind_shapes.so */

#endif
