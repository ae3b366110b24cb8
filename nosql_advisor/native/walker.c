/* walker.c: the column walk of shape/infer.py over raw BSON (owned by helper H1).
 *
 * A faithful port of ShapeBuilder._walk / _walk_objects / _walk_arrays / group_by_keys /
 * split_by_type / _bucket_values / _bucket_elements / _track_growth / _add_child and of the flush
 * (_flush_node, _scalar_stats) for the documents this core reads exactly: every value one of the
 * "native" kinds below (double, string, document, array, binary subtype 0, ObjectId, bool, datetime
 * in datetime's range, null, int32, int64, Decimal128), no duplicate keys, no "$ref" key, at most NATIVE_DEPTH
 * levels. Any other document is refused by `check`, and shape/native.py hands it (and its chunk) to
 * the Python reference: never an approximation.
 *
 * The state of the shape stays in Python's _Node tree; this walker mirrors the path tree (node i
 * here is self.nodes[i - 1] there, node 0 the root) and, per node, the canonical keys of the values
 * the Python distinct sketch holds while it is exact (or the sketch's hash threshold once it is
 * not), so it hands Python only values new to the sketch.
 *
 * The Python side (one chunk): check(data, starts, ends) -> refused documents; walk(segments) ->
 * (new nodes, drops, growth sums, too_deep); the builder makes the new _Nodes; flush() -> per node
 * the reference's flush; between two walks, the chunk view (kinds, values, elements, column, has,
 * ids, stamps, value_lengths). register / set_flags / set_threshold keep the mirror in step with
 * what Python did itself (a chunk the reference walked, a merge, an unpickled builder).
 *
 * The value helpers (the document check, framing, canonical keys, stable hashes, crc32, key sets,
 * int/float comparison, histograms) are values.h's, one tested copy. The walker's own narrower
 * acceptance (only the kinds above, no "$ref" key at any level) is values_document_native.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <structmember.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "values.h"

#define NATIVE_DEPTH 200      /* deeper documents go to Python (infer.MAX_WALK_DEPTH is 400) */
#define MAX_WALK_DEPTH 400
#define NO_THRESHOLD 0x100000000LL

/* the kinds this core reads, in no particular order (buckets keep first-filed order) */
enum { K_FLOAT, K_STR, K_DICT, K_LIST, K_BYTES, K_OID, K_BOOL, K_DATE, K_NONE, K_INT, K_INT64, K_DECIMAL, K_BINARY, NK };
static const char *KIND_NAMES[NK] = {"double", "string", "object", "array", "binData", "objectId",
                                     "bool", "date", "null", "int", "long", "decimal", "binData"};

/* -- small helpers ------------------------------------------------------------------------------ */

static inline uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline int64_t le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return (int64_t)v;
}
static inline double ledouble(const uint8_t *p) {
    uint64_t v = (uint64_t)le64(p);
    double d;
    memcpy(&d, &v, 8);
    return d;
}

static inline uint64_t fnv(const uint8_t *p, Py_ssize_t n, uint64_t h) {
    for (Py_ssize_t i = 0; i < n; i++) { h ^= p[i]; h *= 1099511628211ULL; }
    return h;
}
#define FNV0 14695981039346656037ULL

static Py_ssize_t code_points(const uint8_t *s, Py_ssize_t n) {
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < n; i++) count += (s[i] & 0xC0) != 0x80;
    return count;
}

/* -- the document check: what this core reads exactly ----------------------------------------- */

/* 1 when d[0:n] is one whole document of the kinds the walk reads (values_document_native) */
static int doc_native(const uint8_t *d, Py_ssize_t n) {
    return n >= 5 && (Py_ssize_t)le32(d) == n && values_document_native(d, n, NATIVE_DEPTH);
}

static int kind_of(uint8_t t) {
    switch (t) {
    case 0x01: return K_FLOAT;
    case 0x02: return K_STR;
    case 0x03: return K_DICT;
    case 0x04: return K_LIST;
    case 0x05: return K_BYTES;
    case 0x07: return K_OID;
    case 0x08: return K_BOOL;
    case 0x09: return K_DATE;
    case 0x0A: return K_NONE;
    case 0x10: return K_INT;
    case 0x13: return K_DECIMAL;
    default: return K_INT64;
    }
}

/* -- value references and growable vectors ---------------------------------------------------- */

typedef struct {
    const uint8_t *v;
    uint32_t len;
    uint32_t doc;   /* the chunk's document holding it: its stamp and size */
    uint8_t type;
    uint8_t kind;
} vref;

/* Make room for one more element in a growable array (`*items`, `n` used, `*cap` allocated, each
 * `size` bytes): doubles it, starting at `first`. 0, or -1 with MemoryError set. */
static int room_for_one(void **items, Py_ssize_t n, Py_ssize_t *cap, size_t size, Py_ssize_t first) {
    if (n < *cap) return 0;
    Py_ssize_t grown = *cap ? *cap * 2 : first;
    void *moved = PyMem_Realloc(*items, size * grown);
    if (moved == NULL) { PyErr_NoMemory(); return -1; }
    *items = moved;
    *cap = grown;
    return 0;
}

typedef struct { vref *a; Py_ssize_t n, cap; } vvec;

static int vvec_push(vvec *v, const vref *r) {
    if (room_for_one((void **)&v->a, v->n, &v->cap, sizeof(vref), 16) < 0) return -1;
    v->a[v->n++] = *r;
    return 0;
}

typedef struct { uint32_t *a; Py_ssize_t n, cap; } u32vec;

static int u32_push(u32vec *v, uint32_t x) {
    if (room_for_one((void **)&v->a, v->n, &v->cap, sizeof(uint32_t), 16) < 0) return -1;
    v->a[v->n++] = x;
    return 0;
}

/* -- canonical keys and stable hashes (values.h) ------------------------------------------------ */

static inline bson_element elem_of(const vref *r) {
    bson_element e;
    e.type = r->type;
    e.key = NULL;
    e.key_len = 0;
    e.value = r->v;
    e.value_len = r->len;
    return e;
}

/* the value's canonical key into the set (made on first use): 1 new, 0 held, 2 no key (always
 * passed to Python), -1 error */
static int keyset_add_value(values_keyset **s, const vref *r) {
    uint8_t local[256], *key = local;
    Py_ssize_t cap = sizeof local;
    if (*s == NULL && (*s = values_keyset_new()) == NULL) return -1;
    if ((Py_ssize_t)r->len + 16 > cap) {
        cap = (Py_ssize_t)r->len + 16;
        key = PyMem_Malloc(cap);
        if (key == NULL) { PyErr_NoMemory(); return -1; }
    }
    bson_element e = elem_of(r);
    Py_ssize_t len = values_canonical_key(&e, key, cap);
    int rc = len < 0 ? 2 : values_keyset_add(*s, key, len);
    if (key != local) PyMem_Free(key);
    return rc;
}

static inline int stable_hash(const vref *r, uint32_t *out) {
    bson_element e = elem_of(r);
    return values_stable_hash(&e, out);
}

/* -- exact comparisons ------------------------------------------------------------------------ */

static inline int64_t int_of(const vref *r) {
    return r->kind == K_INT ? (int64_t)(int32_t)le32(r->v) : le64(r->v);
}

/* -1/0/1 comparing two numbers (int32, int64, finite float) as Python does */
static int cmp_number(const vref *x, const vref *y) {
    if (x->kind == K_FLOAT && y->kind == K_FLOAT) {
        double a = ledouble(x->v), b = ledouble(y->v);
        return a < b ? -1 : a > b ? 1 : 0;
    }
    if (x->kind == K_FLOAT) return -values_compare_int_double(int_of(y), ledouble(x->v));
    if (y->kind == K_FLOAT) return values_compare_int_double(int_of(x), ledouble(y->v));
    int64_t a = int_of(x), b = int_of(y);
    return a < b ? -1 : a > b ? 1 : 0;
}

/* -- the walker ---------------------------------------------------------------------------------- */

#define FLAG_COUNT_VALUES 1
#define FLAG_STRING_COUNTS 2

typedef struct {
    Py_ssize_t parent;
    uint8_t *key;
    uint32_t klen;
    uint64_t khash;
    int depth;
    int flags;
    int exact;           /* the Python sketch is exact: the keys it holds are in `held` */
    int64_t threshold;   /* once not: only hashes under this can enter it (2**32: any) */
    values_keyset *held;   /* NULL until first used */
    /* the chunk */
    int touched;
    int64_t objects;
    int nesting;
    vvec values[NK], elements[NK];
    uint8_t vorder[NK], eorder[NK];
    int nv, ne;
    u32vec lengths;
} wnode;

typedef struct {
    const uint8_t *d;
    uint32_t len;
    int64_t stamp;  /* -1: no ObjectId _id */
} wdoc;

typedef struct {
    int arrays;
    Py_ssize_t node;
    vref *items;
    Py_ssize_t n;
    int level;
    int sizes;
    int nesting;
} witem;

