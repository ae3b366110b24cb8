/* values.c: what the native core knows of one BSON value (see values.h; owned by helper H2).
 *
 * Every answer here must be the one the pure-Python reference gives (PyMongo's C decoder,
 * bson/_cbsonmodule.c, for what decodes; shape/stats.py and shape/infer.py for hashes, equality and
 * histograms). Where this file cannot be exact it says so (0 from values_document_ok, -1 from the
 * key and hash functions) and the caller hands the input to Python: a refusal costs speed, an
 * answer that differs from Python's is a bug.
 *
 * Float repr (values_stable_hash of a double) goes through PyOS_double_to_string, and errors set
 * Python exceptions: call these with the GIL held.
 */
#include "values.h"
#include <string.h>
#include <math.h>

/* -- little-endian reads ------------------------------------------------------------------------ */

static inline uint32_t rd_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t rd_u64(const uint8_t *p) {
    return (uint64_t)rd_u32(p) | ((uint64_t)rd_u32(p + 4) << 32);
}
static inline double rd_double(const uint8_t *p) {
    uint64_t bits = rd_u64(p);
    double d;
    memcpy(&d, &bits, 8);
    return d;
}

/* -- UTF-8, as Python's strict decoder (PyUnicode_DecodeUTF8, errors="strict") takes it --------- */

/* 1 when s[0:n] is well-formed UTF-8 (Unicode 3.2 table: no overlongs, no surrogates, nothing past
 * U+10FFFF; NUL bytes are fine: string values are length-prefixed). ASCII runs go 8 bytes a step. */
static int utf8_ok(const uint8_t *s, Py_ssize_t n) {
    Py_ssize_t i = 0;
    while (i < n) {
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ULL) break;
            i += 8;
        }
        if (i >= n) break;
        uint8_t c = s[i];
        if (c < 0x80) { i++; continue; }
        if (c < 0xC2) return 0;                       /* continuation byte or overlong lead C0/C1 */
        if (c < 0xE0) {
            if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) return 0;
            i += 2;
            continue;
        }
        if (c < 0xF0) {
            if (i + 2 >= n) return 0;
            uint8_t c1 = s[i + 1];
            if (c == 0xE0) { if (c1 < 0xA0 || c1 > 0xBF) return 0; }      /* overlong */
            else if (c == 0xED) { if (c1 < 0x80 || c1 > 0x9F) return 0; } /* surrogates */
            else if ((c1 & 0xC0) != 0x80) return 0;
            if ((s[i + 2] & 0xC0) != 0x80) return 0;
            i += 3;
            continue;
        }
        if (c < 0xF5) {
            if (i + 3 >= n) return 0;
            uint8_t c1 = s[i + 1];
            if (c == 0xF0) { if (c1 < 0x90 || c1 > 0xBF) return 0; }      /* overlong */
            else if (c == 0xF4) { if (c1 < 0x80 || c1 > 0x8F) return 0; } /* past U+10FFFF */
            else if ((c1 & 0xC0) != 0x80) return 0;
            if ((s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80) return 0;
            i += 4;
            continue;
        }
        return 0;
    }
    return 1;
}

/* -- values_document_ok ------------------------------------------------------------------------- */

#define MAX_DEPTH_CAP 500  /* bson's decoder recurses in C (Py_EnterRecursiveCall): stay well inside */

/* The size of a value of `type` starting at `value`, inside a checked document. */
static int element_size(uint8_t type, const uint8_t *value, Py_ssize_t *size) {
    switch (type) {
    case 0x01: case 0x09: case 0x11: case 0x12: *size = 8; return 0;
    case 0x02: case 0x0D: case 0x0E: *size = 4 + (Py_ssize_t)rd_u32(value); return 0;
    case 0x03: case 0x04: case 0x0F: *size = (Py_ssize_t)rd_u32(value); return 0;
    case 0x05: *size = 5 + (Py_ssize_t)rd_u32(value); return 0;
    case 0x06: case 0x0A: case 0x7F: case 0xFF: *size = 0; return 0;
    case 0x07: *size = 12; return 0;
    case 0x08: *size = 1; return 0;
    case 0x0B: {
        Py_ssize_t a = (Py_ssize_t)strlen((const char *)value);
        Py_ssize_t b = (Py_ssize_t)strlen((const char *)value + a + 1);
        *size = a + b + 2;
        return 0;
    }
    case 0x0C: *size = 4 + (Py_ssize_t)rd_u32(value) + 12; return 0;
    case 0x10: *size = 4; return 0;
    case 0x13: *size = 16; return 0;
    default: *size = 0; return -1;
    }
}

/* Duplicate keys: a Python dict keeps one value per key, a walk of the raw bytes would see both,
 * so such a document is Python's. The keys of the documents being checked are kept on one stack
 * (a level pushes its keys, checks them at its end, pops them), each with its first 8 bytes as a
 * word: small documents compare pairwise, larger ones through a hash table; no allocation unless a
 * document holds more keys than the stack (then its keys are read again, into a heap table). */
typedef struct { const uint8_t *key; uint64_t word; uint32_t len; } key_ref;

#define KEY_STACK 1024
#define KEY_SLOTS 2048   /* >= 2 * KEY_STACK, a power of two */

typedef struct {
    int max_depth;
    int allow_dollar_ref;
    int native_only;     /* values_document_native: only the kinds the walker reads, no "$ref" key */
    Py_ssize_t top;
    key_ref keys[KEY_STACK];
    uint16_t slots[KEY_SLOTS];
} check_context;

static inline uint64_t key_word(const uint8_t *k, Py_ssize_t n) {
    uint64_t w = 0;
    if (n >= 8) memcpy(&w, k, 8);
    else for (Py_ssize_t i = 0; i < n; i++) w |= (uint64_t)k[i] << (8 * i);
    return w;
}

static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL; x ^= x >> 33;
    return x;
}

static inline int same_key(const key_ref *a, const key_ref *b) {
    return a->word == b->word && a->len == b->len && (a->len <= 8 || memcmp(a->key + 8, b->key + 8, a->len - 8) == 0);
}

static inline uint64_t key_ref_hash(const key_ref *k) {
    uint64_t h = k->word ^ ((uint64_t)k->len << 56);
    if (k->len > 8) {  /* keys sharing 8 bytes (created_at_1, created_at_2): their last 8 too */
        uint64_t last;
        memcpy(&last, k->key + k->len - 8, 8);
        h ^= mix64(last + 0x9E3779B97F4A7C15ULL);
    }
    return mix64(h);
}

