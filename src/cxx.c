/*
 * cxx.c - the replaceable global C++ operators new and delete.
 *
 * Owns every replaceable form (plain, array, nothrow, aligned, sized) under
 * its Itanium-mangled name, so that a C++ program's heap goes through
 * hg_front_alloc / hg_front_release like malloc's, tagged with its kind:
 * new -> HG_KIND_NEW, new[] -> HG_KIND_NEW_ARRAY. Each delete checks the
 * kind it pairs with, and sized deletes pass the size they were given, so
 * that free(new), delete(new[]), delete(malloc) and a wrong size are all
 * reported as alloc-dealloc-mismatch.
 *
 * Written in C: libstdc++ is never linked. When memory runs out, the
 * throwing forms behave as C++ requires: call the installed new_handler
 * until it gives up, then throw std::bad_alloc through libstdc++'s own
 * std::__throw_bad_alloc(). Both are looked up weakly (and with dlsym, for
 * a libstdc++ loaded later with dlopen). This file is built with
 * -fexceptions so that the exception unwinds through these frames.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>

#include "block.h"
#include "frontend.h"
#include "os.h"
#include "runtime.h"

/* The mangled names below spell size_t as 'm' (unsigned long). */
static_assert(_Generic((size_t)0, unsigned long: 1, default: 0), "size_t is unsigned long");

typedef void (*hg_new_handler)(void);

/* std::get_new_handler() and std::__throw_bad_alloc(), from libstdc++. */
extern hg_new_handler _ZSt15get_new_handlerv(void) __attribute__((weak));
extern void _ZSt17__throw_bad_allocv(void) __attribute__((weak, noreturn));

/*
 * A libstdc++ function the weak reference missed: libstdc++ was loaded
 * after us, possibly with dlopen's local scope (a C program dlopening a C++
 * plugin), where RTLD_DEFAULT does not see it. Only on out of memory.
 */
static void *libstdcxx_symbol(const char *name)
{
  void *sym = dlsym(RTLD_DEFAULT, name);
  if (sym)
    return sym;
  void *lib = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_NOLOAD);
  return lib ? dlsym(lib, name) : NULL; /* kept open: sym may be called */
}

static hg_new_handler current_new_handler(void)
{
  hg_new_handler (*get)(void) = _ZSt15get_new_handlerv;
  if (!get)
    get = (hg_new_handler(*)(void))libstdcxx_symbol("_ZSt15get_new_handlerv");
  return get ? get() : NULL;
}

static _Noreturn void throw_bad_alloc(void)
{
  void (*thrower)(void) = _ZSt17__throw_bad_allocv;
  if (!thrower)
    thrower = (void (*)(void))libstdcxx_symbol("_ZSt17__throw_bad_allocv");
  if (thrower)
    thrower();
  static const char msg[] = "heapguard: operator new: out of memory and no libstdc++ "
                            "to throw std::bad_alloc; aborting\n";
  hg_os_write_all(2, msg, sizeof msg - 1);
  hg_os_abort();
}

/* 0 (plain new) keeps malloc's own alignment; an explicit one is at least a granule. */
static size_t new_alignment(size_t alignment)
{
  return alignment && alignment < HG_GRANULE ? HG_GRANULE : alignment;
}

/* One allocation attempt; NULL when memory runs out (or alignment is bad). */
static void *try_new(struct hg_caller from, const char *op, size_t size, size_t alignment, uint16_t kind)
{
  if (alignment & (alignment - 1))
    return NULL;
  return hg_front_alloc(from, op, size, new_alignment(alignment), kind, false);
}

/* The throwing forms: retry while a new_handler frees memory, then throw. */
static void *must_new(struct hg_caller from, const char *op, size_t size, size_t alignment, uint16_t kind)
{
  for (;;) {
    void *p = try_new(from, op, size, alignment, kind);
    if (p)
      return p;
    hg_new_handler h = current_new_handler();
    if (!h)
      throw_bad_alloc();
    h();
  }
}

#define NEW_OP "operator new"
#define NEW_ARRAY_OP "operator new[]"
#define DELETE_OP "operator delete"
#define DELETE_ARRAY_OP "operator delete[]"
#define NOTHROW const void * /* const std::nothrow_t & */

/* Define fn under the mangled name sym and export it. */
#define CXX(ret, fn, sym, ...) HG_EXPORT ret fn(__VA_ARGS__) __asm__(sym); HG_EXPORT ret fn(__VA_ARGS__)

/* ---- new ---- */

