/* values.h: what the native inference core knows of one BSON value, without making a Python object.
 *
 * Shared by walker.c (the column walk, a port of shape/infer.py) and values.c (this API). Every
 * function here must agree exactly with the pure-Python reference it names: the native engine is
 * only allowed to differ from the Python one in speed. Where a value is outside what a function can
 * answer exactly, it says so (returns -1 / KIND_PYTHON) and the caller hands the value to Python.
 */
#ifndef NOSQL_ADVISOR_VALUES_H
#define NOSQL_ADVISOR_VALUES_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

/* The Python type PyMongo's decoder (sources/base.py CODEC_OPTIONS: DATETIME_AUTO, tz_aware off)
 * plus sources/legacy_types.py give a value: the walk buckets values by it (infer.py `values`,
 * `elements` are dicts keyed by Python type) and orders buckets by first filing, as Python does. */
typedef enum {
    KIND_FLOAT,        /* 0x01 double                        -> float */
    KIND_STR,          /* 0x02 string                        -> str */
    KIND_DICT,         /* 0x03 document (not DBRef-shaped)   -> dict (OBJECT_TYPES) */
    KIND_LIST,         /* 0x04 array                         -> list */
    KIND_BYTES,        /* 0x05 binary subtype 0              -> bytes */
    KIND_BINARY,       /* 0x05 binary other subtypes         -> bson.Binary */
    KIND_UNDEFINED,    /* 0x06                               -> bsontypes.Undefined (legacy_types) */
    KIND_OID,          /* 0x07                               -> ObjectId */
    KIND_BOOL,         /* 0x08                               -> bool */
    KIND_DATETIME,     /* 0x09 within datetime's range       -> datetime (naive) */
    KIND_DATETIME_MS,  /* 0x09 outside it                    -> bson.DatetimeMS */
    KIND_NONE,         /* 0x0A                               -> NoneType */
    KIND_REGEX,        /* 0x0B                               -> bson.Regex */
    KIND_DBPOINTER,    /* 0x0C                               -> bsontypes.DBPointer (legacy_types) */
    KIND_CODE,         /* 0x0D and 0x0F                      -> bson.Code */
    KIND_SYMBOL,       /* 0x0E                               -> bsontypes.Symbol (legacy_types) */
    KIND_INT,          /* 0x10 int32                         -> int */
    KIND_TIMESTAMP,    /* 0x11                               -> bson.Timestamp */
    KIND_INT64,        /* 0x12                               -> bson.Int64 */
    KIND_DECIMAL,      /* 0x13                               -> bson.Decimal128 */
    KIND_MINKEY,       /* 0xFF                               -> bson.MinKey */
    KIND_MAXKEY,       /* 0x7F                               -> bson.MaxKey */
    KIND_DBREF,        /* 0x03 with "$ref" and "$id" keys    -> bson.DBRef (decided by Python) */
    KIND_COUNT
} value_kind;

/* One element of a document, as the walker has framed it (pointers into the caller's buffer). */
typedef struct {
    uint8_t type;           /* the BSON type byte */
    const char *key;        /* the key's UTF-8 bytes (not NUL-terminated in this struct's view) */
    Py_ssize_t key_len;
    const uint8_t *value;   /* the first byte of the value */
    Py_ssize_t value_len;   /* the bytes of the value (for documents/arrays: the whole embedded doc) */
} bson_element;

/* -- structure ---------------------------------------------------------------------------------- */

/* 1 when `doc` (its int32 length prefix first, `avail` bytes available) is a document that
 * `bson.decode(doc, CODEC_OPTIONS)` decodes, and whose every value this core reads exactly: framing,
 * NUL terminators, UTF-8 of keys and strings (strict, as bson's C decoder), booleans 0/1, string
 * lengths, code-with-scope lengths, binary subtype 2's inner length, nesting at most `max_depth`
 * levels. 0 when not (the caller then lets Python decode the document: it reports the problem, or
 * reads a document this core refuses to read). Never reads past `avail`. */
int values_document_ok(const uint8_t *doc, Py_ssize_t avail, int max_depth);

/* The walker's narrower acceptance, in the same one pass: what values_document_ok accepts, and
 * moreover every value of a kind the walker reads itself (double, string, document, array, binary
 * subtypes 0, 1, 3-7 and 0x80 up, ObjectId, bool, datetime within datetime's range, null, int32,
 * int64, Decimal128) and no "$ref" key in any document, the top level included. */
int values_document_native(const uint8_t *doc, Py_ssize_t avail, int max_depth);

/* Frame the next element at `p` (inside a document already checked by values_document_ok).
 * Returns a pointer past the element, or NULL at the document's terminating NUL. */
const uint8_t *values_next_element(const uint8_t *p, bson_element *out);