/* 1 when two of keys[0:n] are equal; `slots` has room for a table of >= 2n (n > 8 only) */
static int keys_repeat(const key_ref *keys, Py_ssize_t n, uint16_t *slots, Py_ssize_t nslots) {
    if (n <= 8) {
        for (Py_ssize_t i = 1; i < n; i++)
            for (Py_ssize_t j = 0; j < i; j++)
                if (same_key(&keys[i], &keys[j])) return 1;
        return 0;
    }
    Py_ssize_t size = 16;
    while (size < 2 * n) size <<= 1;
    if (size > nslots) size = nslots;
    memset(slots, 0, sizeof(uint16_t) * (size_t)size);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t s = (Py_ssize_t)(key_ref_hash(&keys[i]) & (uint64_t)(size - 1));
        while (slots[s]) {
            if (same_key(&keys[slots[s] - 1], &keys[i])) return 1;
            s = (s + 1) & (size - 1);
        }
        slots[s] = (uint16_t)(i + 1);
    }
    return 0;
}

/* The same for a document with more keys than the stack holds: read them again into the heap.
 * 1 duplicate, 0 none, -1 out of memory (the caller refuses the document: Python reads it). */
static int document_keys_repeat(const uint8_t *doc, Py_ssize_t n) {
    key_ref *keys = (key_ref *)malloc(sizeof(key_ref) * (size_t)n);
    Py_ssize_t size = 16;
    while (size < 2 * n) size <<= 1;
    uint32_t *slots = (uint32_t *)calloc((size_t)size, sizeof(uint32_t));
    int found = 0;
    if (keys == NULL || slots == NULL) { free(keys); free(slots); return -1; }
    const uint8_t *p = doc + 4;
    Py_ssize_t count = 0;
    while (*p && count < n) {
        const uint8_t *key = p + 1;
        Py_ssize_t klen = (Py_ssize_t)strlen((const char *)key);
        Py_ssize_t vsize = 0;
        element_size(*p, key + klen + 1, &vsize);
        keys[count].key = key;
        keys[count].len = (uint32_t)klen;
        keys[count].word = key_word(key, klen);
        count++;
        p = key + klen + 1 + vsize;
    }
    for (Py_ssize_t i = 0; i < count && !found; i++) {
        Py_ssize_t s = (Py_ssize_t)(key_ref_hash(&keys[i]) & (uint64_t)(size - 1));
        while (slots[s]) {
            if (same_key(&keys[slots[s] - 1], &keys[i])) { found = 1; break; }
            s = (s + 1) & (size - 1);
        }
        slots[s] = (uint32_t)(i + 1);
    }
    free(keys);
    free(slots);
    return found;
}

/* A string value (string, code, symbol, DBPointer's namespace) at v with `room` bytes left before
 * the end of its document's elements: returns its size (length prefix included) or -1. */
static inline Py_ssize_t check_string(const uint8_t *v, Py_ssize_t room) {
    if (room < 4) return -1;
    Py_ssize_t len = (Py_ssize_t)rd_u32(v);
    if (len < 1 || len > room - 4) return -1;
    if (v[4 + len - 1] != 0) return -1;
    if (!utf8_ok(v + 4, len - 1)) return -1;
    return 4 + len;
}

/* values_document_native's narrower rule: the kinds the walker reads itself (double, string,
 * document, array, binary subtypes 0, 1, 3-7 and user-defined, ObjectId, bool, datetime within
 * datetime's range, null, int32, int64, Decimal128). The sizes are checked by the caller after. */
static inline int native_kind(uint8_t type, const uint8_t *v, Py_ssize_t room) {
    switch (type) {
    case 0x01: case 0x02: case 0x03: case 0x04: case 0x07: case 0x08: case 0x0A: case 0x10: case 0x12: case 0x13:
        return 1;
    case 0x05: {
        if (room < 5) return 0;
        uint8_t subtype = v[4];
        return subtype == 0 || subtype == 1 || (subtype >= 3 && subtype <= 7) || subtype >= 0x80;
    }
    case 0x09: {
        if (room < 8) return 0;
        int64_t ms = (int64_t)rd_u64(v);
        return ms >= -62135596800000LL && ms <= 253402300799999LL;
    }
    default:
        return 0;
    }
}

/* Check the elements of the document at `doc` whose length prefix is `size` (already known to be
 * >= 5 and to fit): every element inside [doc+4, doc+size-1), exactly filling it, then its NUL.
 * The rules are bson/_cbsonmodule.c's (get_value, _element_to_dict), or stricter. */
