# shellcheck shell=bash
# make workload: a generated project of 40 C files plus headers built with
# make -j2 (silent, so parallel output cannot interleave), run, checked up to
# date, touched, rebuilt incrementally and cleaned.
# requires: make gcc
set -e
mkdir -p proj/src proj/include
cd proj
for i in $(seq 0 39); do
  cat >include/mod$i.h <<EOT
#ifndef MOD${i}_H
#define MOD${i}_H
#include <stddef.h>
long mod${i}_run(long seed);
#endif
EOT
  cat >src/mod$i.c <<EOT
#include <stdlib.h>
#include <string.h>
#include "mod$i.h"
struct item$i { long key; char name[24]; struct item$i *next; };
static long churn(long seed)
{
    struct item$i *head = NULL;
    long sum = 0;
    for (long k = 0; k < 2000 + $i * 10; k++) {
        struct item$i *it = malloc(sizeof *it);
        it->key = (seed * 31 + k * $((i + 7))) % 10007;
        memset(it->name, 'a' + (int)(k % 26), sizeof it->name - 1);
        it->name[sizeof it->name - 1] = 0;
        it->next = head;
        head = it;
    }
    while (head) {
        struct item$i *next = head->next;
        sum += head->key + (long)strlen(head->name);
        free(head);
        head = next;
    }
    return sum;
}
long mod${i}_run(long seed) { return churn(seed + $i); }
EOT
done
{
  echo '#include <stdio.h>'
  for i in $(seq 0 39); do echo "#include \"mod$i.h\""; done
  echo 'int main(void) { long total = 0;'
  for i in $(seq 0 39); do echo "  total += mod${i}_run(total % 1000);"; done
  echo '  printf("total %ld\n", total); return 0; }'
} >src/main.c
cat >Makefile <<'EOT'
CC = gcc
CFLAGS = -O2 -Wall -Iinclude -MMD -MP
SRCS = $(wildcard src/*.c)
OBJS = $(SRCS:src/%.c=build/%.o)
app: $(OBJS)
	$(CC) -o $@ $^
build/%.o: src/%.c | build
	$(CC) $(CFLAGS) -c -o $@ $<
build:
	mkdir -p $@
clean:
	rm -rf build app
.PHONY: clean
-include $(OBJS:.o=.d)
EOT
make -j2 -s
./app
make -q && echo "up to date"
touch include/mod7.h
make -q || echo "needs rebuild after touching a header"
make -j2 -s
./app
ls build/*.o | wc -l
make -s clean
ls
