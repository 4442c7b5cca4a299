# shellcheck shell=bash
# gcc workload: compile data/compute.c (a few hundred lines, many functions)
# with -O2 and warnings, link it, run the result (it allocates a lot, and
# inherits the preload); also preprocess and assemble separately.
# requires: gcc
set -e
gcc -O2 -g -Wall -Wextra -std=c11 -D_DEFAULT_SOURCE -o compute "$REAL_DATA/compute.c"
./compute
gcc -O2 -std=c11 -D_DEFAULT_SOURCE -E "$REAL_DATA/compute.c" -o compute.i
gcc -O2 -S compute.i -o compute.s
gcc -c compute.s -o compute.o
gcc -o compute2 compute.o
./compute2 | md5sum
gcc -O0 -o compute0 "$REAL_DATA/compute.c" -std=c11 -D_DEFAULT_SOURCE
cmp <(./compute) <(./compute0) && echo "-O0 and -O2 agree"