static int check_elements(check_context *ctx, const uint8_t *doc, Py_ssize_t size, int depth,
                          int is_array, int is_subdocument) {
    const uint8_t *p = doc + 4;
    const uint8_t *end = doc + size - 1;  /* the terminating NUL */
    Py_ssize_t n = 0, base = ctx->top;
    int dollar_ref = 0, overflow = 0;
    if (*end != 0) return 0;
    while (p < end) {
        uint8_t type = *p;
        const uint8_t *key = p + 1;
        const uint8_t *q = key;
        uint64_t high = 0;
        while (q + 8 <= end) {  /* the key's NUL, a word at a time while no byte of it is 0 */
            uint64_t w;
            memcpy(&w, q, 8);
            if ((w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL) break;
            high |= w;
            q += 8;
        }
        while (q < end && *q) high |= *q++;
        if (q == end) return 0;  /* the key runs into the terminator: bson refuses */
        Py_ssize_t klen = q - key;
        if (!is_array) {
            if ((high & 0x8080808080808080ULL) && !utf8_ok(key, klen)) return 0;
            if (klen == 4 && memcmp(key, "$ref", 4) == 0) {
                if (ctx->native_only) return 0;
                if (is_subdocument) dollar_ref = 1;
            }
            if (ctx->top < KEY_STACK) {
                key_ref *k = &ctx->keys[ctx->top++];
                k->key = key;
                k->len = (uint32_t)klen;
                k->word = key_word(key, klen);
            } else {
                overflow = 1;
            }
        }
        const uint8_t *v = q + 1;
        Py_ssize_t room = end - v;
        Py_ssize_t vsize;
        if (ctx->native_only && !native_kind(type, v, room)) return 0;
        switch (type) {
        case 0x01: case 0x09: case 0x11: case 0x12: vsize = 8; break;
        case 0x10: vsize = 4; break;
        case 0x07: vsize = 12; break;
        case 0x13: vsize = 16; break;
        case 0x06: case 0x0A: case 0x7F: case 0xFF: vsize = 0; break;
        case 0x08:
            if (room < 1 || v[0] > 1) return 0;
            vsize = 1;
            break;
        case 0x02: case 0x0D: case 0x0E:
            vsize = check_string(v, room);
            if (vsize < 0) return 0;
            break;
        case 0x0C:
            vsize = check_string(v, room);
            if (vsize < 0 || vsize + 12 > room) return 0;
            vsize += 12;
            break;
        case 0x03: case 0x04: {
            if (room < 4) return 0;
            Py_ssize_t sub = (Py_ssize_t)rd_u32(v);
            if (sub < 5 || sub > room) return 0;
            if (depth + 1 > ctx->max_depth) return 0;
            if (!check_elements(ctx, v, sub, depth + 1, type == 0x04, type == 0x03)) return 0;
            vsize = sub;
            break;
        }
        case 0x05: {
            if (room < 5) return 0;
            Py_ssize_t len = (Py_ssize_t)rd_u32(v);
            if (len > room - 5) return 0;
            if (v[4] == 2) {  /* the old binary subtype repeats its length, 4 less */
                if (len < 4 || (Py_ssize_t)rd_u32(v + 5) != len - 4) return 0;
            }
            vsize = 5 + len;
            break;
        }
        case 0x0B: {
            const uint8_t *pattern_end = (const uint8_t *)memchr(v, 0, (size_t)room);
            if (pattern_end == NULL) return 0;
            if (!utf8_ok(v, pattern_end - v)) return 0;
            const uint8_t *flags = pattern_end + 1;
            const uint8_t *flags_end = (const uint8_t *)memchr(flags, 0, (size_t)(end - flags));
            if (flags_end == NULL) return 0;
            if (!utf8_ok(flags, flags_end - flags)) return 0;
            vsize = (flags_end + 1) - v;
            break;
        }
        case 0x0F: {  /* total length, code string, scope document: total == 4 + code + scope */
            if (room < 8) return 0;
            Py_ssize_t total = (Py_ssize_t)rd_u32(v);
            if (total > room) return 0;
            Py_ssize_t code = check_string(v + 4, total - 4);
            if (code < 0) return 0;
            if (4 + code + 4 > total) return 0;
            Py_ssize_t scope = (Py_ssize_t)rd_u32(v + 4 + code);
            if (scope < 5 || 4 + code + scope != total) return 0;
            if (depth + 1 > ctx->max_depth) return 0;
            if (!check_elements(ctx, v + 4 + code, scope, depth + 1, 0, 0)) return 0;
            vsize = total;
            break;
        }
        default:
            return 0;  /* unknown type bytes, and 0x00 before the terminator */
        }
        if (vsize > room) return 0;
        p = v + vsize;
        n++;
    }
    if (p != end) return 0;
    if (dollar_ref && !ctx->allow_dollar_ref) return 0;  /* may decode as a DBRef: Python decides */
    if (!is_array && n > 1) {
        int repeated = overflow ? document_keys_repeat(doc, n)
                                : keys_repeat(&ctx->keys[base], n, ctx->slots, KEY_SLOTS);
        if (repeated != 0) { ctx->top = base; return 0; }
    }
    ctx->top = base;
    return 1;
}

static int document_check(const uint8_t *doc, Py_ssize_t avail, int max_depth, int allow_dollar_ref,
                          int native_only) {
    if (doc == NULL || avail < 5) return 0;
    Py_ssize_t size = (Py_ssize_t)rd_u32(doc);
    if (size < 5 || size > avail || size > 2147483647) return 0;
    check_context ctx;
    ctx.max_depth = max_depth > MAX_DEPTH_CAP ? MAX_DEPTH_CAP : (max_depth < 0 ? 0 : max_depth);
    ctx.allow_dollar_ref = allow_dollar_ref;
    ctx.native_only = native_only;
    ctx.top = 0;
    return check_elements(&ctx, doc, size, 0, 0, 0);
}

/* Depth: the top-level document is level 0, a document, array or code-with-scope scope inside
 * level L is level L + 1; levels past max_depth (capped at MAX_DEPTH_CAP) are refused. Only the
 * `size` bytes the prefix gives are read (the caller checks that they are the whole record). Array
 * keys are not read as UTF-8 (bson skips them; so does the walk). */
int values_document_ok(const uint8_t *doc, Py_ssize_t avail, int max_depth) {
    return document_check(doc, avail, max_depth, 0, 0);
}

/* The walker's own acceptance (see values.h): values_document_ok, and every value of a kind it
 * reads, and no "$ref" key at any level (the top level included). One pass. */
int values_document_native(const uint8_t *doc, Py_ssize_t avail, int max_depth) {
    return document_check(doc, avail, max_depth, 0, 1);
}

/* -- framing ------------------------------------------------------------------------------------ */

const uint8_t *values_next_element(const uint8_t *p, bson_element *out) {
    if (*p == 0) return NULL;
    out->type = *p;
    out->key = (const char *)(p + 1);
    out->key_len = (Py_ssize_t)strlen(out->key);
    out->value = p + 1 + out->key_len + 1;
    Py_ssize_t size = 0;
    element_size(out->type, out->value, &size);
    out->value_len = size;
    return out->value + size;
}

/* 1 when the embedded document holds a "$ref" key */
static int has_dollar_ref(const uint8_t *doc) {
    const uint8_t *p = doc + 4;
    bson_element e;
    while ((p = values_next_element(p, &e)) != NULL) {
        if (e.key_len == 4 && memcmp(e.key, "$ref", 4) == 0) return 1;
    }
    return 0;
}

/* datetime's range as bson's DATETIME_AUTO decides (datetime_ms._MIN_UTC_MS / _MAX_UTC_MS) */
#define MIN_DATETIME_MS (-62135596800000LL)
#define MAX_DATETIME_MS (253402300799999LL)

value_kind values_kind(const bson_element *e) {
    switch (e->type) {
    case 0x01: return KIND_FLOAT;
    case 0x02: return KIND_STR;
    case 0x03: return has_dollar_ref(e->value) ? KIND_DBREF : KIND_DICT;
    case 0x04: return KIND_LIST;
    case 0x05: return e->value[4] == 0 ? KIND_BYTES : KIND_BINARY;
    case 0x06: return KIND_UNDEFINED;
    case 0x07: return KIND_OID;
    case 0x08: return KIND_BOOL;
    case 0x09: {
        int64_t ms = (int64_t)rd_u64(e->value);
        return (ms < MIN_DATETIME_MS || ms > MAX_DATETIME_MS) ? KIND_DATETIME_MS : KIND_DATETIME;
    }
    case 0x0A: return KIND_NONE;
    case 0x0B: return KIND_REGEX;
    case 0x0C: return KIND_DBPOINTER;
    case 0x0D: case 0x0F: return KIND_CODE;
    case 0x0E: return KIND_SYMBOL;
    case 0x10: return KIND_INT;
    case 0x11: return KIND_TIMESTAMP;
    case 0x12: return KIND_INT64;
    case 0x13: return KIND_DECIMAL;
    case 0xFF: return KIND_MINKEY;
    case 0x7F: return KIND_MAXKEY;
    default: return KIND_COUNT;
    }
}

const char *values_type_name(const bson_element *e) {
    switch (e->type) {
    case 0x01: return "double";
    case 0x02: return "string";
    case 0x03: return "object";   /* a DBRef is "object" too (TYPE_NAMES[DBRef]) */
    case 0x04: return "array";
    case 0x05: return "binData";
    case 0x06: return "undefined";
    case 0x07: return "objectId";
    case 0x08: return "bool";
    case 0x09: return "date";
    case 0x0A: return "null";
    case 0x0B: return "regex";
    case 0x0C: return "dbPointer";
    case 0x0D: return "javascript";
    case 0x0E: return "symbol";
    case 0x0F: return "javascriptWithScope";
    case 0x10: return "int";
    case 0x11: return "timestamp";
    case 0x12: return "long";
    case 0x13: return "decimal";
    case 0xFF: return "minKey";
    case 0x7F: return "maxKey";
    default: return "unknown";
    }
}

/* -- crc32 (zlib's: reflected polynomial 0xEDB88320), slicing by 8 ------------------------------ */

static uint32_t crc_table[8][256];
static int crc_ready = 0;

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = crc_table[0][i];
        for (int t = 1; t < 8; t++) {
            c = crc_table[0][c & 0xFF] ^ (c >> 8);
            crc_table[t][i] = c;
        }
    }
    crc_ready = 1;
}

