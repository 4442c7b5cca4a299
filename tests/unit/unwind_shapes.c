/*
 * unwind_shapes.c - the frame shapes of unwind_shapes.h; SHAPE_SUFFIX
 * (fp, nofp or lib) names this compilation's copies.
 */
#include "unwind_shapes.h"

#include <alloca.h>
#include <string.h>

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define SHAPE(name) CAT(name, SHAPE_SUFFIX)

/* Work after each call, so that no call is a tail call. */
volatile int SHAPE(shape_sink);

__attribute__((noinline)) void SHAPE(shape_recurse)(int n, shape_next next, void *arg)
{
  if (n > 0)
    SHAPE(shape_recurse)(n - 1, next, arg);
  else
    next(arg);
  SHAPE(shape_sink)++;
}

__attribute__((noinline)) void SHAPE(shape_alloca)(int n, shape_next next, void *arg)
{
  char *buf = alloca((size_t)n + 1);
  memset(buf, 1, (size_t)n + 1);
  next(arg);
  SHAPE(shape_sink) += buf[n];
}

__attribute__((noinline)) void SHAPE(shape_big_frame)(int n, shape_next next, void *arg)
{
  volatile char big[20000];
  big[0] = (char)n;
  big[sizeof big - 1] = 2;
  next(arg);
  SHAPE(shape_sink) += big[0] + big[sizeof big - 1];
}

__attribute__((noinline)) void SHAPE(shape_saves)(int n, shape_next next, void *arg)
{
  int a = SHAPE(shape_sink) + n, b = a * 3, c = b ^ 5, d = c + a, e = d * b, f = e - c;
  next(arg);
  SHAPE(shape_sink) += a + b + c + d + e + f;
}

__attribute__((noinline)) static uintptr_t SHAPE(return_address)(void)
{
  uintptr_t ra = (uintptr_t)__builtin_return_address(0);
  __asm__ volatile("" : "+r"(ra));
  return ra;
}

__attribute__((noinline)) uintptr_t SHAPE(shape_call_site)(void)
{
  uintptr_t ra = SHAPE(return_address)();
  SHAPE(shape_sink)++;
  return ra;
}