CXX(void *, hg_new, "_Znwm", size_t n) { return must_new(HG_CALLER, NEW_OP, n, 0, HG_KIND_NEW); }
CXX(void *, hg_new_array, "_Znam", size_t n) { return must_new(HG_CALLER, NEW_ARRAY_OP, n, 0, HG_KIND_NEW_ARRAY); }
CXX(void *, hg_new_nothrow, "_ZnwmRKSt9nothrow_t", size_t n, NOTHROW t) { (void)t; return try_new(HG_CALLER, NEW_OP, n, 0, HG_KIND_NEW); }
CXX(void *, hg_new_array_nothrow, "_ZnamRKSt9nothrow_t", size_t n, NOTHROW t) { (void)t; return try_new(HG_CALLER, NEW_ARRAY_OP, n, 0, HG_KIND_NEW_ARRAY); }
CXX(void *, hg_new_aligned, "_ZnwmSt11align_val_t", size_t n, size_t a) { return must_new(HG_CALLER, NEW_OP, n, a, HG_KIND_NEW); }
CXX(void *, hg_new_array_aligned, "_ZnamSt11align_val_t", size_t n, size_t a) { return must_new(HG_CALLER, NEW_ARRAY_OP, n, a, HG_KIND_NEW_ARRAY); }
CXX(void *, hg_new_aligned_nothrow, "_ZnwmSt11align_val_tRKSt9nothrow_t", size_t n, size_t a, NOTHROW t) { (void)t; return try_new(HG_CALLER, NEW_OP, n, a, HG_KIND_NEW); }
CXX(void *, hg_new_array_aligned_nothrow, "_ZnamSt11align_val_tRKSt9nothrow_t", size_t n, size_t a, NOTHROW t) { (void)t; return try_new(HG_CALLER, NEW_ARRAY_OP, n, a, HG_KIND_NEW_ARRAY); }

/* ---- delete: the alignment is not checked, the size is when given ---- */

CXX(void, hg_delete, "_ZdlPv", void *p) { hg_front_release(HG_CALLER, DELETE_OP, p, HG_KIND_NEW, 0); }
CXX(void, hg_delete_array, "_ZdaPv", void *p) { hg_front_release(HG_CALLER, DELETE_ARRAY_OP, p, HG_KIND_NEW_ARRAY, 0); }
CXX(void, hg_delete_sized, "_ZdlPvm", void *p, size_t n) { hg_front_release(HG_CALLER, DELETE_OP, p, HG_KIND_NEW, n); }
CXX(void, hg_delete_array_sized, "_ZdaPvm", void *p, size_t n) { hg_front_release(HG_CALLER, DELETE_ARRAY_OP, p, HG_KIND_NEW_ARRAY, n); }
CXX(void, hg_delete_aligned, "_ZdlPvSt11align_val_t", void *p, size_t a) { (void)a; hg_front_release(HG_CALLER, DELETE_OP, p, HG_KIND_NEW, 0); }
CXX(void, hg_delete_array_aligned, "_ZdaPvSt11align_val_t", void *p, size_t a) { (void)a; hg_front_release(HG_CALLER, DELETE_ARRAY_OP, p, HG_KIND_NEW_ARRAY, 0); }
CXX(void, hg_delete_sized_aligned, "_ZdlPvmSt11align_val_t", void *p, size_t n, size_t a) { (void)a; hg_front_release(HG_CALLER, DELETE_OP, p, HG_KIND_NEW, n); }
CXX(void, hg_delete_array_sized_aligned, "_ZdaPvmSt11align_val_t", void *p, size_t n, size_t a) { (void)a; hg_front_release(HG_CALLER, DELETE_ARRAY_OP, p, HG_KIND_NEW_ARRAY, n); }
CXX(void, hg_delete_nothrow, "_ZdlPvRKSt9nothrow_t", void *p, NOTHROW t) { (void)t; hg_front_release(HG_CALLER, DELETE_OP, p, HG_KIND_NEW, 0); }
CXX(void, hg_delete_array_nothrow, "_ZdaPvRKSt9nothrow_t", void *p, NOTHROW t) { (void)t; hg_front_release(HG_CALLER, DELETE_ARRAY_OP, p, HG_KIND_NEW_ARRAY, 0); }
CXX(void, hg_delete_aligned_nothrow, "_ZdlPvSt11align_val_tRKSt9nothrow_t", void *p, size_t a, NOTHROW t) { (void)a; (void)t; hg_front_release(HG_CALLER, DELETE_OP, p, HG_KIND_NEW, 0); }
CXX(void, hg_delete_array_aligned_nothrow, "_ZdaPvSt11align_val_tRKSt9nothrow_t", void *p, size_t a, NOTHROW t) { (void)a; (void)t; hg_front_release(HG_CALLER, DELETE_ARRAY_OP, p, HG_KIND_NEW_ARRAY, 0); }