typedef struct {
    PyObject_HEAD
    Py_ssize_t max_paths;
    wnode *nodes;
    Py_ssize_t nnodes, capnodes;
    int32_t *table;        /* child lookup: (parent, key) -> node, open addressing; -1 empty */
    Py_ssize_t tcap;
    /* the chunk */
    PyObject *segments;    /* the batches the chunk's documents live in (kept alive) */
    Py_buffer *views;
    Py_ssize_t nviews;
    wdoc *docs;
    Py_ssize_t ndocs;
    Py_ssize_t *touched;
    Py_ssize_t ntouched, captouched;
    /* Python callbacks and types */
    PyObject *types;       /* tuple of the Python types of the kinds, K_ order */
    PyObject *int64_type, *oid_type, *decode_one, *codec_options, *high_name, *low_name, *oid_name;
    Py_ssize_t high_offset, low_offset, oid_offset;  /* the slots' places in those objects */
    /* results of the walk */
    PyObject *new_nodes, *drops, *growth;
    int64_t too_deep;
    values_keyset *scratch_keys, *scratch_pairs;
    vvec pair_refs;
} Walker;

static uint64_t child_hash(Py_ssize_t parent, const uint8_t *key, uint32_t klen) {
    return fnv(key, klen, FNV0 ^ ((uint64_t)parent * 0x9E3779B97F4A7C15ULL));
}

static int table_grow(Walker *w) {
    Py_ssize_t cap = w->tcap ? w->tcap * 2 : 256;
    int32_t *t = PyMem_Malloc(sizeof(int32_t) * cap);
    if (t == NULL) { PyErr_NoMemory(); return -1; }
    for (Py_ssize_t i = 0; i < cap; i++) t[i] = -1;
    for (Py_ssize_t i = 1; i < w->nnodes; i++) {
        Py_ssize_t j = (Py_ssize_t)(w->nodes[i].khash & (cap - 1));
        while (t[j] >= 0) j = (j + 1) & (cap - 1);
        t[j] = (int32_t)i;
    }
    PyMem_Free(w->table);
    w->table = t;
    w->tcap = cap;
    return 0;
}

static Py_ssize_t find_child(Walker *w, Py_ssize_t parent, const uint8_t *key, uint32_t klen) {
    uint64_t h = child_hash(parent, key, klen);
    Py_ssize_t j = (Py_ssize_t)(h & (w->tcap - 1));
    while (w->table[j] >= 0) {
        wnode *c = &w->nodes[w->table[j]];
        if (c->khash == h && c->parent == parent && c->klen == klen && memcmp(c->key, key, klen) == 0)
            return w->table[j];
        j = (j + 1) & (w->tcap - 1);
    }
    return -1;
}

/* a node in the mirror (no cap check: the callers decide) */
static Py_ssize_t new_node(Walker *w, Py_ssize_t parent, const uint8_t *key, uint32_t klen, int depth) {
    if (room_for_one((void **)&w->nodes, w->nnodes, &w->capnodes, sizeof(wnode), 64) < 0) return -1;
    if ((w->nnodes + 1) * 2 > w->tcap && table_grow(w) < 0) return -1;
    wnode *c = &w->nodes[w->nnodes];
    memset(c, 0, sizeof(*c));
    c->parent = parent;
    c->key = PyMem_Malloc(klen + 1);
    if (c->key == NULL) { PyErr_NoMemory(); return -1; }
    memcpy(c->key, key, klen);
    c->klen = klen;
    c->depth = depth;
    c->nesting = 0;
    c->exact = 1;
    c->threshold = NO_THRESHOLD;
    if (parent >= 0) {
        c->khash = child_hash(parent, key, klen);
        Py_ssize_t j = (Py_ssize_t)(c->khash & (w->tcap - 1));
        while (w->table[j] >= 0) j = (j + 1) & (w->tcap - 1);
        w->table[j] = (int32_t)w->nnodes;
    }
    return w->nnodes++;
}

static int touch(Walker *w, Py_ssize_t index) {
    wnode *n = &w->nodes[index];
    if (n->touched) return 0;
    n->touched = 1;
    if (room_for_one((void **)&w->touched, w->ntouched, &w->captouched, sizeof(Py_ssize_t), 64) < 0) return -1;
    w->touched[w->ntouched++] = index;
    return 0;
}

/* empty the chunk state of every touched node, release the chunk's buffers */
static void reset_chunk(Walker *w) {
    for (Py_ssize_t i = 0; i < w->ntouched; i++) {
        wnode *n = &w->nodes[w->touched[i]];
        for (int k = 0; k < NK; k++) { n->values[k].n = 0; n->elements[k].n = 0; }
        n->nv = n->ne = 0;
        n->lengths.n = 0;
        n->objects = 0;
        n->nesting = 0;
        n->touched = 0;
    }
    w->ntouched = 0;
    for (Py_ssize_t i = 0; i < w->nviews; i++) PyBuffer_Release(&w->views[i]);
    PyMem_Free(w->views);
    w->views = NULL;
    w->nviews = 0;
    PyMem_Free(w->docs);
    w->docs = NULL;
    w->ndocs = 0;
    Py_CLEAR(w->segments);
}

/* _file: append part to the node's bucket of its kind, registering the kind's first filing */
static int file_value(wnode *n, int elements, const vref *r) {
    vvec *b = elements ? &n->elements[r->kind] : &n->values[r->kind];
    if (b->n == 0) {
        if (elements) n->eorder[n->ne++] = r->kind;
        else n->vorder[n->nv++] = r->kind;
    }
    return vvec_push(b, r);
}

/* -- the walk ---------------------------------------------------------------------------------- */

typedef struct { witem *a; Py_ssize_t n, cap; } wstack;

static int push_work(wstack *s, int arrays, Py_ssize_t node, vref *items, Py_ssize_t n, int level, int sizes,
                     int nesting) {
    if (room_for_one((void **)&s->a, s->n, &s->cap, sizeof(witem), 64) < 0) { PyMem_Free(items); return -1; }
    witem *it = &s->a[s->n++];
    it->arrays = arrays;
    it->node = node;
    it->items = items;
    it->n = n;
    it->level = level;
    it->sizes = sizes;
    it->nesting = nesting;
    return 0;
}

/* split_by_type: the kinds of `column` in first-met order; parts[k] gets the values of kind k */
static int split_kinds(const vref *column, Py_ssize_t n, uint8_t *order, Py_ssize_t *counts) {
    int norder = 0;
    for (int k = 0; k < NK; k++) counts[k] = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        int k = column[i].kind;
        if (counts[k]++ == 0) order[norder++] = (uint8_t)k;
    }
    return norder;
}

/* the values of one kind of a column, copied (for the work stack) */
static vref *part_of(const vref *column, Py_ssize_t n, int kind, Py_ssize_t count) {
    vref *part = PyMem_Malloc(sizeof(vref) * (count ? count : 1));
    if (part == NULL) { PyErr_NoMemory(); return NULL; }
    Py_ssize_t j = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (column[i].kind == kind) part[j++] = column[i];
    return part;
}

static inline vref ref_of(const bson_element *e, uint32_t doc) {
    vref r;
    r.v = e->value;
    r.len = (uint32_t)e->value_len;
    r.doc = doc;
    r.type = e->type;
    r.kind = (uint8_t)kind_of(e->type);
    if (r.kind == K_BYTES && e->value[4] != 0) r.kind = K_BINARY;
    return r;
}

/* Python's sum() of floats, in order (3.12+: Neumaier-compensated, as builtin sum) */
typedef struct { double s, c; int any; } fsum;
static inline void fsum_add(fsum *f, double x) {
#if PY_VERSION_HEX >= 0x030C0000
    if (!f->any) { f->s = 0.0 + x; f->c = 0.0; f->any = 1; return; }
    double t = f->s + x;
    if (fabs(f->s) >= fabs(x)) f->c += (f->s - t) + x;
    else f->c += (x - t) + f->s;
    f->s = t;
#else
    f->s = f->any ? f->s + x : 0.0 + x;
    f->any = 1;
#endif
}
static inline double fsum_value(const fsum *f) {
#if PY_VERSION_HEX >= 0x030C0000
    if (f->c && isfinite(f->c)) return f->s + f->c;
#endif
    return f->s;
}

/* _track_growth of the arrays (values of kind list, in order) at `node` */
static int track_growth(Walker *w, Py_ssize_t node, const vref *arrays, Py_ssize_t n) {
    Py_ssize_t kept = 0;
    fsum days = {0}, days2 = {0}, ldays = {0};
    long long lengths = 0, lengths2 = 0, sizes = 0, sizel = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        const wdoc *d = &w->docs[arrays[i].doc];
        if (d->stamp < 0) continue;
        double day = (double)d->stamp / 86400.0;
        long long length = 0;
        const uint8_t *p = arrays[i].v + 4;
        bson_element e;
        while ((p = values_next_element(p, &e)) != NULL) length++;
        kept++;
        fsum_add(&days, day);
        fsum_add(&days2, day * day);
        lengths += length;
        fsum_add(&ldays, (double)length * day);
        lengths2 += length * length;
        sizes += d->len;
        sizel += (long long)d->len * length;
    }
    if (!kept) return 0;
    PyObject *entry = Py_BuildValue("(n(ndd L d L L L))", node - 1, kept, fsum_value(&days), fsum_value(&days2),
                                    lengths, fsum_value(&ldays), lengths2, sizes, sizel);
    if (entry == NULL) return -1;
    int rc = PyList_Append(w->growth, entry);
    Py_DECREF(entry);
    return rc;
}

