/* A string table in C that needs malloc/free but ships no allocator: it is
 * linked at load time against linalloc.wasm (see README, "Use it from C").
 * Strings are interned in a hash table whose buckets are linked lists; every
 * node and every copied string is a malloc'ed block in linalloc's heap. */
typedef unsigned long size_t;
void *malloc(size_t size);
void *realloc(void *ptr, size_t size);
void free(void *ptr);

#define EXPORT(name) __attribute__((export_name(name)))

struct node {             /* one interned string, chained in its bucket */
    struct node *next;
    unsigned hash;
    unsigned id;
    char text[];
};

struct strtab {
    struct node **buckets;
    unsigned nbuckets;
    unsigned count;
    struct node **by_id;  /* grows with realloc */
};

/* Static data, so the loader has a static region to place and protect. */
static const char banner[] = "strtab 1.0: interned strings in linalloc's heap";
static unsigned tables_created;

static size_t length(const char *s) { size_t n = 0; while (s[n]) n++; return n; }

static unsigned fnv1a(const char *s) {
    unsigned h = 2166136261u;
    while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

static int same(const char *a, const char *b) {
    while (*a && *a == *b) a++, b++;
    return *a == *b;
}

EXPORT("st_banner") const char *st_banner(void) { return banner; }
EXPORT("st_tables_created") unsigned st_tables_created(void) { return tables_created; }

EXPORT("st_new") struct strtab *st_new(unsigned nbuckets) {
    struct strtab *t = malloc(sizeof *t);
    if (!t) return 0;
    t->nbuckets = nbuckets ? nbuckets : 16;
    t->buckets = malloc(t->nbuckets * sizeof *t->buckets);
    if (!t->buckets) { free(t); return 0; }
    for (unsigned i = 0; i < t->nbuckets; i++) t->buckets[i] = 0;
    t->count = 0;
    t->by_id = 0;
    tables_created++;
    return t;
}

/* Interns `s`; returns its id (ids start at 1), 0 when out of memory. */
EXPORT("st_intern") unsigned st_intern(struct strtab *t, const char *s) {
    unsigned h = fnv1a(s);
    struct node **head = &t->buckets[h % t->nbuckets];
    for (struct node *n = *head; n; n = n->next)
        if (n->hash == h && same(n->text, s)) return n->id;
    size_t len = length(s);
    struct node *n = malloc(sizeof *n + len + 1);
    if (!n) return 0;
    struct node **ids = realloc(t->by_id, (t->count + 1) * sizeof *ids);
    if (!ids) { free(n); return 0; }
    t->by_id = ids;
    for (size_t i = 0; i <= len; i++) n->text[i] = s[i];
    n->hash = h;
    n->id = ++t->count;
    n->next = *head;
    *head = n;
    ids[n->id - 1] = n;
    return n->id;
}

/* Interns "a/b", built in a buffer on the C stack (so the module needs a
 * stack: fixed-layout builds place one, side modules get one from the loader). */
EXPORT("st_intern_path") unsigned st_intern_path(struct strtab *t, const char *a, const char *b) {
    char buf[256];
    size_t la = length(a), lb = length(b);
    if (la + lb + 2 > sizeof buf) return 0;
    for (size_t i = 0; i < la; i++) buf[i] = a[i];
    buf[la] = '/';
    for (size_t i = 0; i <= lb; i++) buf[la + 1 + i] = b[i];
    return st_intern(t, buf);
}

EXPORT("st_lookup") const char *st_lookup(struct strtab *t, unsigned id) {
    return id >= 1 && id <= t->count ? t->by_id[id - 1]->text : 0;
}

EXPORT("st_count") unsigned st_count(struct strtab *t) { return t->count; }

/* Longest chain: how well the buckets spread the strings. */
EXPORT("st_longest_chain") unsigned st_longest_chain(struct strtab *t) {
    unsigned best = 0;
    for (unsigned i = 0; i < t->nbuckets; i++) {
        unsigned n = 0;
        for (struct node *p = t->buckets[i]; p; p = p->next) n++;
        if (n > best) best = n;
    }
    return best;
}

EXPORT("st_free") void st_free(struct strtab *t) {
    for (unsigned i = 0; i < t->nbuckets; i++) {
        struct node *n = t->buckets[i];
        while (n) { struct node *next = n->next; free(n); n = next; }
    }
    free(t->buckets);
    free(t->by_id);
    free(t);
}
