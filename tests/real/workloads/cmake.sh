# shellcheck shell=bash
# cmake workload: configure and build a tiny project (a static library, a
# program, a custom command and a ctest test), run it and run its test.
# requires: cmake make gcc
set -e
mkdir -p tiny/lib
cat >tiny/CMakeLists.txt <<'EOT'
cmake_minimum_required(VERSION 3.13)
project(tiny C)
enable_testing()
option(TINY_EXTRA "extra feature" ON)
configure_file(config.h.in config.h)
add_subdirectory(lib)
add_custom_command(OUTPUT table.c
  COMMAND ${CMAKE_COMMAND} -DOUT=table.c -P ${CMAKE_CURRENT_SOURCE_DIR}/gen.cmake
  DEPENDS gen.cmake)
add_executable(tiny main.c ${CMAKE_CURRENT_BINARY_DIR}/table.c)
target_include_directories(tiny PRIVATE ${CMAKE_CURRENT_BINARY_DIR})
target_link_libraries(tiny PRIVATE words)
add_test(NAME tiny_runs COMMAND tiny)
set_tests_properties(tiny_runs PROPERTIES PASS_REGULAR_EXPRESSION "words 64")
EOT
cat >tiny/config.h.in <<'EOT'
#cmakedefine TINY_EXTRA
#define TINY_NAME "@PROJECT_NAME@"
EOT
cat >tiny/gen.cmake <<'EOT'
set(body "int table[] = {")
foreach(i RANGE 0 99)
  math(EXPR v "${i} * ${i} % 97")
  string(APPEND body "${v}, ")
endforeach()
file(WRITE ${OUT} "${body}};\nint table_len = 100;\n")
EOT
cat >tiny/lib/CMakeLists.txt <<'EOT'
add_library(words STATIC words.c)
target_include_directories(words PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
EOT
cat >tiny/lib/words.h <<'EOT'
char **make_words(int n);
void free_words(char **w, int n);
EOT
cat >tiny/lib/words.c <<'EOT'
#include <stdio.h>
#include <stdlib.h>
#include "words.h"
char **make_words(int n)
{
    char **w = calloc((size_t)n, sizeof *w);
    for (int i = 0; i < n; i++) {
        w[i] = malloc(16);
        snprintf(w[i], 16, "w%d", i * 7);
    }
    return w;
}
void free_words(char **w, int n)
{
    for (int i = 0; i < n; i++)
        free(w[i]);
    free(w);
}
EOT
cat >tiny/main.c <<'EOT'
#include <stdio.h>
#include "config.h"
#include "words.h"
extern int table[], table_len;
int main(void)
{
    char **w = make_words(64);
    long sum = 0;
    for (int i = 0; i < table_len; i++)
        sum += table[i];
#ifdef TINY_EXTRA
    printf("%s: words 64 last %s table sum %ld\n", TINY_NAME, w[63], sum);
#endif
    free_words(w, 64);
    return 0;
}
EOT
cmake -S tiny -B build -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Release
cmake --build build
./build/tiny
ctest --test-dir build --output-on-failure
cmake --build build --target clean
cmake --build build -- -s
cmake -L -N build | grep TINY_EXTRA