static int drop(Walker *w, Py_ssize_t parent, Py_ssize_t occurrences) {
    PyObject *entry = Py_BuildValue("(nn)", parent - 1, occurrences);
    if (entry == NULL) return -1;
    int rc = PyList_Append(w->drops, entry);
    Py_DECREF(entry);
    return rc;
}

/* _add_child: a new path under parent, or -1 past the cap (dropped), -2 error */
static Py_ssize_t add_child(Walker *w, Py_ssize_t parent, const uint8_t *key, uint32_t klen, int depth,
                            Py_ssize_t occurrences) {
    if (w->nnodes - 1 >= w->max_paths) {
        if (drop(w, parent, occurrences) < 0) return -2;
        return -1;
    }
    Py_ssize_t child = new_node(w, parent, key, klen, depth);
    if (child < 0) return -2;
    PyObject *name = PyUnicode_DecodeUTF8((const char *)key, klen, "strict");
    if (name == NULL) return -2;
    PyObject *entry = Py_BuildValue("(nNi)", parent - 1, name, depth);
    if (entry == NULL) return -2;
    int rc = PyList_Append(w->new_nodes, entry);
    Py_DECREF(entry);
    return rc < 0 ? -2 : child;
}

/* the column at one key of a group: bucket it into the child, push its objects and arrays */
static int walk_column(Walker *w, wstack *stack, Py_ssize_t node, const uint8_t *key, uint32_t klen,
                       vref *column, Py_ssize_t n, int level, int sizes) {
    Py_ssize_t child = find_child(w, node, key, klen);
    if (child < 0) {
        child = add_child(w, node, key, klen, level + 1, n);
        if (child == -1) return 0;
        if (child < 0) return -1;
    }
    if (touch(w, child) < 0) return -1;
    wnode *c = &w->nodes[child];
    uint8_t order[NK];
    Py_ssize_t counts[NK];
    int norder = split_kinds(column, n, order, counts);
    for (int o = 0; o < norder; o++) {
        int k = order[o];
        for (Py_ssize_t i = 0; i < n; i++)
            if (column[i].kind == k && file_value(c, 0, &column[i]) < 0) return -1;
    }
    if (counts[K_DICT]) {
        vref *inner = part_of(column, n, K_DICT, counts[K_DICT]);
        if (inner == NULL || push_work(stack, 0, child, inner, counts[K_DICT], level + 1, sizes, 0) < 0) return -1;
    }
    if (counts[K_LIST]) {
        vref *arrays = part_of(column, n, K_LIST, counts[K_LIST]);
        if (arrays == NULL) return -1;
        if (sizes && track_growth(w, child, arrays, counts[K_LIST]) < 0) { PyMem_Free(arrays); return -1; }
        if (push_work(stack, 1, child, arrays, counts[K_LIST], level + 1, 0, 1) < 0) return -1;
    }
    return 0;
}

typedef struct { bson_element *a; Py_ssize_t n, cap; } evec;

static int evec_push(evec *v, const bson_element *e) {
    if (room_for_one((void **)&v->a, v->n, &v->cap, sizeof(bson_element), 64) < 0) return -1;
    v->a[v->n++] = *e;
    return 0;
}

static inline int same_key(const bson_element *a, const bson_element *b) {
    return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0;
}

/* _walk_objects */
static int walk_objects(Walker *w, wstack *stack, witem *it) {
    Py_ssize_t node = it->node, n = it->n;
    vref *objects = it->items;
    int level = it->level, rc = -1;
    if (touch(w, node) < 0) return -1;
    w->nodes[node].objects += n;
    if (level >= MAX_WALK_DEPTH) { w->too_deep += n; return 0; }
    if (n == 0) return 0;
    evec els = {0};
    Py_ssize_t *start = PyMem_Malloc(sizeof(Py_ssize_t) * (n + 1));
    Py_ssize_t *rows = NULL, *members = NULL, *group_of = NULL;
    vref *column = PyMem_Malloc(sizeof(vref) * n);
    if (start == NULL || column == NULL) { PyErr_NoMemory(); goto out; }
    for (Py_ssize_t o = 0; o < n; o++) {
        start[o] = els.n;
        const uint8_t *p = objects[o].v + 4;
        bson_element e;
        while ((p = values_next_element(p, &e)) != NULL)
            if (evec_push(&els, &e) < 0) goto out;
    }
    start[n] = els.n;
    Py_ssize_t k0 = start[1] - start[0];
    /* the fast path: every object holds the first's keys (in any order) */
    int fast = 1;
    for (Py_ssize_t o = 1; o < n && fast; o++)
        if (start[o + 1] - start[o] != k0) fast = 0;
    if (fast && k0) {
        rows = PyMem_Malloc(sizeof(Py_ssize_t) * n * k0);
        if (rows == NULL) { PyErr_NoMemory(); goto out; }
        for (Py_ssize_t o = 0; o < n && fast; o++) {
            for (Py_ssize_t j = 0; j < k0; j++) {
                const bson_element *want = &els.a[j];
                Py_ssize_t at = start[o] + j;
                if (!same_key(&els.a[at], want)) {
                    at = -1;
                    for (Py_ssize_t x = start[o]; x < start[o + 1]; x++)
                        if (same_key(&els.a[x], want)) { at = x; break; }
                    if (at < 0) { fast = 0; break; }
                }
                rows[o * k0 + j] = at;
            }
        }
    }
    if (fast) {
        for (Py_ssize_t j = 0; j < k0; j++) {
            for (Py_ssize_t o = 0; o < n; o++) column[o] = ref_of(&els.a[rows[o * k0 + j]], objects[o].doc);
            if (walk_column(w, stack, node, (const uint8_t *)els.a[j].key, (uint32_t)els.a[j].key_len, column, n, level, it->sizes) < 0) goto out;
        }
        rc = 0;
        goto out;
    }
    /* layouts (exact key sequences) in first-seen order */
    group_of = PyMem_Malloc(sizeof(Py_ssize_t) * n);
    members = PyMem_Malloc(sizeof(Py_ssize_t) * n);
    Py_ssize_t tcap = 16;
    while (tcap < 2 * n) tcap *= 2;
    Py_ssize_t *table = PyMem_Malloc(sizeof(Py_ssize_t) * tcap);
    uint64_t *layout_hash = PyMem_Malloc(sizeof(uint64_t) * n);
    Py_ssize_t *firsts = PyMem_Malloc(sizeof(Py_ssize_t) * n), *sizes = PyMem_Calloc(n, sizeof(Py_ssize_t));
    if (!group_of || !members || !table || !layout_hash || !firsts || !sizes) {
        PyMem_Free(table); PyMem_Free(layout_hash); PyMem_Free(firsts); PyMem_Free(sizes);
        PyErr_NoMemory();
        goto out;
    }
    for (Py_ssize_t i = 0; i < tcap; i++) table[i] = -1;
    Py_ssize_t ngroups = 0;
    for (Py_ssize_t o = 0; o < n; o++) {
        uint64_t h = FNV0 ^ (uint64_t)(start[o + 1] - start[o]);
        for (Py_ssize_t x = start[o]; x < start[o + 1]; x++) {
            h = fnv((const uint8_t *)els.a[x].key, els.a[x].key_len, h);
            h = fnv((const uint8_t *)"\0", 1, h);
        }
        Py_ssize_t j = (Py_ssize_t)(h & (tcap - 1)), g = -1;
        while (table[j] >= 0) {
            Py_ssize_t cand = table[j], f = firsts[cand];
            if (layout_hash[cand] == h && start[f + 1] - start[f] == start[o + 1] - start[o]) {
                Py_ssize_t x = 0, len = start[o + 1] - start[o];
                while (x < len && same_key(&els.a[start[f] + x], &els.a[start[o] + x])) x++;
                if (x == len) { g = cand; break; }
            }
            j = (j + 1) & (tcap - 1);
        }
        if (g < 0) {
            g = ngroups++;
            table[j] = g;
            layout_hash[g] = h;
            firsts[g] = o;
        }
        group_of[o] = g;
        sizes[g]++;
    }
    PyMem_Free(table);
    PyMem_Free(layout_hash);
    /* members of each group, in object order */
    Py_ssize_t *offset = PyMem_Malloc(sizeof(Py_ssize_t) * (ngroups + 1));
    if (offset == NULL) { PyMem_Free(firsts); PyMem_Free(sizes); PyErr_NoMemory(); goto out; }
    offset[0] = 0;
    for (Py_ssize_t g = 0; g < ngroups; g++) offset[g + 1] = offset[g] + sizes[g];
    for (Py_ssize_t g = 0; g < ngroups; g++) sizes[g] = 0;
    for (Py_ssize_t o = 0; o < n; o++) members[offset[group_of[o]] + sizes[group_of[o]]++] = o;
    rc = 0;
    for (Py_ssize_t g = 0; g < ngroups && rc == 0; g++) {
        Py_ssize_t f = firsts[g], len = start[f + 1] - start[f], m = offset[g + 1] - offset[g];
        for (Py_ssize_t x = 0; x < len && rc == 0; x++) {
            for (Py_ssize_t i = 0; i < m; i++) {
                Py_ssize_t o = members[offset[g] + i];
                column[i] = ref_of(&els.a[start[o] + x], objects[o].doc);
            }
            const bson_element *k = &els.a[start[f] + x];
            rc = walk_column(w, stack, node, (const uint8_t *)k->key, (uint32_t)k->key_len, column, m, level, it->sizes);
        }
    }
    PyMem_Free(offset);
    PyMem_Free(firsts);
    PyMem_Free(sizes);
out:
    PyMem_Free(els.a);
    PyMem_Free(start);
    PyMem_Free(rows);
    PyMem_Free(members);
    PyMem_Free(group_of);
    PyMem_Free(column);
    return rc;
}