uint32_t values_crc32(const uint8_t *data, Py_ssize_t len, uint32_t start) {
    if (!crc_ready) crc_init();
    uint32_t c = ~start;
    while (len >= 8) {
        uint32_t lo = c ^ rd_u32(data);
        uint32_t hi = rd_u32(data + 4);
        c = crc_table[7][lo & 0xFF] ^ crc_table[6][(lo >> 8) & 0xFF] ^ crc_table[5][(lo >> 16) & 0xFF]
            ^ crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xFF] ^ crc_table[2][(hi >> 8) & 0xFF]
            ^ crc_table[1][(hi >> 16) & 0xFF] ^ crc_table[0][hi >> 24];
        data += 8;
        len -= 8;
    }
    while (len-- > 0) c = crc_table[0][(c ^ *data++) & 0xFF] ^ (c >> 8);
    return ~c;
}

/* -- numbers ------------------------------------------------------------------------------------ */

int values_compare_int_double(int64_t a, double b) {
    if (b >= 9223372036854775808.0) return -1;   /* 2**63 and up (inf too): above every int64 */
    if (b < -9223372036854775808.0) return 1;    /* below -2**63 (-inf too) */
    double t = trunc(b);                          /* |t| < 2**63 or t == -2**63: exact in int64 */
    int64_t bi = (int64_t)t;
    if (a < bi) return -1;
    if (a > bi) return 1;
    double frac = b - t;                          /* exact */
    if (frac > 0) return -1;
    if (frac < 0) return 1;
    return 0;
}

/* -- CPython's hashes (3.11: Python/pyhash.h, Objects/longobject.c, Objects/tupleobject.c) ------- */

#define PYHASH_MODULUS ((((uint64_t)1) << 61) - 1)

/* hash(int) of an unsigned 64-bit int (Python's ints are unbounded: mod 2**61-1, sign kept) */
static uint64_t hash_u64(uint64_t v) {
    uint64_t h = v % PYHASH_MODULUS;
    if (h == (uint64_t)-1) h = (uint64_t)-2;  /* cannot happen for non-negative, kept for symmetry */
    return h;
}

static uint64_t hash_i64(int64_t v) {
    if (v >= 0) return hash_u64((uint64_t)v);
    uint64_t mag = (uint64_t)0 - (uint64_t)v;  /* |v|, exact for -2**63 */
    int64_t h = -(int64_t)(mag % PYHASH_MODULUS);
    if (h == -1) h = -2;
    return (uint64_t)h;
}

#define XXPRIME_1 ((uint64_t)11400714785074694791ULL)
#define XXPRIME_2 ((uint64_t)14029467366897019727ULL)
#define XXPRIME_5 ((uint64_t)2870177450012600261ULL)
#define XXROTATE(x) (((x) << 31) | ((x) >> 33))

/* hash() of a tuple of values whose hashes are `lanes` (Objects/tupleobject.c, 3.8 and later) */
static uint64_t hash_tuple(const uint64_t *lanes, Py_ssize_t n) {
    uint64_t acc = XXPRIME_5;
    for (Py_ssize_t i = 0; i < n; i++) {
        acc += lanes[i] * XXPRIME_2;
        acc = XXROTATE(acc);
        acc *= XXPRIME_1;
    }
    acc += (uint64_t)n ^ (XXPRIME_5 ^ 3527539UL);
    if (acc == (uint64_t)-1) return 1546275796;
    return acc;
}

#if PY_VERSION_HEX < 0x03080000
#error "values.c implements the tuple hash of Python 3.8 and later"
#endif

static uint32_t crc_of_hash(uint64_t h) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(h >> (8 * i));
    return values_crc32(b, 8, 0);
}

/* -- canonical keys and stable hashes ----------------------------------------------------------- */

/* Key tags: one byte before the key's bytes, so keys of different types never meet. */
#define TAG_INT 'N'     /* an int64 value: int, Int64, bool, or a double holding a whole number */
#define TAG_DOUBLE 'F'  /* any other double (fractions, outside int64, infinities) */
#define TAG_STR 'S'
#define TAG_BYTES 'B'
#define TAG_OID 'O'
#define TAG_DATE 'D'
#define TAG_DECIMAL 'M'
#define TAG_NONE 'Z'
#define TAG_BINARY 'Y'  /* a bson.Binary (subtype != 0): its subtype, then its bytes */

