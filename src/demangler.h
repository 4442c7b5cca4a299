/*
 * demangler.h - C++ names as people read them, without allocating.
 *
 * libstdc++ exports only __cxa_demangle, which allocates its result (from
 * the heap being reported on) and is absent from C programs. heapguard
 * links instead the demangler of GCC's libiberty (cp-demangle.o from
 * libiberty.a, Debian's libiberty-dev: the one c++filt and gdb use, linked
 * under its linking exception) through its callback interface, which
 * allocates nothing. That demangler keeps work arrays on the stack, in
 * proportion to the name's length, so it runs on a stack of its own: a
 * report may be running on a signal handler's small alternate stack.
 */
#ifndef HG_DEMANGLER_H
#define HG_DEMANGLER_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The demangled form of name in out (cap bytes, truncated to fit); false
 * when name is not a mangled C++ name, or is too long to try, and then
 * out holds nothing of use. Not reentrant: the caller serialises calls.
 */
bool hg_demangle(const char *name, char *out, size_t cap);

#endif