/* _walk_arrays */
static int walk_arrays(Walker *w, wstack *stack, witem *it) {
    Py_ssize_t node = it->node, n = it->n;
    int level = it->level, nesting = it->nesting;
    if (touch(w, node) < 0) return -1;
    wnode *c = &w->nodes[node];
    vvec elements = {0};
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t length = 0;
        const uint8_t *p = it->items[i].v + 4;
        bson_element e;
        while ((p = values_next_element(p, &e)) != NULL) {
            vref r = ref_of(&e, it->items[i].doc);
            if (vvec_push(&elements, &r) < 0) goto fail;
            length++;
        }
        if (u32_push(&c->lengths, length) < 0) goto fail;
    }
    if (nesting > c->nesting) c->nesting = nesting;
    uint8_t order[NK];
    Py_ssize_t counts[NK];
    int norder = split_kinds(elements.a, elements.n, order, counts);
    for (int o = 0; o < norder; o++) {
        int k = order[o];
        for (Py_ssize_t i = 0; i < elements.n; i++)
            if (elements.a[i].kind == k && file_value(c, 1, &elements.a[i]) < 0) goto fail;
    }
    if (level >= MAX_WALK_DEPTH) {
        w->too_deep += n;
        PyMem_Free(elements.a);
        return 0;
    }
    if (counts[K_DICT]) {
        vref *inner = part_of(elements.a, elements.n, K_DICT, counts[K_DICT]);
        if (inner == NULL || push_work(stack, 0, node, inner, counts[K_DICT], level, 0, 0) < 0) goto fail;
    }
    if (counts[K_LIST]) {
        vref *lists = part_of(elements.a, elements.n, K_LIST, counts[K_LIST]);
        if (lists == NULL || push_work(stack, 1, node, lists, counts[K_LIST], level + 1, 0, nesting + 1) < 0) goto fail;
    }
    PyMem_Free(elements.a);
    return 0;
fail:
    PyMem_Free(elements.a);
    return -1;
}

/* -- Python-facing helpers ---------------------------------------------------------------------- */

static int get_buffer_range(PyObject *seq, Py_ssize_t i, Py_ssize_t *out) {
    PyObject *item = PySequence_GetItem(seq, i);
    if (item == NULL) return -1;
    Py_ssize_t v = PyLong_AsSsize_t(item);
    Py_DECREF(item);
    if (v == -1 && PyErr_Occurred()) return -1;
    *out = v;
    return 0;
}

static PyObject *Walker_check(Walker *w, PyObject *args) {
    Py_buffer view;
    PyObject *starts, *ends;
    if (!PyArg_ParseTuple(args, "y*OO", &view, &starts, &ends)) return NULL;
    PyObject *refused = PyList_New(0);
    Py_ssize_t n = PySequence_Size(starts);
    if (refused == NULL || n < 0 || PySequence_Size(ends) != n) goto fail;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t s, e;
        if (get_buffer_range(starts, i, &s) < 0 || get_buffer_range(ends, i, &e) < 0) goto fail;
        int ok = s >= 0 && e <= view.len && s <= e && doc_native((const uint8_t *)view.buf + s, e - s);
        if (!ok) {
            PyObject *index = PyLong_FromSsize_t(i);
            if (index == NULL || PyList_Append(refused, index) < 0) { Py_XDECREF(index); goto fail; }
            Py_DECREF(index);
        }
    }
    PyBuffer_Release(&view);
    return refused;
fail:
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "starts and ends must be sequences of one length");
    Py_XDECREF(refused);
    PyBuffer_Release(&view);
    return NULL;
}

/* walk(segments): segments = [(data, starts, ends)], every document checked by `check` */
static PyObject *Walker_walk(Walker *w, PyObject *args) {
    PyObject *segments;
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &segments)) return NULL;
    reset_chunk(w);
    Py_CLEAR(w->new_nodes); Py_CLEAR(w->drops); Py_CLEAR(w->growth);
    w->new_nodes = PyList_New(0);
    w->drops = PyList_New(0);
    w->growth = PyList_New(0);
    if (!w->new_nodes || !w->drops || !w->growth) return NULL;
    w->too_deep = 0;
    Py_ssize_t nseg = PyList_GET_SIZE(segments), total = 0;
    w->views = PyMem_Calloc(nseg ? nseg : 1, sizeof(Py_buffer));
    if (w->views == NULL) return PyErr_NoMemory();
    Py_INCREF(segments);
    w->segments = segments;
    for (Py_ssize_t s = 0; s < nseg; s++) {
        PyObject *seg = PyList_GET_ITEM(segments, s);
        if (!PyTuple_Check(seg) || PyTuple_GET_SIZE(seg) != 3) {
            PyErr_SetString(PyExc_TypeError, "a segment is (data, starts, ends)");
            return NULL;
        }
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(seg, 0), &w->views[s], PyBUF_SIMPLE) < 0) return NULL;
        w->nviews++;
        Py_ssize_t m = PySequence_Size(PyTuple_GET_ITEM(seg, 1));
        if (m < 0) return NULL;
        total += m;
    }
    w->docs = PyMem_Malloc(sizeof(wdoc) * (total ? total : 1));
    vref *roots = PyMem_Malloc(sizeof(vref) * (total ? total : 1));
    if (w->docs == NULL || roots == NULL) { PyMem_Free(roots); return PyErr_NoMemory(); }
    Py_ssize_t d = 0;
    for (Py_ssize_t s = 0; s < nseg; s++) {
        PyObject *seg = PyList_GET_ITEM(segments, s);
        PyObject *starts = PyTuple_GET_ITEM(seg, 1), *ends = PyTuple_GET_ITEM(seg, 2);
        Py_ssize_t m = PySequence_Size(starts);
        for (Py_ssize_t i = 0; i < m; i++) {
            Py_ssize_t a, b;
            if (get_buffer_range(starts, i, &a) < 0 || get_buffer_range(ends, i, &b) < 0) { PyMem_Free(roots); return NULL; }
            /* re-checked: a document the walk reads must be one `check` accepts */
            if (a < 0 || b > w->views[s].len || a > b ||
                !doc_native((const uint8_t *)w->views[s].buf + a, b - a)) {
                PyMem_Free(roots);
                PyErr_SetString(PyExc_ValueError, "walk: a document the native core does not read");
                return NULL;
            }
            wdoc *doc = &w->docs[d];
            doc->d = (const uint8_t *)w->views[s].buf + a;
            doc->len = (uint32_t)(b - a);
            doc->stamp = -1;
            const uint8_t *p = doc->d + 4;
            bson_element e;
            while ((p = values_next_element(p, &e)) != NULL) {
                if (e.key_len == 3 && memcmp(e.key, "_id", 3) == 0) {
                    if (e.type == 0x07)
                        doc->stamp = ((int64_t)e.value[0] << 24) | ((int64_t)e.value[1] << 16) | ((int64_t)e.value[2] << 8) | e.value[3];
                    break;
                }
            }
            roots[d].v = doc->d;
            roots[d].len = doc->len;
            roots[d].doc = (uint32_t)d;
            roots[d].type = 0x03;
            roots[d].kind = K_DICT;
            d++;
        }
    }
    w->ndocs = total;
    wstack stack = {0};
    if (push_work(&stack, 0, 0, roots, total, 0, 1, 0) < 0) return NULL;
    int rc = 0;
    while (stack.n && rc == 0) {
        witem it = stack.a[--stack.n];
        rc = it.arrays ? walk_arrays(w, &stack, &it) : walk_objects(w, &stack, &it);
        PyMem_Free(it.items);
    }
    while (stack.n) PyMem_Free(stack.a[--stack.n].items);
    PyMem_Free(stack.a);
    if (rc < 0) return NULL;
    return Py_BuildValue("(OOOL)", w->new_nodes, w->drops, w->growth, (long long)w->too_deep);
}

/* -- materializing values --------------------------------------------------------------------- */