static Py_ssize_t put_key(uint8_t *out, Py_ssize_t cap, uint8_t tag, const uint8_t *bytes, Py_ssize_t n) {
    if (1 + n > cap) return -1;
    out[0] = tag;
    if (n) memcpy(out + 1, bytes, (size_t)n);
    return 1 + n;
}

static Py_ssize_t put_int_key(uint8_t *out, Py_ssize_t cap, int64_t v) {
    uint8_t b[8];
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(u >> (8 * i));
    return put_key(out, cap, TAG_INT, b, 8);
}

Py_ssize_t values_canonical_key(const bson_element *e, uint8_t *out, Py_ssize_t cap) {
    const uint8_t *v = e->value;
    switch (e->type) {
    case 0x01: {
        double d = rd_double(v);
        if (d != d) return -1;  /* NaN: every decoded NaN is its own object */
        if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 && d == trunc(d))
            return put_int_key(out, cap, (int64_t)d);  /* -0.0 lands on 0 */
        return put_key(out, cap, TAG_DOUBLE, v, 8);
    }
    case 0x02: return put_key(out, cap, TAG_STR, v + 4, (Py_ssize_t)rd_u32(v) - 1);
    case 0x05:
        /* Binary == Binary by (subtype, bytes), never == bytes (subtype 0 decodes to bytes). The
         * old subtype 2 (bson strips its inner length) is left to Python. */
        if (v[4] == 2) return -1;
        if (v[4] != 0) return put_key(out, cap, TAG_BINARY, v + 4, 1 + (Py_ssize_t)rd_u32(v));
        return put_key(out, cap, TAG_BYTES, v + 5, (Py_ssize_t)rd_u32(v));
    case 0x07: return put_key(out, cap, TAG_OID, v, 12);
    case 0x08: return put_int_key(out, cap, v[0] ? 1 : 0);
    case 0x09: {
        int64_t ms = (int64_t)rd_u64(v);
        if (ms < MIN_DATETIME_MS || ms > MAX_DATETIME_MS) return -1;  /* DatetimeMS */
        return put_key(out, cap, TAG_DATE, v, 8);
    }
    case 0x0A: return put_key(out, cap, TAG_NONE, NULL, 0);
    case 0x10: return put_int_key(out, cap, (int64_t)(int32_t)rd_u32(v));
    case 0x12: return put_int_key(out, cap, (int64_t)rd_u64(v));
    case 0x13: return put_key(out, cap, TAG_DECIMAL, v, 16);
    default: return -1;
    }
}

/* repr of an int64 into buf (at least 24 bytes, written at its end); returns where it starts */
static char *int_repr(int64_t v, char *buf, Py_ssize_t size) {
    char *p = buf + size;
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do { *--p = (char)('0' + mag % 10); mag /= 10; } while (mag);
    if (v < 0) *--p = '-';
    return p;
}

/* crc32 of the decimal digits of v (repr of an int) */
static uint32_t crc_of_int_repr(int64_t v) {
    char buf[24];
    char *start = int_repr(v, buf, sizeof buf);
    return values_crc32((const uint8_t *)start, buf + sizeof buf - start, 0);
}

/* repr(d) without the general algorithm, for the common doubles: a decimal of at most 15
 * significant digits (then it is the one such string that reads back as d, the shortest, which is
 * what repr gives) in repr's fixed-point range (1e-4 <= |d| < 1e16). The length written, or 0 when
 * d is not one (the caller then asks PyOS_double_to_string). */
static Py_ssize_t short_repr(double d, char *out) {
    static const double POW10[16] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
                                     1e13, 1e14, 1e15};
    double a = fabs(d);
    if (!(a >= 1e-4 && a < 1e15)) return 0;
    for (int k = 0; k < 16; k++) {
        double x = a * POW10[k];
        if (x >= 1e15) return 0;
        double m = nearbyint(x);
        if (m / POW10[k] != a) continue;
        /* m < 10**15: exact; m / 10**k is the correctly rounded decimal m * 10**-k, which is a */
        char digits[24];
        int n = 0;
        uint64_t u = (uint64_t)m;
        do { digits[n++] = (char)('0' + u % 10); u /= 10; } while (u);
        while (n <= k) digits[n++] = '0';  /* a leading zero before the point */
        Py_ssize_t at = 0;
        if (d < 0) out[at++] = '-';
        for (int i = n - 1; i >= k; i--) out[at++] = digits[i];
        out[at++] = '.';
        if (k == 0) out[at++] = '0';
        for (int i = k - 1; i >= 0; i--) out[at++] = digits[i];
        return at;
    }
    return 0;
}

/* crc32 of repr(d). Whole numbers under 1e16 print as their digits and ".0" (float_repr: 'r'
 * mode, fixed notation while the decimal point is at most 16 digits in), -0.0 aside; the others
 * go through CPython's own routine. -1 when it fails (no memory). */
static int crc_of_float_repr(double d, uint32_t *out) {
    if (d == trunc(d) && fabs(d) < 1e16 && !(d == 0 && signbit(d))) {
        char buf[26];
        buf[24] = '.';
        buf[25] = '0';
        char *start = int_repr((int64_t)d, buf, 24);
        *out = values_crc32((const uint8_t *)start, buf + sizeof buf - start, 0);
        return 0;
    }
    char fast[40];
    Py_ssize_t flen = short_repr(d, fast);
    if (flen > 0) { *out = values_crc32((const uint8_t *)fast, flen, 0); return 0; }
    char *text = PyOS_double_to_string(d, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (text == NULL) { PyErr_Clear(); return -1; }
    *out = values_crc32((const uint8_t *)text, (Py_ssize_t)strlen(text), 0);
    PyMem_Free(text);
    return 0;
}

/* crc32 of repr(bytes) (Objects/bytesobject.c PyBytes_Repr, smartquotes on), streamed */
static uint32_t crc_of_bytes_repr(const uint8_t *s, Py_ssize_t n) {
    static const char hex[] = "0123456789abcdef";
    int squotes = memchr(s, '\'', (size_t)n) != NULL;
    int dquotes = memchr(s, '"', (size_t)n) != NULL;
    uint8_t quote = (squotes && !dquotes) ? '"' : '\'';
    uint8_t buf[512];
    Py_ssize_t used = 0;
    uint32_t crc = 0;
    buf[used++] = 'b';
    buf[used++] = quote;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (used > (Py_ssize_t)sizeof buf - 8) {
            crc = values_crc32(buf, used, crc);
            used = 0;
        }
        uint8_t c = s[i];
        if (c == quote || c == '\\') { buf[used++] = '\\'; buf[used++] = c; }
        else if (c == '\t') { buf[used++] = '\\'; buf[used++] = 't'; }
        else if (c == '\n') { buf[used++] = '\\'; buf[used++] = 'n'; }
        else if (c == '\r') { buf[used++] = '\\'; buf[used++] = 'r'; }
        else if (c < ' ' || c >= 0x7F) {
            buf[used++] = '\\'; buf[used++] = 'x';
            buf[used++] = (uint8_t)hex[c >> 4]; buf[used++] = (uint8_t)hex[c & 15];
        } else buf[used++] = c;
    }
    buf[used++] = quote;
    return values_crc32(buf, used, crc);
}

