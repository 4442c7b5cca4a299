/*
 * demo.c - a small program with a heap bug, for heapguard's first run.
 *
 * It builds a list of names; one copy is one byte too short, so strcpy
 * writes the terminating NUL past the end of the block. glibc's malloc
 * says nothing; under heapguard the free() of that block is reported as a
 * heap-buffer-overflow and the damaged segment is dumped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct person {
  char *name;
  struct person *next;
};

static struct person *add_person(struct person *list, const char *name)
{
  struct person *p = malloc(sizeof *p);
  p->name = malloc(strlen(name)); /* bug: no room for the NUL */
  strcpy(p->name, name);
  p->next = list;
  return p;
}

static void free_people(struct person *list)
{
  while (list) {
    struct person *next = list->next;
    free(list->name);
    free(list);
    list = next;
  }
}

int main(void)
{
  static const char *const names[] = { "Ada", "Grace", "Barbara", "Frances" };
  struct person *list = NULL;
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    list = add_person(list, names[i]);
  for (struct person *p = list; p; p = p->next)
    printf("hello, %s\n", p->name);
  free_people(list);
  return 0;
}
