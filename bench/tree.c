/* tree: build and tear down binary search trees, repeatedly.
 * Models compilers / parsers / symbol tables: many small nodes allocated in
 * one phase, each with a short malloc'd name, walked, then freed all at once
 * (post-order) before the next unit.  Usage: bench_tree [scale] */
#include <string.h>
#include "bench_common.h"

struct node {
    uint64_t key;
    struct node *left, *right;
    char *name;
};

static struct node *insert(struct node *root, struct node *n)
{
    struct node **link = &root;
    while (*link)
        link = n->key < (*link)->key ? &(*link)->left : &(*link)->right;
    *link = n;
    return root;
}

/* in-order checksum; recursion depth is ~3*log2(n) for random keys */
static uint64_t walk(const struct node *n, uint64_t h)
{
    for (; n; n = n->right) {
        h = walk(n->left, h);
        h = mix(h, n->key ^ (uint64_t)strlen(n->name) ^ (uint8_t)n->name[0]);
    }
    return h;
}

static void teardown(struct node *n)
{
    while (n) {
        struct node *right = n->right;
        teardown(n->left);
        free(n->name);
        free(n);
        n = right;
    }
}

int main(int argc, char **argv)
{
    double scale = arg_double(argc, argv, 1, 1.0);
    size_t nodes = 100000, rounds = scaled(scale, 12, 1);
    rng_t r;
    rng_seed(&r, 2);
    uint64_t sum = 0;

    for (size_t round = 0; round < rounds; round++) {
        struct node *root = NULL;
        for (size_t i = 0; i < nodes; i++) {
            struct node *n = malloc(sizeof *n);
            size_t len = rng_range(&r, 4, 40);
            if (!n || !(n->name = malloc(len + 1)))
                die_oom("node");
            n->key = rng_next(&r);
            for (size_t j = 0; j < len; j++)
                n->name[j] = (char)('a' + (n->key >> (j % 32)) % 26);
            n->name[len] = '\0';
            n->left = n->right = NULL;
            root = insert(root, n);
        }
        sum = walk(root, sum);
        teardown(root);
    }
    printf("tree nodes=%zu rounds=%zu checksum=%016" PRIx64 "\n", nodes, rounds, sum);
    return 0;
}