/* The kind of a framed element (DBRef-shaped documents: KIND_DBREF when the subdocument holds a
 * "$ref" key: the caller lets Python decode it and takes the Python type it gets). */
value_kind values_kind(const bson_element *e);

/* The BSON type name infer.py counts the value under (bsontypes.TYPE_NAMES, and int/long and
 * javascript/javascriptWithScope by the type byte): "double", "string", ..., "maxKey". For
 * KIND_DBREF: "object". */
const char *values_type_name(const bson_element *e);

/* -- equality and the stable hash (shape/stats.py) ------------------------------------------- */

/* A canonical key for the value such that two values have equal keys if and only if Python's
 * `==` (and hash) holds them equal as decoded: int/Int64/bool/float of one numeric value share one
 * key (1, Int64(1), True, 1.0), -0.0 == 0; str by its bytes; ObjectId by its 12 bytes; naive
 * datetimes by their milliseconds; Decimal128 by its 16 bytes (infer.py replaces Decimal128 by
 * its (high, low) bit pair before the sketch); bytes by their bytes; Binary by (subtype, bytes); None one key. Writes at most
 * `cap` bytes to `out` and returns the key's length, or -1 when the value has no such key here
 * (NaN: every decoded NaN is a distinct object; and every KIND_PYTHON-like kind: Symbol, Code,
 * Binary of subtype 2, Regex, Timestamp, MinKey, MaxKey, DBRef, DBPointer, Undefined, DatetimeMS, or a key longer
 * than `cap`): the caller then hands the value itself to Python. */
Py_ssize_t values_canonical_key(const bson_element *e, uint8_t *out, Py_ssize_t cap);

/* `stats.stable_hash` of the value as Python decodes it (for Decimal128: of its (high, low) tuple,
 * as infer.py hashes it): 0 and *out set, or -1 when not computed here (the caller hands the value to
 * Python). Must equal Python bit for bit: crc32 of the UTF-8 of a str; of the 12 bytes of an
 * ObjectId; of repr() for int, Int64, float (repr's shortest form), bool, None, bytes; for datetime
 * the crc32 of the 8 little-endian bytes of hash(timedelta since the epoch) & (2**64-1); for the
 * Decimal128 pair the same of hash((high, low)). */
int values_stable_hash(const bson_element *e, uint32_t *out);

/* zlib.crc32 */
uint32_t values_crc32(const uint8_t *data, Py_ssize_t len, uint32_t start);

/* -- numbers ---------------------------------------------------------------------------------- */

/* -1, 0, 1 as Python compares int `a` with float `b` (exactly, as Python does: 2**53+1 > 2.0**53).
 * `b` is never NaN here. */
int values_compare_int_double(int64_t a, double b);

/* -- histograms (shape/stats.py Histogram) --------------------------------------------------- */

typedef struct {
    uint64_t exact[1024];      /* counts of values under 1024 */
    /* counts of bucketed values (10 significant bits: stats._bucket), a small open-addressed map */
    uint64_t *bucket_keys;
    uint64_t *bucket_counts;
    Py_ssize_t bucket_used, bucket_cap;
    uint64_t n;
    uint64_t total_lo, total_hi; /* a 128-bit sum: Python's is unbounded */
    uint64_t min, max;
} values_histogram;

void values_histogram_init(values_histogram *h);
int values_histogram_add(values_histogram *h, uint64_t value);  /* 0, or -1 (MemoryError set) */
void values_histogram_clear(values_histogram *h);               /* empty again, memory kept */
void values_histogram_free(values_histogram *h);
/* (counts: dict int -> int, n, total, min, max), or None when empty; new reference. Histogram.merge
 * of that into a Python Histogram gives what add_many of the same values gives. */
PyObject *values_histogram_to_python(const values_histogram *h);

/* -- a set of canonical keys (the exact phase of the distinct sketch, per chunk dedup) ------------ */

typedef struct values_keyset values_keyset;
values_keyset *values_keyset_new(void);
int values_keyset_add(values_keyset *s, const uint8_t *key, Py_ssize_t len); /* 1 new, 0 held, -1 error */
Py_ssize_t values_keyset_size(const values_keyset *s);
void values_keyset_clear(values_keyset *s);
void values_keyset_free(values_keyset *s);

/* The module's test hooks (values.c defines them; module.c adds them to the method table):
 *   _test_document_ok(doc: bytes, max_depth: int) -> bool
 *   _test_elements(doc: bytes) -> list of (type, key, kind, type_name, canonical_key|None, stable_hash|None)
 *   _test_compare_int_double(a: int, b: float) -> int
 *   _test_histogram(values: list[int]) -> the values_histogram_to_python tuple
 *   _test_crc32(data: bytes, start: int) -> int
 */
extern PyMethodDef values_test_methods[];

#endif
