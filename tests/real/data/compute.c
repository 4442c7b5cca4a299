/* compute.c - a multi-function C program compiled with gcc -O2 by the
 * heapguard real-software tests and then run (under the same preload).
 * It exercises malloc/realloc/free through a hash table, a growable vector,
 * a binary search tree, string building, a tiny expression evaluator,
 * matrix products, sorting and a sieve.  Output is deterministic. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static void *xrealloc(void *old, size_t n)
{
    void *p = realloc(old, n);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

/* ---- FNV-1a and CRC32 --------------------------------------------------- */
static uint32_t fnv1a(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static uint32_t crc_table[256];

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32(uint32_t crc, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    crc = ~crc;
    while (n--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* ---- growable vector of strings ------------------------------------------ */
struct vec {
    char **items;
    size_t len, cap;
};

static void vec_push(struct vec *v, char *s)
{
    if (v->len == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 8;
        v->items = xrealloc(v->items, v->cap * sizeof *v->items);
    }
    v->items[v->len++] = s;
}

static void vec_free(struct vec *v)
{
    for (size_t i = 0; i < v->len; i++)
        free(v->items[i]);
    free(v->items);
    v->items = NULL;
    v->len = v->cap = 0;
}

static char *random_word(void)
{
    size_t n = 3 + rng() % 14;
    char *s = xmalloc(n + 1);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)('a' + rng() % 26);
    s[n] = '\0';
    return s;
}

/* ---- chained hash table: word -> count ----------------------------------- */
struct entry {
    char *key;
    long count;
    struct entry *next;
};

struct table {
    struct entry **buckets;
    size_t nbuckets, size;
};

static void table_grow(struct table *t)
{
    size_t n = t->nbuckets ? t->nbuckets * 2 : 16;
    struct entry **b = calloc(n, sizeof *b);
    if (!b)
        exit(1);
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct entry *e = t->buckets[i], *next;
        for (; e; e = next) {
            next = e->next;
            size_t h = fnv1a(e->key, strlen(e->key)) & (n - 1);
            e->next = b[h];
            b[h] = e;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
}

static void table_add(struct table *t, const char *key, long delta)
{
    if (t->size >= t->nbuckets * 3 / 4)
        table_grow(t);
    size_t h = fnv1a(key, strlen(key)) & (t->nbuckets - 1);
    for (struct entry *e = t->buckets[h]; e; e = e->next)
        if (strcmp(e->key, key) == 0) {
            e->count += delta;
            return;
        }
    struct entry *e = xmalloc(sizeof *e);
    e->key = strdup(key);
    e->count = delta;
    e->next = t->buckets[h];
    t->buckets[h] = e;
    t->size++;
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct entry *e = t->buckets[i], *next;
        for (; e; e = next) {
            next = e->next;
            free(e->key);
            free(e);
        }
    }
    free(t->buckets);
}

/* ---- binary search tree ---------------------------------------------------- */
struct node {
    long key;
    struct node *left, *right;
};

static struct node *tree_insert(struct node *root, long key)
{
    struct node **link = &root;
    while (*link) {
        if (key == (*link)->key)
            return root;
        link = key < (*link)->key ? &(*link)->left : &(*link)->right;
    }
    *link = xmalloc(sizeof **link);
    (*link)->key = key;
    (*link)->left = (*link)->right = NULL;
    return root;
}

static long tree_sum_depth(const struct node *n, long depth, long *maxdepth)
{
    if (!n)
        return 0;
    if (depth > *maxdepth)
        *maxdepth = depth;
    return n->key % 1000 + tree_sum_depth(n->left, depth + 1, maxdepth) +
           tree_sum_depth(n->right, depth + 1, maxdepth);
}

static void tree_free(struct node *n)
{
    if (!n)
        return;
    tree_free(n->left);
    tree_free(n->right);
    free(n);
}

/* ---- recursive-descent expression evaluator --------------------------------- */
static const char *expr_pos;
static long parse_expr(void);

static long parse_atom(void)
{
    if (*expr_pos == '(') {
        expr_pos++;
        long v = parse_expr();
        expr_pos++; /* ')' */
        return v;
    }
    if (*expr_pos == '-') {
        expr_pos++;
        return -parse_atom();
    }
    long v = 0;
    while (*expr_pos >= '0' && *expr_pos <= '9')
        v = v * 10 + (*expr_pos++ - '0');
    return v;
}

static long parse_term(void)
{
    long v = parse_atom();
    while (*expr_pos == '*' || *expr_pos == '%') {
        char op = *expr_pos++;
        long r = parse_atom();
        v = (op == '*' ? v * r : (r ? v % r : 0)) % 1000000007;
    }
    return v;
}

static long parse_expr(void)
{
    long v = parse_term();
    while (*expr_pos == '+' || *expr_pos == '-') {
        char op = *expr_pos++;
        long r = parse_term();
        v = op == '+' ? v + r : v - r;
    }
    return v % 1000000007;
}

/* Append n bytes to a heap string that grows as needed (keeps room for a NUL). */
static void append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *buf = xrealloc(*buf, *cap);
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
}

/* Build a random expression. */
static void gen_expr(char **buf, size_t *len, size_t *cap, int depth)
{
    if (depth == 0 || rng() % 4 == 0) {
        char tmp[16];
        int n = snprintf(tmp, sizeof tmp, "%u", (unsigned)(rng() % 1000));
        append(buf, len, cap, tmp, (size_t)n);
        return;
    }
    append(buf, len, cap, "(", 1);
    gen_expr(buf, len, cap, depth - 1);
    append(buf, len, cap, &"+-*%"[rng() % 4], 1);
    gen_expr(buf, len, cap, depth - 1);
    append(buf, len, cap, ")", 1);
}

/* ---- matrices, sorting, sieve ----------------------------------------------- */
static double *matmul(const double *a, const double *b, int n)
{
    double *c = calloc((size_t)n * n, sizeof *c);
    if (!c)
        exit(1);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++)
            for (int j = 0; j < n; j++)
                c[i * n + j] += a[i * n + k] * b[k * n + j];
    return c;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static long sieve(int limit)
{
    char *composite = calloc((size_t)limit + 1, 1);
    long count = 0;
    for (long i = 2; i <= limit; i++) {
        if (composite[i])
            continue;
        count++;
        for (long j = i * i; j <= limit; j += i)
            composite[j] = 1;
    }
    free(composite);
    return count;
}

int main(void)
{
    crc_init();

    /* words, hash table, sorting */
    struct vec words = {0};
    struct table table = {0};
    for (int i = 0; i < 200000; i++) {
        char *w = random_word();
        char key[4] = {w[0], w[1], w[2], 0};
        table_add(&table, key, 1);
        vec_push(&words, w);
    }
    qsort(words.items, words.len, sizeof *words.items, cmp_str);
    uint32_t crc = 0;
    for (size_t i = 0; i < words.len; i++)
        crc = crc32(crc, words.items[i], strlen(words.items[i]));
    printf("words %zu distinct-prefixes %zu first %s last %s crc %08x\n", words.len, table.size,
           words.items[0], words.items[words.len - 1], (unsigned)crc);

    /* string building with realloc */
    size_t cap = 16, len = 0;
    char *big = xmalloc(cap);
    for (size_t i = 0; i < words.len; i += 3) {
        size_t n = strlen(words.items[i]);
        if (len + n + 2 > cap) {
            cap *= 2;
            big = xrealloc(big, cap);
        }
        memcpy(big + len, words.items[i], n);
        len += n;
        big[len++] = ' ';
    }
    big[len] = '\0';
    printf("joined %zu bytes fnv %08x\n", len, (unsigned)fnv1a(big, len));
    free(big);
    vec_free(&words);
    table_free(&table);

    /* tree */
    struct node *root = NULL;
    for (int i = 0; i < 100000; i++)
        root = tree_insert(root, (long)(rng() % 1000000));
    long maxdepth = 0;
    long tsum = tree_sum_depth(root, 1, &maxdepth);
    printf("tree sum %ld depth>10 %d\n", tsum, maxdepth > 10);
    tree_free(root);

    /* expressions */
    long acc = 0;
    for (int i = 0; i < 2000; i++) {
        size_t elen = 0, ecap = 8;
        char *e = xmalloc(ecap);
        e[0] = '\0';
        gen_expr(&e, &elen, &ecap, 8);
        expr_pos = e;
        acc = (acc * 31 + parse_expr()) % 1000000007;
        free(e);
    }
    printf("expressions %ld\n", acc);

    /* matrices */
    int n = 120;
    double *a = xmalloc(sizeof *a * n * n), *b = xmalloc(sizeof *b * n * n);
    for (int i = 0; i < n * n; i++) {
        a[i] = (double)(rng() % 100) / 10.0;
        b[i] = (double)(rng() % 100) / 10.0;
    }
    double *c = matmul(a, b, n);
    double trace = 0;
    for (int i = 0; i < n; i++)
        trace += c[i * n + i];
    printf("matrix trace %.1f\n", trace);
    free(a);
    free(b);
    free(c);

    /* numbers */
    long *nums = xmalloc(sizeof *nums * 300000);
    for (int i = 0; i < 300000; i++)
        nums[i] = (long)(rng() % 1000000000);
    qsort(nums, 300000, sizeof *nums, cmp_long);
    printf("sorted min %ld median %ld max %ld\n", nums[0], nums[150000], nums[299999]);
    free(nums);
    printf("primes below 2000000: %ld\n", sieve(2000000));
    return 0;
}
