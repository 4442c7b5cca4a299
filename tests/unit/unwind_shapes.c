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

/*
 * Calls with arguments on the stack: the caller's CFA offset grows for
 * them. noipa keeps the compiler from dropping arguments it could see.
 */
#if defined(__clang__)
#define NOIPA __attribute__((noinline))
#else
#define NOIPA __attribute__((noipa))
#endif

NOIPA static void SHAPE(pass_on_8)(long a, long b, long c, long d, long e,
                                                       long f, long g, long h, shape_next next,
                                                       void *arg)
{
  next(arg);
  SHAPE(shape_sink) += (int)(a + b + c + d + e + f + g + h);
}

NOIPA static void SHAPE(pass_on_6)(long a, long b, long c, long d, long e,
                                                       long f, shape_next next, void *arg)
{
  next(arg);
  SHAPE(shape_sink) += (int)(a + b + c + d + e + f);
}

/* Early returns give the program remember_state and restore_state. */
#define SHAPE_SITES(name)                                                     \
  __attribute__((noinline)) void SHAPE(name)(int n, shape_next next, void *arg) \
  {                                                                           \
    if (n == 0) {                                                             \
      next(arg);                                                              \
      SHAPE(shape_sink)++;                                                    \
      return;                                                                 \
    }                                                                         \
    long v = SHAPE(shape_sink), w = v * 3, x = w ^ 5, y = x + v;              \
    if (n == 1)                                                               \
      SHAPE(pass_on_8)(v, w, x, y, v + 1, w + 2, x + 3, y + 4, next, arg);    \
    else if (n == 2)                                                          \
      SHAPE(pass_on_6)(y, x, w, v, y + 5, x + 6, next, arg);                  \
    else                                                                      \
      next(arg);                                                              \
    SHAPE(shape_sink) += (int)(v + w + x + y);                                \
  }

SHAPE_SITES(shape_sites_a)
SHAPE_SITES(shape_sites_b)
SHAPE_SITES(shape_sites_c)

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