/* (days, seconds, microseconds) of timedelta(milliseconds=ms), as CPython normalizes them */
static uint64_t hash_of_millis_delta(int64_t ms) {
    int64_t days = ms / 86400000;
    int64_t rest = ms % 86400000;
    if (rest < 0) { rest += 86400000; days -= 1; }
    uint64_t lanes[3] = {hash_i64(days), hash_i64(rest / 1000), hash_i64((rest % 1000) * 1000)};
    return hash_tuple(lanes, 3);
}

int values_stable_hash(const bson_element *e, uint32_t *out) {
    const uint8_t *v = e->value;
    switch (e->type) {
    case 0x01: return crc_of_float_repr(rd_double(v), out);
    case 0x02: *out = values_crc32(v + 4, (Py_ssize_t)rd_u32(v) - 1, 0); return 0;
    case 0x05:
        if (v[4] != 0) return -1;
        *out = crc_of_bytes_repr(v + 5, (Py_ssize_t)rd_u32(v));
        return 0;
    case 0x07: *out = values_crc32(v, 12, 0); return 0;
    case 0x08:
        *out = v[0] ? values_crc32((const uint8_t *)"True", 4, 0) : values_crc32((const uint8_t *)"False", 5, 0);
        return 0;
    case 0x09: {
        int64_t ms = (int64_t)rd_u64(v);
        if (ms < MIN_DATETIME_MS || ms > MAX_DATETIME_MS) return -1;  /* DatetimeMS: Python's repr */
        *out = crc_of_hash(hash_of_millis_delta(ms));
        return 0;
    }
    case 0x0A: *out = values_crc32((const uint8_t *)"None", 4, 0); return 0;
    case 0x10: *out = crc_of_int_repr((int64_t)(int32_t)rd_u32(v)); return 0;
    case 0x12: *out = crc_of_int_repr((int64_t)rd_u64(v)); return 0;
    case 0x13: {
        uint64_t low = rd_u64(v), high = rd_u64(v + 8);
        uint64_t lanes[2] = {hash_u64(high), hash_u64(low)};
        *out = crc_of_hash(hash_tuple(lanes, 2));
        return 0;
    }
    default: return -1;
    }
}

/* -- histograms --------------------------------------------------------------------------------- */

#define EXACT_BELOW 1024
#define SIGNIFICANT_BITS 10

static uint64_t bucket_of(uint64_t value) {  /* stats._bucket */
    if (value < EXACT_BELOW) return value;
#if defined(__GNUC__) || defined(__clang__)
    int bits = 64 - __builtin_clzll(value);
#else
    int bits = 0;
    for (uint64_t rest = value; rest; rest >>= 1) bits++;
#endif
    int shift = bits - SIGNIFICANT_BITS;
    return (value >> shift) << shift;
}

void values_histogram_init(values_histogram *h) {
    memset(h, 0, sizeof *h);
}


/* bucket keys are >= 1024, so 0 marks a free slot */
static int bucket_grow(values_histogram *h) {
    Py_ssize_t cap = h->bucket_cap ? h->bucket_cap * 2 : 64;
    uint64_t *keys = (uint64_t *)calloc((size_t)cap, sizeof(uint64_t));
    uint64_t *counts = (uint64_t *)calloc((size_t)cap, sizeof(uint64_t));
    if (keys == NULL || counts == NULL) { free(keys); free(counts); PyErr_NoMemory(); return -1; }
    for (Py_ssize_t i = 0; i < h->bucket_cap; i++) {
        uint64_t k = h->bucket_keys[i];
        if (!k) continue;
        Py_ssize_t s = (Py_ssize_t)(mix64(k) & (uint64_t)(cap - 1));
        while (keys[s]) s = (s + 1) & (cap - 1);
        keys[s] = k;
        counts[s] = h->bucket_counts[i];
    }
    free(h->bucket_keys);
    free(h->bucket_counts);
    h->bucket_keys = keys;
    h->bucket_counts = counts;
    h->bucket_cap = cap;
    return 0;
}

int values_histogram_add(values_histogram *h, uint64_t value) {
    if (value < EXACT_BELOW) {
        h->exact[value]++;
    } else {
        uint64_t b = bucket_of(value);
        if (2 * (h->bucket_used + 1) > h->bucket_cap && bucket_grow(h) < 0) return -1;
        Py_ssize_t s = (Py_ssize_t)(mix64(b) & (uint64_t)(h->bucket_cap - 1));
        while (h->bucket_keys[s] && h->bucket_keys[s] != b) s = (s + 1) & (h->bucket_cap - 1);
        if (!h->bucket_keys[s]) { h->bucket_keys[s] = b; h->bucket_used++; }
        h->bucket_counts[s]++;
    }
    if (h->n == 0 || value < h->min) h->min = value;
    if (h->n == 0 || value > h->max) h->max = value;
    h->n++;
    uint64_t lo = h->total_lo + value;
    h->total_hi += (lo < h->total_lo);
    h->total_lo = lo;
    return 0;
}

void values_histogram_clear(values_histogram *h) {
    memset(h->exact, 0, sizeof h->exact);
    if (h->bucket_cap) {
        memset(h->bucket_keys, 0, sizeof(uint64_t) * (size_t)h->bucket_cap);
        memset(h->bucket_counts, 0, sizeof(uint64_t) * (size_t)h->bucket_cap);
    }
    h->bucket_used = 0;
    h->n = 0;
    h->total_lo = h->total_hi = 0;
    h->min = h->max = 0;
}

