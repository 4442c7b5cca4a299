/*
 * A write after free into one leaf of a tree built by a recursive
 * function, among many such trees built and freed before: each node is
 * allocated and freed down its own path of calls, so its stacks are the
 * ones the stack memo keeps as variants. The report must name the leaf's
 * own path, in its allocation stack and in its free stack.
 */
#include "bug.h"

enum { DEPTH = 10, ROUNDS = 40 };

struct node {
  struct node *left, *right;
  long value;
};

static struct node *marked;

NOINLINE static struct node *build(int depth, unsigned path, unsigned mark)
{
  struct node *n = opaque(malloc(sizeof *n));
  n->value = depth;
  n->left = n->right = NULL;
  if (depth == 0 && path == mark)
    marked = n;
  if (depth > 0) {
    n->left = build(depth - 1, path * 2, mark);
    n->right = build(depth - 1, path * 2 + 1, mark);
  }
  return n;
}

NOINLINE static void drop(struct node *n)
{
  if (!n)
    return;
  drop(n->left);
  drop(n->right);
  free(n);
}

int main(void)
{
  for (int i = 0; i < ROUNDS; i++)
    drop(build(DEPTH, 1, 0));
  /* The leaf reached by these turns from the root, right or left. */
  const char *turns = "RLRRLLLRLR";
  unsigned mark = 1;
  for (const char *t = turns; *t; t++)
    mark = mark * 2 + (*t == 'R');
  drop(build(DEPTH, 1, mark));
  marked->value = 42;
  for (int i = 0; i < ROUNDS; i++)
    drop(build(DEPTH, 1, 0));
  return 0;
}
