/* Benchmark trace driver. One binary is linked to every allocator under test
 * (imports malloc/free/realloc from env), so the measured loop is wasm calling
 * wasm with no JavaScript inside. It is a position-independent side module
 * with no static data: its bookkeeping (the table of live blocks) lives in
 * blocks it gets from the allocator under test, so no allocator can clobber
 * it by accident.
 *
 * The checksum depends only on bytes written into blocks and read back, not
 * on addresses, so every correct allocator gives the same value. */
typedef unsigned long size_t;
typedef unsigned int u32;
typedef unsigned char u8;
void *malloc(size_t size);
void *realloc(void *ptr, size_t size);
void free(void *ptr);

#define EXPORT(name) __attribute__((export_name(name)))

enum { RANDOM = 0, SMALL = 1, BATCH = 2, GROW = 3, RECORDS = 4 };

struct slot { u8 *p; u32 size; };

struct run {
    u32 rng;
    u32 checksum;
    u32 live_bytes;
    u32 peak_bytes;
    u32 calls;
    u32 failures;
};

static u32 next(struct run *r) {
    u32 x = r->rng;
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    return r->rng = x;
}

static u32 below(struct run *r, u32 n) { return next(r) % n; }

/* Writes a tag at both ends of a fresh block, so freeing can check it. */
static int take(struct run *r, struct slot *s, u32 size) {
    r->calls++;
    u8 *p = malloc(size);
    if (!p) { r->failures++; s->p = 0; s->size = 0; return 0; }
    u8 tag = (u8)next(r);
    if (size) { p[0] = tag; p[size - 1] = tag ^ 0x5a; }
    s->p = p;
    s->size = size;
    r->live_bytes += size;
    if (r->live_bytes > r->peak_bytes) r->peak_bytes = r->live_bytes;
    return 1;
}

static void drop(struct run *r, struct slot *s) {
    if (!s->p) return;
    if (s->size) r->checksum = r->checksum * 31 + s->p[0] + s->p[s->size - 1];
    r->calls++;
    free(s->p);
    r->live_bytes -= s->size;
    s->p = 0;
    s->size = 0;
}

static void resize(struct run *r, struct slot *s, u32 size) {
    if (!s->p) { take(r, s, size); return; }
    u32 keep = s->size < size ? s->size : size;
    u8 first = keep ? s->p[0] : 0;
    r->calls++;
    u8 *q = realloc(s->p, size ? size : 1);
    if (!q) { r->failures++; return; }
    if (keep && q[0] != first) r->checksum ^= 0xdeadbeef; /* contents lost */
    r->checksum = r->checksum * 31 + first;
    r->live_bytes = r->live_bytes - s->size + size;
    if (r->live_bytes > r->peak_bytes) r->peak_bytes = r->live_bytes;
    s->p = q;
    s->size = size;
    if (size) { q[0] = (u8)next(r); q[size - 1] = q[0] ^ 0x5a; }
}

static struct slot *table(struct run *r, u32 n) {
    r->calls++;
    struct slot *t = malloc(n * sizeof *t);
    if (t) for (u32 i = 0; i < n; i++) { t[i].p = 0; t[i].size = 0; }
    return t;
}

static void drop_all(struct run *r, struct slot *t, u32 n) {
    for (u32 i = 0; i < n; i++) drop(r, &t[i]);
    r->calls++;
    free(t);
}

/* random: alloc/free/realloc, 1..10000 bytes, 50..500 blocks live */
static void trace_random(struct run *r, u32 ops) {
    enum { N = 500 };
    struct slot *t = table(r, N);
    if (!t) return;
    u32 live = 0;
    for (u32 i = 0; i < ops; i++) {
        u32 action = below(r, 3);
        if (live < 50 || (action == 0 && live < N)) {
            if (take(r, &t[live], 1 + below(r, 10000))) live++;
        } else if (action == 1) {
            u32 k = below(r, live);
            drop(r, &t[k]);
            t[k] = t[--live];
            t[live].p = 0;
        } else {
            resize(r, &t[below(r, live)], 1 + below(r, 10000));
        }
    }
    drop_all(r, t, N);
}

/* small: 8..128-byte objects, ~1000 live, random frees */
static void trace_small(struct run *r, u32 ops) {
    enum { N = 1000 };
    struct slot *t = table(r, N);
    if (!t) return;
    for (u32 i = 0; i < N; i++) take(r, &t[i], 8 + below(r, 121));
    for (u32 i = 0; i < ops; i++) {
        struct slot *s = &t[below(r, N)];
        drop(r, s);
        take(r, s, 8 + below(r, 121));
    }
    drop_all(r, t, N);
}

/* batch: allocate 2 MB of 0..2000-byte blocks, free them all in random order; `ops` rounds */
static void trace_batch(struct run *r, u32 rounds) {
    enum { N = 8192 };
    struct slot *t = table(r, N);
    if (!t) return;
    for (u32 round = 0; round < rounds; round++) {
        u32 n = 0, total = 0;
        while (total < 2000000 && n < N) {
            u32 size = below(r, 2001);
            if (!take(r, &t[n], size)) break;
            total += size;
            n++;
        }
        for (u32 i = n; i > 1; i--) { /* Fisher-Yates: free in random order */
            u32 k = below(r, i);
            struct slot tmp = t[i - 1]; t[i - 1] = t[k]; t[k] = tmp;
        }
        for (u32 i = 0; i < n; i++) drop(r, &t[i]);
    }
    drop_all(r, t, N);
}

/* grow: a vector doubling by realloc from 16 bytes to 1 MiB; `ops` times */
static void trace_grow(struct run *r, u32 times) {
    for (u32 k = 0; k < times; k++) {
        struct slot s = { 0, 0 };
        take(r, &s, 16);
        for (u32 size = 32; size <= (1u << 20); size *= 2) resize(r, &s, size);
        drop(r, &s);
    }
}

/* records: 24-byte churn with 10 000 live */
static void trace_records(struct run *r, u32 ops) {
    enum { N = 10000 };
    struct slot *t = table(r, N);
    if (!t) return;
    for (u32 i = 0; i < N; i++) take(r, &t[i], 24);
    for (u32 i = 0; i < ops; i++) {
        struct slot *s = &t[below(r, N)];
        drop(r, s);
        take(r, s, 24);
    }
    drop_all(r, t, N);
}

/* Runs one trace. `report`, when not 0, points to 4 u32 slots receiving
 * peak live requested bytes, allocator calls made, failed calls, and the
 * live bytes left (0 when everything was freed). Returns the checksum. */
EXPORT("run") u32 run(u32 trace, u32 seed, u32 ops, u32 *report) {
    struct run *r = malloc(sizeof *r); /* bookkeeping in the heap under test, not on a stack */
    if (!r) return 0;
    r->rng = seed ? seed : 1;
    r->checksum = r->live_bytes = r->peak_bytes = r->calls = r->failures = 0;
    switch (trace) {
    case RANDOM: trace_random(r, ops); break;
    case SMALL: trace_small(r, ops); break;
    case BATCH: trace_batch(r, ops); break;
    case GROW: trace_grow(r, ops); break;
    case RECORDS: trace_records(r, ops); break;
    default: break;
    }
    if (report) { report[0] = r->peak_bytes; report[1] = r->calls; report[2] = r->failures; report[3] = r->live_bytes; }
    u32 sum = r->checksum;
    free(r);
    return sum;
}