void values_histogram_free(values_histogram *h) {
    free(h->bucket_keys);
    free(h->bucket_counts);
    h->bucket_keys = h->bucket_counts = NULL;
    h->bucket_cap = h->bucket_used = 0;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

PyObject *values_histogram_to_python(const values_histogram *h) {
    if (h->n == 0) Py_RETURN_NONE;
    PyObject *counts = PyDict_New();
    PyObject *total = NULL, *hi = NULL, *shift = NULL, *lo = NULL, *result = NULL;
    uint64_t *order = NULL;
    if (counts == NULL) return NULL;
    for (int i = 0; i < EXACT_BELOW; i++) {
        if (!h->exact[i]) continue;
        PyObject *k = PyLong_FromLong(i), *c = PyLong_FromUnsignedLongLong(h->exact[i]);
        int bad = k == NULL || c == NULL || PyDict_SetItem(counts, k, c) < 0;
        Py_XDECREF(k); Py_XDECREF(c);
        if (bad) goto done;
    }
    if (h->bucket_used) {  /* ascending, like the exact part: the same dict every run */
        order = (uint64_t *)malloc(sizeof(uint64_t) * (size_t)h->bucket_used);
        if (order == NULL) { PyErr_NoMemory(); goto done; }
        Py_ssize_t m = 0;
        for (Py_ssize_t i = 0; i < h->bucket_cap; i++) if (h->bucket_keys[i]) order[m++] = h->bucket_keys[i];
        qsort(order, (size_t)m, sizeof(uint64_t), cmp_u64);
        for (Py_ssize_t j = 0; j < m; j++) {
            Py_ssize_t s = (Py_ssize_t)(mix64(order[j]) & (uint64_t)(h->bucket_cap - 1));
            while (h->bucket_keys[s] != order[j]) s = (s + 1) & (h->bucket_cap - 1);
            PyObject *k = PyLong_FromUnsignedLongLong(order[j]);
            PyObject *c = PyLong_FromUnsignedLongLong(h->bucket_counts[s]);
            int bad = k == NULL || c == NULL || PyDict_SetItem(counts, k, c) < 0;
            Py_XDECREF(k); Py_XDECREF(c);
            if (bad) goto done;
        }
    }
    lo = PyLong_FromUnsignedLongLong(h->total_lo);
    if (lo == NULL) goto done;
    if (h->total_hi) {
        hi = PyLong_FromUnsignedLongLong(h->total_hi);
        shift = PyLong_FromLong(64);
        if (hi == NULL || shift == NULL) goto done;
        PyObject *shifted = PyNumber_Lshift(hi, shift);
        if (shifted == NULL) goto done;
        total = PyNumber_Or(shifted, lo);
        Py_DECREF(shifted);
        if (total == NULL) goto done;
    } else {
        total = lo;
        Py_INCREF(total);
    }
    result = Py_BuildValue("(OKOKK)", counts, (unsigned long long)h->n, total,
                           (unsigned long long)h->min, (unsigned long long)h->max);
done:
    free(order);
    Py_XDECREF(counts); Py_XDECREF(total); Py_XDECREF(hi); Py_XDECREF(shift); Py_XDECREF(lo);
    return result;
}

/* -- key sets ----------------------------------------------------------------------------------- */

typedef struct { uint64_t hash; const uint8_t *key; Py_ssize_t len; } keyset_slot;

typedef struct arena_block { struct arena_block *next; size_t used, cap; uint8_t data[]; } arena_block;

struct values_keyset {
    keyset_slot *slots;
    Py_ssize_t cap, size;
    arena_block *blocks;  /* the copied keys; the newest first */
};

static uint64_t bytes_hash(const uint8_t *p, Py_ssize_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = mix64(h ^ w) + 0x9E3779B97F4A7C15ULL;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, (size_t)n);
    return mix64(h ^ w ^ ((uint64_t)n << 56));
}

values_keyset *values_keyset_new(void) {
    values_keyset *s = (values_keyset *)calloc(1, sizeof *s);
    if (s == NULL) { PyErr_NoMemory(); return NULL; }
    s->cap = 64;
    s->slots = (keyset_slot *)calloc((size_t)s->cap, sizeof(keyset_slot));
    if (s->slots == NULL) { free(s); PyErr_NoMemory(); return NULL; }
    return s;
}

static const uint8_t *arena_copy(values_keyset *s, const uint8_t *key, Py_ssize_t len) {
    arena_block *b = s->blocks;
    size_t need = (size_t)len ? (size_t)len : 1;
    if (b == NULL || b->cap - b->used < need) {
        /* small sets stay small (the walker keeps one per path): 256 bytes, doubling up to 64 KiB */
        size_t cap = b == NULL ? 256 : (b->cap >= 32768 ? 65536 : b->cap * 2);
        if (cap < need) cap = need;
        arena_block *fresh = (arena_block *)malloc(sizeof(arena_block) + cap);
        if (fresh == NULL) return NULL;
        fresh->next = b;
        fresh->used = 0;
        fresh->cap = cap;
        s->blocks = b = fresh;
    }
    uint8_t *dst = b->data + b->used;
    if (len) memcpy(dst, key, (size_t)len);
    b->used += need;
    return dst;
}

