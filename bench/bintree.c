/* bintree: the classic binary-trees benchmark.
 * A stretch tree of depth 17 is built, checked and freed; a long-lived tree
 * of depth 16 stays while many short-lived trees of growing depth (4, 6,
 * ..., 16) are built, checked and freed. Every tree is built by a recursive
 * function and freed in post-order, so each allocation and each free comes
 * from a different stack depth: the case that defeats any memo of call
 * sites and makes stack capture cost a full unwind. Nodes are 24 bytes.
 * The scale multiplies the number of short-lived trees of each depth.
 * Usage: bench_bintree [scale] */
#include "bench_common.h"

#define MIN_DEPTH 4
#define MAX_DEPTH 16

struct node {
    struct node *left, *right;
    uint32_t item;
};

static struct node *bottom_up(uint32_t item, int depth)
{
    struct node *n = malloc(sizeof *n);
    if (!n)
        die_oom("node");
    n->item = item;
    if (depth > 0) {
        n->left = bottom_up(2 * item - 1, depth - 1);
        n->right = bottom_up(2 * item, depth - 1);
    } else {
        n->left = n->right = NULL;
    }
    return n;
}

static uint64_t check(const struct node *n)
{
    if (!n->left)
        return n->item;
    return mix(mix(check(n->left), check(n->right)), n->item);
}

static void delete_tree(struct node *n)
{
    if (n->left) {
        delete_tree(n->left);
        delete_tree(n->right);
    }
    free(n);
}

static uint64_t build_check_delete(uint32_t item, int depth)
{
    struct node *t = bottom_up(item, depth);
    uint64_t c = check(t);
    delete_tree(t);
    return c;
}

int main(int argc, char **argv)
{
    double scale = arg_double(argc, argv, 1, 1.0);
    uint64_t sum = build_check_delete(0, MAX_DEPTH + 1);
    struct node *long_lived = bottom_up(0, MAX_DEPTH);
    size_t trees = 0;

    for (int depth = MIN_DEPTH; depth <= MAX_DEPTH; depth += 2) {
        size_t iterations = scaled(scale, (double)(1u << (MAX_DEPTH - depth + MIN_DEPTH)), 1);
        for (size_t i = 1; i <= iterations; i++)
            sum = mix(sum, build_check_delete((uint32_t)i, depth));
        trees += iterations;
    }
    sum = mix(sum, check(long_lived));
    delete_tree(long_lived);
    printf("bintree trees=%zu checksum=%016" PRIx64 "\n", trees, sum);
    return 0;
}
