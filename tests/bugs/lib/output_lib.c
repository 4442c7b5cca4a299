/* A library whose destructor prints: at exit it runs after heapguard's. */
#include <stdio.h>

__attribute__((destructor)) static void print_at_exit(void)
{
  printf("output of a library destructor\n");
}

void output_lib_linked(void)
{
}