static void civil_from_days(int64_t z, int *y, int *m, int *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

static PyObject *decode_container(Walker *w, const vref *r) {
    /* a one-element document {"": value}, decoded by legacy_types.decode_one */
    Py_ssize_t size = 4 + 1 + 1 + r->len + 1;
    PyObject *raw = PyBytes_FromStringAndSize(NULL, size);
    if (raw == NULL) return NULL;
    uint8_t *b = (uint8_t *)PyBytes_AS_STRING(raw);
    b[0] = size & 0xFF; b[1] = (size >> 8) & 0xFF; b[2] = (size >> 16) & 0xFF; b[3] = (size >> 24) & 0xFF;
    b[4] = r->type;
    b[5] = 0;
    memcpy(b + 6, r->v, r->len);
    b[size - 1] = 0;
    PyObject *doc = PyObject_CallFunctionObjArgs(w->decode_one, raw, w->codec_options, NULL);
    Py_DECREF(raw);
    if (doc == NULL) return NULL;
    PyObject *value = PyMapping_GetItemString(doc, "");
    Py_DECREF(doc);
    return value;
}

static PyObject *materialize(Walker *w, const vref *r) {
    switch (r->kind) {
    case K_FLOAT: return PyFloat_FromDouble(ledouble(r->v));
    case K_STR: return PyUnicode_DecodeUTF8((const char *)r->v + 4, le32(r->v) - 1, "strict");
    case K_INT: return PyLong_FromLong((int32_t)le32(r->v));
    case K_INT64: {
        PyObject *n = PyLong_FromLongLong(le64(r->v));
        if (n == NULL) return NULL;
        PyObject *v = PyObject_CallOneArg(w->int64_type, n);
        Py_DECREF(n);
        return v;
    }
    case K_BOOL: return PyBool_FromLong(r->v[0]);
    case K_NONE: Py_RETURN_NONE;
    case K_BYTES: return PyBytes_FromStringAndSize((const char *)r->v + 5, le32(r->v));
    case K_BINARY:
        return PyObject_CallFunction(PyTuple_GET_ITEM(w->types, K_BINARY), "y#i", (const char *)r->v + 5,
                                     (Py_ssize_t)le32(r->v), (int)r->v[4]);
    case K_DECIMAL: {
        /* Decimal128.from_bid(bid) without its Python steps: a new instance, its two slots set */
        PyTypeObject *type = (PyTypeObject *)PyTuple_GET_ITEM(w->types, K_DECIMAL);
        PyObject *high = PyLong_FromUnsignedLongLong((uint64_t)le64(r->v + 8));
        PyObject *low = high ? PyLong_FromUnsignedLongLong((uint64_t)le64(r->v)) : NULL;
        PyObject *v = low ? type->tp_alloc(type, 0) : NULL;
        if (v == NULL) { Py_XDECREF(high); Py_XDECREF(low); return NULL; }
        /* the slots, written as their member descriptors write them (the new object holds NULLs) */
        *(PyObject **)((char *)v + w->high_offset) = high;
        *(PyObject **)((char *)v + w->low_offset) = low;
        return v;
    }
    case K_OID: {
        /* ObjectId(bytes) without its Python __init__: a new instance, its one slot set */
        PyTypeObject *type = (PyTypeObject *)w->oid_type;
        PyObject *b = PyBytes_FromStringAndSize((const char *)r->v, 12);
        if (b == NULL) return NULL;
        PyObject *v = type->tp_alloc(type, 0);
        if (v == NULL) { Py_DECREF(b); return NULL; }
        *(PyObject **)((char *)v + w->oid_offset) = b;
        return v;
    }
    case K_DATE: {
        int64_t ms = le64(r->v);
        int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
        int64_t rest = ms - days * 86400000;
        int y, m, d;
        civil_from_days(days, &y, &m, &d);
        return PyDateTime_FromDateAndTime(y, m, d, (int)(rest / 3600000), (int)(rest / 60000 % 60),
                                          (int)(rest / 1000 % 60), (int)(rest % 1000) * 1000);
    }
    default: return decode_container(w, r);
    }
}

/* -- the flush: per touched node, what Python applies ---------------------------------------- */

/* the (high, low) bit halves infer.py reads of a Decimal128 (DECIMAL_BITS) */
static PyObject *decimal_pair(const vref *r) {
    return Py_BuildValue("(KK)", (unsigned long long)le64(r->v + 8), (unsigned long long)le64(r->v));
}

/* (counts: {value: n}, n, total, min, max) of stats.Histogram.add_many, or None when empty */
static PyObject *histogram(const u32vec *values) {
    values_histogram h;
    values_histogram_init(&h);
    PyObject *result = NULL;
    for (Py_ssize_t i = 0; i < values->n; i++)
        if (values_histogram_add(&h, values->a[i]) < 0) goto done;
    result = values_histogram_to_python(&h);
done:
    values_histogram_free(&h);
    return result;
}

static int add_count(PyObject *dict, const char *name, Py_ssize_t n) {
    if (!n) return 0;
    PyObject *held = PyDict_GetItemString(dict, name);
    Py_ssize_t now = held ? PyLong_AsSsize_t(held) + n : n;
    PyObject *c = PyLong_FromSsize_t(now);
    if (c == NULL) return -1;
    int rc = PyDict_SetItemString(dict, name, c);
    Py_DECREF(c);
    return rc;
}

/* the scalar kinds of a node in _scalar_stats' order: value kinds, then element kinds not among them */
static int scalar_order(const wnode *n, uint8_t *order) {
    int m = 0;
    for (int i = 0; i < n->nv; i++) order[m++] = n->vorder[i];
    for (int i = 0; i < n->ne; i++) {
        int held = 0;
        for (int j = 0; j < n->nv; j++) if (n->vorder[j] == n->eorder[i]) held = 1;
        if (!held) order[m++] = n->eorder[i];
    }
    return m;
}

/* Append the Python objects of a bucket's values to `list`: 0, or -1 with an exception set. */
static int append_values(Walker *w, PyObject *list, const vvec *bucket) {
    for (Py_ssize_t j = 0; j < bucket->n; j++) {
        PyObject *v = materialize(w, &bucket->a[j]);
        if (v == NULL) return -1;
        int failed = PyList_Append(list, v);
        Py_DECREF(v);
        if (failed < 0) return -1;
    }
    return 0;
}

static PyObject *flush_node(Walker *w, Py_ssize_t index) {
    wnode *n = &w->nodes[index];
    PyObject *types = NULL, *times = NULL, *etypes = NULL, *lengths = NULL, *strings = NULL;
    PyObject *ranges = NULL, *date_lo = NULL, *date_hi = NULL, *oid_lo = NULL, *oid_hi = NULL;
    PyObject *fresh = NULL, *counted = NULL, *strs = NULL, *result = NULL;
    u32vec lens = {0};
    Py_ssize_t count = 0, fractional = 0, seen = 0;
    types = PyDict_New();
    times = PyDict_New();
    etypes = PyDict_New();
    fresh = PyList_New(0);
    if (!types || !times || !etypes || !fresh) goto fail;
    int64_t first[NK], last[NK];
    for (int k = 0; k < NK; k++) { first[k] = -1; last[k] = -1; }
    for (int i = 0; i < n->nv; i++) {
        int k = n->vorder[i];
        vvec *b = &n->values[k];
        count += b->n;
        if (add_count(types, KIND_NAMES[k], b->n) < 0) goto fail;
        int t = k == K_BINARY ? K_BYTES : k;  /* bytes and Binary: one type name, one span */
        for (Py_ssize_t j = 0; j < b->n; j++) {
            int64_t stamp = w->docs[b->a[j].doc].stamp;
            if (stamp >= 0) {
                if (first[t] < 0 || stamp < first[t]) first[t] = stamp;
                if (stamp > last[t]) last[t] = stamp;
            }
            if (k == K_FLOAT) {
                double d = ledouble(b->a[j].v);
                if (!(isfinite(d) && d == floor(d))) fractional++;
            }
        }
    }
    for (int k = 0; k < NK; k++) {
        if (first[k] < 0) continue;
        PyObject *span = Py_BuildValue("(LL)", (long long)first[k], (long long)last[k]);
        if (span == NULL || PyDict_SetItemString(times, KIND_NAMES[k], span) < 0) { Py_XDECREF(span); goto fail; }
        Py_DECREF(span);
    }
    for (int i = 0; i < n->ne; i++) {
        int k = n->eorder[i];
        if (add_count(etypes, KIND_NAMES[k], n->elements[k].n) < 0) goto fail;
    }
    lengths = histogram(&n->lengths);
    if (lengths == NULL) goto fail;
    /* strings: lengths in code points of str values and elements */
    for (int e = 0; e < 2; e++) {
        vvec *b = e ? &n->elements[K_STR] : &n->values[K_STR];
        for (Py_ssize_t j = 0; j < b->n; j++)
            if (u32_push(&lens, (uint32_t)code_points(b->a[j].v + 4, le32(b->a[j].v) - 1)) < 0) goto fail;
    }
    strings = histogram(&lens);
    if (strings == NULL) goto fail;
    /* ranges, distinct: _scalar_stats' order */
    uint8_t order[2 * NK];
    int norder = scalar_order(n, order);
    const vref *dlo = NULL, *dhi = NULL, *olo = NULL, *ohi = NULL;
    int exact = n->exact;
    /* numbers of two classes (int/long, double, bool), or a double zero: equal values may hash apart */
    int numbers_apart = 0;
    {
        int classes = 0;
        for (int e = 0; e < 2; e++) {
            vvec *b = e ? n->elements : n->values;
            classes |= (b[K_INT].n || b[K_INT64].n ? 1 : 0) | (b[K_FLOAT].n ? 2 : 0) | (b[K_BOOL].n ? 4 : 0);
        }
        numbers_apart = classes != 0 && (classes & (classes - 1)) != 0;
    }
    ranges = PyList_New(0);
    if (ranges == NULL) goto fail;
    if (!exact && w->scratch_keys) values_keyset_clear(w->scratch_keys);
    for (int o = 0; o < norder; o++) {
        int k = order[o];
        if (k == K_DICT || k == K_LIST) continue;
        const vref *nlo = NULL, *nhi = NULL;          /* this kind's number range */
        PyObject *pairs = NULL;                       /* decimals: distinct (high, low), first met */
        Py_ssize_t npairs = 0;
        int one_high = 1;
        uint64_t high = 0;
        const vref *plo = NULL, *phi = NULL;
        if (k == K_DECIMAL) {
            pairs = PyList_New(0);
            if (pairs == NULL) goto fail;
            if (w->scratch_pairs == NULL && (w->scratch_pairs = values_keyset_new()) == NULL) { Py_DECREF(pairs); goto fail; }
            values_keyset_clear(w->scratch_pairs);
            w->pair_refs.n = 0;
        }
        for (int e = 0; e < 2; e++) {
            vvec *b = e ? &n->elements[k] : &n->values[k];
            for (Py_ssize_t j = 0; j < b->n; j++) {
                const vref *r = &b->a[j];
                seen++;
                if (k == K_INT || k == K_INT64 || k == K_FLOAT) {
                    int usable = 1;
                    if (k == K_FLOAT) { double d = ledouble(r->v); usable = isfinite(d); }
                    if (usable) {
                        if (nlo == NULL || cmp_number(r, nlo) < 0) nlo = r;
                        if (nhi == NULL || cmp_number(r, nhi) > 0) nhi = r;
                    }
                } else if (k == K_DATE) {
                    int64_t ms = le64(r->v);
                    if (dlo == NULL || ms < le64(dlo->v)) dlo = r;
                    if (dhi == NULL || ms > le64(dhi->v)) dhi = r;
                } else if (k == K_OID) {
                    if (olo == NULL || memcmp(r->v, olo->v, 12) < 0) olo = r;
                    if (ohi == NULL || memcmp(r->v, ohi->v, 12) > 0) ohi = r;
                } else if (k == K_DECIMAL) {
                    int added = values_keyset_add(w->scratch_pairs, r->v, 16);
                    if (added < 0) { Py_DECREF(pairs); goto fail; }
                    if (added) {
                        uint64_t h = (uint64_t)le64(r->v + 8), low = (uint64_t)le64(r->v);
                        if (plo == NULL) high = h;
                        else if (h != high) one_high = 0;
                        if (plo == NULL || low < (uint64_t)le64(plo->v)) plo = r;
                        if (phi == NULL || low > (uint64_t)le64(phi->v)) phi = r;
                        if (vvec_push(&w->pair_refs, r) < 0) { Py_DECREF(pairs); goto fail; }
                        npairs++;
                    }
                }
                /* the distinct sketch */
                int pass;
                if (exact) {
                    pass = keyset_add_value(&n->held, r);
                } else if ((numbers_apart && (k == K_INT || k == K_INT64 || k == K_FLOAT || k == K_BOOL)) ||
                           (k == K_FLOAT && ledouble(r->v) == 0.0)) {
                    /* equal numbers that hash apart (1 and 1.0, 0.0 and -0.0): the first met stands
                     * for all, as set() keeps it, before the hash decides */
                    pass = keyset_add_value(&w->scratch_keys, r);
                    if (pass > 0) {
                        uint32_t h;
                        if (stable_hash(r, &h) == 0 && (int64_t)h >= n->threshold) pass = 0;
                    }
                } else {
                    /* equal values share their hash here: one past the threshold is out */
                    uint32_t h;
                    if (stable_hash(r, &h) == 0 && (int64_t)h >= n->threshold) pass = 0;
                    else pass = keyset_add_value(&w->scratch_keys, r);
                }
                if (pass < 0) { Py_XDECREF(pairs); goto fail; }
                if (pass) {
                    PyObject *v = k == K_DECIMAL ? decimal_pair(r) : materialize(w, r);
                    if (v == NULL || PyList_Append(fresh, v) < 0) { Py_XDECREF(v); Py_XDECREF(pairs); goto fail; }
                    Py_DECREF(v);
                }
            }
        }
        PyObject *range = NULL;
        if (nlo != NULL) {
            PyObject *lo = materialize(w, nlo), *hi = lo ? materialize(w, nhi) : NULL;
            if (hi != NULL) range = Py_BuildValue("(iNN)", 0, lo, hi);
            else Py_XDECREF(lo);
            if (range == NULL) goto fail;
        } else if (pairs != NULL) {
            /* infer.decimal_ends: one high half, neither special nor past 64 bits: the two ends */
            int special = ((high >> 58) & 0x1E) == 0x1E;
            int large = ((high >> 61) & 3) == 3 || (high & ((1ULL << 49) - 1));
            if (one_high && !special && !large) {
                Py_DECREF(pairs);
                PyObject *lo = decimal_pair(plo), *hi = lo ? decimal_pair(phi) : NULL;
                if (hi != NULL) range = Py_BuildValue("(iNN)", 1, lo, hi);
                else Py_XDECREF(lo);
            } else {
                for (Py_ssize_t j = 0; j < npairs; j++) {
                    PyObject *pair = decimal_pair(&w->pair_refs.a[j]);
                    if (pair == NULL || PyList_Append(pairs, pair) < 0) { Py_XDECREF(pair); Py_DECREF(pairs); goto fail; }
                    Py_DECREF(pair);
                }
                range = Py_BuildValue("(iNO)", 2, pairs, Py_None);
            }
            if (range == NULL) goto fail;
        }
        if (range != NULL) {
            int rc = PyList_Append(ranges, range);
            Py_DECREF(range);
            if (rc < 0) goto fail;
        }
    }
#define MAKE(target, ref) if (ref) { target = materialize(w, ref); if (target == NULL) goto fail; } \
                          else { target = Py_None; Py_INCREF(Py_None); }
    MAKE(date_lo, dlo) MAKE(date_hi, dhi) MAKE(oid_lo, olo) MAKE(oid_hi, ohi)
#undef MAKE
    if (n->flags & FLAG_COUNT_VALUES) {
        if (n->values[K_DICT].n || n->values[K_LIST].n || n->values[K_DECIMAL].n) {  /* unhashable */
            counted = Py_False;
            Py_INCREF(counted);
        } else {
            counted = PyList_New(0);
            if (counted == NULL) goto fail;
            for (int i = 0; i < n->nv; i++)
                if (append_values(w, counted, &n->values[n->vorder[i]]) < 0) goto fail;
        }
    } else {
        counted = Py_None;
        Py_INCREF(counted);
    }
    if (n->flags & FLAG_STRING_COUNTS) {
        strs = PyList_New(0);
        if (strs == NULL) goto fail;
        if (append_values(w, strs, &n->values[K_STR]) < 0 || append_values(w, strs, &n->elements[K_STR]) < 0)
            goto fail;
    } else {
        strs = Py_None;
        Py_INCREF(strs);
    }
    result = Py_BuildValue("(nLnOOninOOOOOOOOOnOO)", index - 1, (long long)n->objects, count, types, times,
                           fractional, n->nesting, n->lengths.n, lengths,
                           etypes, strings, ranges, date_lo, date_hi, oid_lo, oid_hi, fresh, seen,
                           counted, strs);
fail:
    PyMem_Free(lens.a);
    Py_XDECREF(types); Py_XDECREF(times); Py_XDECREF(etypes); Py_XDECREF(lengths); Py_XDECREF(strings);
    Py_XDECREF(ranges); Py_XDECREF(date_lo); Py_XDECREF(date_hi);
    Py_XDECREF(oid_lo); Py_XDECREF(oid_hi); Py_XDECREF(fresh); Py_XDECREF(counted); Py_XDECREF(strs);
    return result;
}

static int index_cmp(const void *a, const void *b) {
    Py_ssize_t x = *(const Py_ssize_t *)a, y = *(const Py_ssize_t *)b;
    return x < y ? -1 : x > y;
}

/* flush() -> ([per touched node], created_days {day: n}, size histogram tuple) */
static PyObject *Walker_flush(Walker *w, PyObject *unused) {
    PyObject *nodes = PyList_New(0), *days = PyDict_New();
    u32vec sizes = {0};
    if (nodes == NULL || days == NULL) goto fail;
    /* in the order of self.nodes (touched order is the walk's) */
    qsort(w->touched, w->ntouched, sizeof(Py_ssize_t), index_cmp);
    for (Py_ssize_t i = 0; i < w->ntouched; i++) {
        PyObject *r = flush_node(w, w->touched[i]);
        if (r == NULL || PyList_Append(nodes, r) < 0) { Py_XDECREF(r); goto fail; }
        Py_DECREF(r);
    }
    for (Py_ssize_t d = 0; d < w->ndocs; d++) {
        if (u32_push(&sizes, w->docs[d].len) < 0) goto fail;
        if (w->docs[d].stamp < 0) continue;
        PyObject *day = PyLong_FromLongLong(w->docs[d].stamp / 86400);
        if (day == NULL) goto fail;
        PyObject *held = PyDict_GetItemWithError(days, day);
        PyObject *c = PyLong_FromLongLong(held ? PyLong_AsLongLong(held) + 1 : 1);
        if (c == NULL || PyDict_SetItem(days, day, c) < 0) { Py_DECREF(day); Py_XDECREF(c); goto fail; }
        Py_DECREF(day);
        Py_DECREF(c);
    }
    PyObject *hist = histogram(&sizes);
    PyMem_Free(sizes.a);
    if (hist == NULL) { Py_DECREF(nodes); Py_DECREF(days); return NULL; }
    return Py_BuildValue("(NNN)", nodes, days, hist);
fail:
    PyMem_Free(sizes.a);
    Py_XDECREF(nodes);
    Py_XDECREF(days);
    return NULL;
}

/* -- mirror upkeep -------------------------------------------------------------------------------- */

static PyObject *Walker_register(Walker *w, PyObject *args) {
    Py_ssize_t parent;
    const char *key;
    Py_ssize_t klen;
    int depth;
    if (!PyArg_ParseTuple(args, "ny#i", &parent, &key, &klen, &depth)) return NULL;
    if (parent + 1 < 0 || parent + 1 >= w->nnodes) { PyErr_SetString(PyExc_IndexError, "no such parent"); return NULL; }
    if (find_child(w, parent + 1, (const uint8_t *)key, (uint32_t)klen) >= 0) {
        PyErr_SetString(PyExc_ValueError, "the path is registered already");
        return NULL;
    }
    Py_ssize_t index = new_node(w, parent + 1, (const uint8_t *)key, (uint32_t)klen, depth);
    if (index < 0) return NULL;
    return PyLong_FromSsize_t(index - 1);
}

static wnode *node_arg(Walker *w, Py_ssize_t index) {
    if (index + 1 < 0 || index + 1 >= w->nnodes) { PyErr_SetString(PyExc_IndexError, "no such node"); return NULL; }
    return &w->nodes[index + 1];
}

static PyObject *Walker_set_flags(Walker *w, PyObject *args) {
    Py_ssize_t index;
    int count_values, string_counts;
    if (!PyArg_ParseTuple(args, "npp", &index, &count_values, &string_counts)) return NULL;
    wnode *n = node_arg(w, index);
    if (n == NULL) return NULL;
    n->flags = (count_values ? FLAG_COUNT_VALUES : 0) | (string_counts ? FLAG_STRING_COUNTS : 0);
    Py_RETURN_NONE;
}

/* set_threshold(index, t): the sketch is past exact and keeps hashes under t (2**32: any) */
static PyObject *Walker_set_threshold(Walker *w, PyObject *args) {
    Py_ssize_t index;
    long long threshold;
    if (!PyArg_ParseTuple(args, "nL", &index, &threshold)) return NULL;
    wnode *n = node_arg(w, index);
    if (n == NULL) return NULL;
    if (threshold < 0) threshold = 0;
    if (threshold > NO_THRESHOLD) threshold = NO_THRESHOLD;
    n->exact = 0;
    n->threshold = threshold;
    values_keyset_free(n->held);
    n->held = NULL;
    Py_RETURN_NONE;
}

/* where a __slots__ attribute of `type` lives in its instances (an object-typed member) */
static int slot_offset(PyObject *type, PyObject *name, Py_ssize_t *offset) {
    PyObject *descr = PyObject_GetAttr(type, name);
    if (descr == NULL) return -1;
    int ok = Py_IS_TYPE(descr, &PyMemberDescr_Type) &&
             ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX &&
             ((PyMemberDescrObject *)descr)->d_member->offset > 0;
    if (ok) *offset = ((PyMemberDescrObject *)descr)->d_member->offset;
    Py_DECREF(descr);
    if (!ok) PyErr_Format(PyExc_TypeError, "%R is not a slot of %R", name, type);
    return ok ? 0 : -1;
}

static PyObject *Walker_setup(Walker *w, PyObject *args) {
    PyObject *types, *int64_type, *oid_type, *decode_one, *codec_options;
    if (!PyArg_ParseTuple(args, "O!OOOO", &PyTuple_Type, &types, &int64_type, &oid_type, &decode_one, &codec_options))
        return NULL;
    Py_XSETREF(w->high_name, PyUnicode_InternFromString("_Decimal128__high"));
    Py_XSETREF(w->low_name, PyUnicode_InternFromString("_Decimal128__low"));
    Py_XSETREF(w->oid_name, PyUnicode_InternFromString("_ObjectId__id"));
    if (w->high_name == NULL || w->low_name == NULL || w->oid_name == NULL) return NULL;
    if (!PyType_Check(oid_type) || !PyType_Check(PyTuple_GET_ITEM(types, K_DECIMAL))) {
        PyErr_SetString(PyExc_TypeError, "ObjectId and Decimal128 must be types");
        return NULL;
    }
    if (slot_offset(PyTuple_GET_ITEM(types, K_DECIMAL), w->high_name, &w->high_offset) < 0 ||
        slot_offset(PyTuple_GET_ITEM(types, K_DECIMAL), w->low_name, &w->low_offset) < 0 ||
        slot_offset(oid_type, w->oid_name, &w->oid_offset) < 0)
        return NULL;
    if (PyTuple_GET_SIZE(types) != NK) { PyErr_SetString(PyExc_ValueError, "types: one per kind"); return NULL; }
    Py_INCREF(types); Py_XSETREF(w->types, types);
    Py_INCREF(int64_type); Py_XSETREF(w->int64_type, int64_type);
    Py_INCREF(oid_type); Py_XSETREF(w->oid_type, oid_type);
    Py_INCREF(decode_one); Py_XSETREF(w->decode_one, decode_one);
    Py_INCREF(codec_options); Py_XSETREF(w->codec_options, codec_options);
    Py_RETURN_NONE;
}

/* -- the chunk view ----------------------------------------------------------------------------- */

static PyObject *bucket_dict(Walker *w, wnode *n, int elements, int values) {
    PyObject *out = PyDict_New();
    if (out == NULL) return NULL;
    int m = elements ? n->ne : n->nv;
    for (int i = 0; i < m; i++) {
        int k = elements ? n->eorder[i] : n->vorder[i];
        vvec *b = elements ? &n->elements[k] : &n->values[k];
        PyObject *item;
        if (values) {
            item = PyList_New(b->n);
            if (item == NULL) { Py_DECREF(out); return NULL; }
            for (Py_ssize_t j = 0; j < b->n; j++) {
                PyObject *v = materialize(w, &b->a[j]);
                if (v == NULL) { Py_DECREF(item); Py_DECREF(out); return NULL; }
                PyList_SET_ITEM(item, j, v);
            }
        } else {
            item = PyLong_FromSsize_t(b->n);
            if (item == NULL) { Py_DECREF(out); return NULL; }
        }
        int rc = PyDict_SetItem(out, PyTuple_GET_ITEM(w->types, k), item);
        Py_DECREF(item);
        if (rc < 0) { Py_DECREF(out); return NULL; }
    }
    return out;
}

static PyObject *view_of(Walker *w, PyObject *args, int elements, int values) {
    Py_ssize_t index;
    if (!PyArg_ParseTuple(args, "n", &index)) return NULL;
    wnode *n = node_arg(w, index);
    if (n == NULL) return NULL;
    if (!n->touched) return PyDict_New();
    return bucket_dict(w, n, elements, values);
}
static PyObject *Walker_kinds(Walker *w, PyObject *args) { return view_of(w, args, 0, 0); }
static PyObject *Walker_values(Walker *w, PyObject *args) { return view_of(w, args, 0, 1); }
static PyObject *Walker_elements(Walker *w, PyObject *args) { return view_of(w, args, 1, 1); }
static PyObject *Walker_element_kinds(Walker *w, PyObject *args) { return view_of(w, args, 1, 0); }

/* mode 0: column (value or None), 1: has (bool), 2: ids (value or `missing`) */
static PyObject *top_level(Walker *w, const char *key, Py_ssize_t klen, int mode, PyObject *missing) {
    PyObject *out = PyList_New(w->ndocs);
    if (out == NULL) return NULL;
    for (Py_ssize_t d = 0; d < w->ndocs; d++) {
        const uint8_t *p = w->docs[d].d + 4;
        bson_element e;
        PyObject *v = NULL;
        while ((p = values_next_element(p, &e)) != NULL) {
            if (e.key_len == klen && memcmp(e.key, key, klen) == 0) {
                if (mode == 1) { v = Py_True; Py_INCREF(v); }
                else {
                    vref r = ref_of(&e, (uint32_t)d);
                    v = materialize(w, &r);
                    if (v == NULL) { Py_DECREF(out); return NULL; }
                }
                break;
            }
        }
        if (v == NULL) {
            v = mode == 1 ? Py_False : mode == 2 ? missing : Py_None;
            Py_INCREF(v);
        }
        PyList_SET_ITEM(out, d, v);
    }
    return out;
}

static PyObject *Walker_column(Walker *w, PyObject *args) {
    const char *key;
    Py_ssize_t klen;
    if (!PyArg_ParseTuple(args, "y#", &key, &klen)) return NULL;
    return top_level(w, key, klen, 0, NULL);
}
static PyObject *Walker_has(Walker *w, PyObject *args) {
    const char *key;
    Py_ssize_t klen;
    if (!PyArg_ParseTuple(args, "y#", &key, &klen)) return NULL;
    return top_level(w, key, klen, 1, NULL);
}
static PyObject *Walker_ids(Walker *w, PyObject *missing) { return top_level(w, "_id", 3, 2, missing); }

/* hashes(index) -> the stable hash (or None) of each of the node's chunk values, kind by kind (tests) */
static PyObject *Walker_hashes(Walker *w, PyObject *args) {
    Py_ssize_t index;
    if (!PyArg_ParseTuple(args, "n", &index)) return NULL;
    wnode *n = node_arg(w, index);
    if (n == NULL) return NULL;
    PyObject *out = PyList_New(0);
    if (out == NULL || !n->touched) return out;
    for (int i = 0; i < n->nv; i++) {
        vvec *b = &n->values[n->vorder[i]];
        for (Py_ssize_t j = 0; j < b->n; j++) {
            uint32_t h;
            PyObject *v = stable_hash(&b->a[j], &h) == 0 ? PyLong_FromUnsignedLong(h) : (Py_INCREF(Py_None), Py_None);
            if (v == NULL || PyList_Append(out, v) < 0) { Py_XDECREF(v); Py_DECREF(out); return NULL; }
            Py_DECREF(v);
        }
    }
    return out;
}

/* value_lengths(index) -> the lengths of the arrays among the node's values, in their order */
static PyObject *Walker_value_lengths(Walker *w, PyObject *args) {
    Py_ssize_t index;
    if (!PyArg_ParseTuple(args, "n", &index)) return NULL;
    wnode *n = node_arg(w, index);
    if (n == NULL) return NULL;
    Py_ssize_t count = n->touched ? n->values[K_LIST].n : 0;
    PyObject *out = PyList_New(count);
    if (out == NULL) return NULL;
    for (Py_ssize_t j = 0; j < count; j++) {
        const vref *r = &n->values[K_LIST].a[j];
        long length = 0;
        const uint8_t *q = r->v + 4;
        bson_element inner;
        while ((q = values_next_element(q, &inner)) != NULL) length++;
        PyObject *v = PyLong_FromLong(length);
        if (v == NULL) { Py_DECREF(out); return NULL; }
        PyList_SET_ITEM(out, j, v);
    }
    return out;
}

static PyObject *Walker_stamps(Walker *w, PyObject *unused) {
    PyObject *out = PyList_New(w->ndocs);
    if (out == NULL) return NULL;
    for (Py_ssize_t d = 0; d < w->ndocs; d++) {
        PyObject *v = w->docs[d].stamp < 0 ? (Py_INCREF(Py_None), Py_None) : PyLong_FromLongLong(w->docs[d].stamp);
        if (v == NULL) { Py_DECREF(out); return NULL; }
        PyList_SET_ITEM(out, d, v);
    }
    return out;
}

static PyObject *Walker_size(Walker *w, PyObject *unused) { return PyLong_FromSsize_t(w->ndocs); }
static PyObject *Walker_paths(Walker *w, PyObject *unused) { return PyLong_FromSsize_t(w->nnodes - 1); }

/* -- the type ------------------------------------------------------------------------------------- */

static int Walker_init(Walker *w, PyObject *args, PyObject *kwds) {
    static char *names[] = {"max_paths", NULL};
    Py_ssize_t max_paths = 5000;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|n", names, &max_paths)) return -1;
    if (PyDateTimeAPI == NULL) {
        PyDateTime_IMPORT;
        if (PyDateTimeAPI == NULL) return -1;
    }
    if (w->nnodes == 0 && new_node(w, -1, (const uint8_t *)"", 0, 0) < 0) return -1;
    w->max_paths = max_paths;
    return 0;
}

static void Walker_dealloc(Walker *w) {
    reset_chunk(w);
    for (Py_ssize_t i = 0; i < w->nnodes; i++) {
        wnode *n = &w->nodes[i];
        PyMem_Free(n->key);
        for (int k = 0; k < NK; k++) { PyMem_Free(n->values[k].a); PyMem_Free(n->elements[k].a); }
        PyMem_Free(n->lengths.a);
        values_keyset_free(n->held);
    }
    PyMem_Free(w->nodes);
    PyMem_Free(w->table);
    PyMem_Free(w->touched);
    values_keyset_free(w->scratch_keys);
    Py_XDECREF(w->types); Py_XDECREF(w->int64_type); Py_XDECREF(w->oid_type);
    Py_XDECREF(w->decode_one); Py_XDECREF(w->codec_options); Py_XDECREF(w->high_name); Py_XDECREF(w->low_name); Py_XDECREF(w->oid_name);
    values_keyset_free(w->scratch_pairs);
    PyMem_Free(w->pair_refs.a);
    Py_XDECREF(w->new_nodes); Py_XDECREF(w->drops); Py_XDECREF(w->growth);
    Py_TYPE(w)->tp_free((PyObject *)w);
}

static PyMethodDef Walker_methods[] = {
    {"setup", (PyCFunction)Walker_setup, METH_VARARGS, "setup(types, Int64, ObjectId, decode_one, codec_options)"},
    {"check", (PyCFunction)Walker_check, METH_VARARGS,
     "check(data, starts, ends) -> indexes of the documents this core does not read (Python decodes them)"},
    {"walk", (PyCFunction)Walker_walk, METH_VARARGS,
     "walk([(data, starts, ends)]) -> (new nodes [(parent, key, depth)], drops [(parent, n)], growth [(node, sums)], too_deep)"},
    {"flush", (PyCFunction)Walker_flush, METH_NOARGS, "flush() -> (node results, created days, size histogram)"},
    {"register", (PyCFunction)Walker_register, METH_VARARGS,
     "register(parent, key: bytes (UTF-8, surrogatepass), depth) -> index (a node Python made)"},
    {"set_flags", (PyCFunction)Walker_set_flags, METH_VARARGS, "set_flags(index, count_values, string_counts)"},
    {"set_threshold", (PyCFunction)Walker_set_threshold, METH_VARARGS, "set_threshold(index, max hash kept + 1)"},
    {"kinds", (PyCFunction)Walker_kinds, METH_VARARGS, "kinds(index) -> {type: n} of the chunk's values"},
    {"element_kinds", (PyCFunction)Walker_element_kinds, METH_VARARGS, "element_kinds(index) -> {type: n}"},
    {"values", (PyCFunction)Walker_values, METH_VARARGS, "values(index) -> {type: [values]}"},
    {"elements", (PyCFunction)Walker_elements, METH_VARARGS, "elements(index) -> {type: [elements]}"},
    {"column", (PyCFunction)Walker_column, METH_VARARGS, "column(key: bytes) -> each document's top-level value or None"},
    {"has", (PyCFunction)Walker_has, METH_VARARGS, "has(key: bytes) -> [bool]"},
    {"ids", (PyCFunction)Walker_ids, METH_O, "ids(missing) -> each document's _id, or missing"},
    {"hashes", (PyCFunction)Walker_hashes, METH_VARARGS, "hashes(index) -> stats.stable_hash of each value (None: left to Python)"},
    {"value_lengths", (PyCFunction)Walker_value_lengths, METH_VARARGS, "value_lengths(index) -> lengths of the node's array values"},
    {"stamps", (PyCFunction)Walker_stamps, METH_NOARGS, "stamps() -> each document's ObjectId _id second or None"},
    {"size", (PyCFunction)Walker_size, METH_NOARGS, "documents in the chunk"},
    {"paths", (PyCFunction)Walker_paths, METH_NOARGS, "nodes in the mirror (root excluded)"},
    {NULL, NULL, 0, NULL},
};

PyTypeObject WalkerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nosql_advisor._shapecore.Walker",
    .tp_doc = "The column walk of shape/infer.py over raw BSON (driven by shape/native.py).",
    .tp_basicsize = sizeof(Walker),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Walker_init,
    .tp_dealloc = (destructor)Walker_dealloc,
    .tp_methods = Walker_methods,
};