static int keyset_grow(values_keyset *s) {
    Py_ssize_t cap = s->cap * 2;
    keyset_slot *slots = (keyset_slot *)calloc((size_t)cap, sizeof(keyset_slot));
    if (slots == NULL) return -1;
    for (Py_ssize_t i = 0; i < s->cap; i++) {
        if (s->slots[i].key == NULL) continue;
        Py_ssize_t j = (Py_ssize_t)(s->slots[i].hash & (uint64_t)(cap - 1));
        while (slots[j].key != NULL) j = (j + 1) & (cap - 1);
        slots[j] = s->slots[i];
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    return 0;
}

int values_keyset_add(values_keyset *s, const uint8_t *key, Py_ssize_t len) {
    uint64_t h = bytes_hash(key, len);
    Py_ssize_t j = (Py_ssize_t)(h & (uint64_t)(s->cap - 1));
    while (s->slots[j].key != NULL) {
        if (s->slots[j].hash == h && s->slots[j].len == len && memcmp(s->slots[j].key, key, (size_t)len) == 0)
            return 0;
        j = (j + 1) & (s->cap - 1);
    }
    const uint8_t *copy = arena_copy(s, key, len);
    if (copy == NULL) { PyErr_NoMemory(); return -1; }
    s->slots[j].hash = h;
    s->slots[j].key = copy;
    s->slots[j].len = len;
    s->size++;
    if (2 * s->size > s->cap && keyset_grow(s) < 0) { PyErr_NoMemory(); return -1; }
    return 1;
}

Py_ssize_t values_keyset_size(const values_keyset *s) { return s->size; }

void values_keyset_clear(values_keyset *s) {
    memset(s->slots, 0, sizeof(keyset_slot) * (size_t)s->cap);
    s->size = 0;
    /* keep the newest block, drop the others */
    arena_block *b = s->blocks;
    if (b != NULL) {
        arena_block *rest = b->next;
        while (rest != NULL) { arena_block *next = rest->next; free(rest); rest = next; }
        b->next = NULL;
        b->used = 0;
    }
}

void values_keyset_free(values_keyset *s) {
    if (s == NULL) return;
    arena_block *b = s->blocks;
    while (b != NULL) { arena_block *next = b->next; free(b); b = next; }
    free(s->slots);
    free(s);
}

/* -- test hooks --------------------------------------------------------------------------------- */

static PyObject *test_document_ok(PyObject *self, PyObject *args) {
    Py_buffer doc;
    int max_depth = 100, native = 0;
    if (!PyArg_ParseTuple(args, "y*|ip", &doc, &max_depth, &native)) return NULL;
    int ok = native ? values_document_native((const uint8_t *)doc.buf, doc.len, max_depth)
                    : values_document_ok((const uint8_t *)doc.buf, doc.len, max_depth);
    PyBuffer_Release(&doc);
    return PyBool_FromLong(ok);
}

static PyObject *test_elements(PyObject *self, PyObject *args) {
    Py_buffer doc;
    if (!PyArg_ParseTuple(args, "y*", &doc)) return NULL;
    if (!document_check((const uint8_t *)doc.buf, doc.len, MAX_DEPTH_CAP, 1, 0)) {
        PyBuffer_Release(&doc);
        PyErr_SetString(PyExc_ValueError, "not a document this core reads");
        return NULL;
    }
    PyObject *result = PyList_New(0);
    const uint8_t *p = (const uint8_t *)doc.buf + 4;
    bson_element e;
    uint8_t key[256];
    while (result != NULL && (p = values_next_element(p, &e)) != NULL) {
        Py_ssize_t klen = values_canonical_key(&e, key, sizeof key);
        uint32_t hash = 0;
        int hashed = values_stable_hash(&e, &hash);
        PyObject *item = Py_BuildValue(
            "(is#isNN)", (int)e.type, e.key, e.key_len, (int)values_kind(&e), values_type_name(&e),
            klen < 0 ? Py_NewRef(Py_None) : PyBytes_FromStringAndSize((const char *)key, klen),
            hashed < 0 ? Py_NewRef(Py_None) : PyLong_FromUnsignedLong(hash));
        if (item == NULL || PyList_Append(result, item) < 0) { Py_XDECREF(item); Py_CLEAR(result); break; }
        Py_DECREF(item);
    }
    PyBuffer_Release(&doc);
    return result;
}

static PyObject *test_compare_int_double(PyObject *self, PyObject *args) {
    long long a;
    double b;
    if (!PyArg_ParseTuple(args, "Ld", &a, &b)) return NULL;
    return PyLong_FromLong(values_compare_int_double((int64_t)a, b));
}

static PyObject *test_histogram(PyObject *self, PyObject *args) {
    PyObject *values;
    if (!PyArg_ParseTuple(args, "O", &values)) return NULL;
    PyObject *seq = PySequence_Fast(values, "values must be a sequence");
    if (seq == NULL) return NULL;
    values_histogram h;
    values_histogram_init(&h);
    PyObject *result = NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned long long v = PyLong_AsUnsignedLongLong(PySequence_Fast_GET_ITEM(seq, i));
        if (v == (unsigned long long)-1 && PyErr_Occurred()) goto done;
        if (values_histogram_add(&h, (uint64_t)v) < 0) goto done;
    }
    result = values_histogram_to_python(&h);
done:
    values_histogram_free(&h);
    Py_DECREF(seq);
    return result;
}

static PyObject *test_crc32(PyObject *self, PyObject *args) {
    Py_buffer data;
    unsigned int start = 0;
    if (!PyArg_ParseTuple(args, "y*|I", &data, &start)) return NULL;
    uint32_t c = values_crc32((const uint8_t *)data.buf, data.len, start);
    PyBuffer_Release(&data);
    return PyLong_FromUnsignedLong(c);
}

static PyObject *test_keyset(PyObject *self, PyObject *args) {
    PyObject *keys;
    if (!PyArg_ParseTuple(args, "O", &keys)) return NULL;
    PyObject *seq = PySequence_Fast(keys, "keys must be a sequence");
    if (seq == NULL) return NULL;
    values_keyset *s = values_keyset_new();
    PyObject *result = NULL;
    if (s == NULL) { Py_DECREF(seq); return NULL; }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    result = PyList_New(n);
    for (Py_ssize_t i = 0; result != NULL && i < n; i++) {
        char *buf;
        Py_ssize_t len;
        if (PyBytes_AsStringAndSize(PySequence_Fast_GET_ITEM(seq, i), &buf, &len) < 0) { Py_CLEAR(result); break; }
        int added = values_keyset_add(s, (const uint8_t *)buf, len);
        if (added < 0) { Py_CLEAR(result); break; }
        PyList_SET_ITEM(result, i, PyBool_FromLong(added));
    }
    PyObject *out = NULL;
    if (result != NULL) out = Py_BuildValue("(Nn)", result, values_keyset_size(s));
    values_keyset_free(s);
    Py_DECREF(seq);
    return out;
}

PyMethodDef values_test_methods[] = {
    {"_test_document_ok", test_document_ok, METH_VARARGS,
     "_test_document_ok(doc, max_depth=100, native=False) -> bool: values_document_ok (native: "
     "values_document_native) over the bytes."},
    {"_test_elements", test_elements, METH_VARARGS,
     "_test_elements(doc) -> [(type, key, kind, type_name, canonical_key|None, stable_hash|None)]."},
    {"_test_compare_int_double", test_compare_int_double, METH_VARARGS,
     "_test_compare_int_double(a, b) -> -1, 0, 1."},
    {"_test_histogram", test_histogram, METH_VARARGS,
     "_test_histogram(values) -> (counts, n, total, min, max) or None."},
    {"_test_crc32", test_crc32, METH_VARARGS, "_test_crc32(data, start=0) -> zlib.crc32."},
    {"_test_keyset", test_keyset, METH_VARARGS,
     "_test_keyset(keys) -> ([added?], size): values_keyset_add of each key in turn."},
    {NULL, NULL, 0, NULL},
};
