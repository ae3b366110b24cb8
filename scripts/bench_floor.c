/* The physical floor of shape inference (scripts/bench shape): a bare C walk of a mongodump BSON
 * file that does the least any inference must do per value, and nothing else.
 *
 * Per document it walks every element (bounds checked, as a real reader must), and per element it
 * counts the (path, type) pair in a hash table (dot paths, arrays transparent, as the shape's paths
 * are), sums string lengths and hashes every string value with crc32 (the shape's stable hash).
 * No statistics, no sketches, no Python. It reads the file in 8 MiB chunks (its own peak RSS stays
 * small) and times reading plus walking on the monotonic clock.
 *
 * Build: cc -O2 -o bench_floor bench_floor.c   (no library beyond libc)
 * Usage: bench_floor FILE.bson   -> one JSON line {"docs", "seconds", "pairs", "string_bytes", ...}
 * A path is identified by a 64-bit hash of its parent's hash and its key (collisions are ignored:
 * a floor, not a shape). A damaged record stops the walk with a message and exit status 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* crc32 (zlib's polynomial, the shape's stable hash of a string), slicing by 8 as the core does */
static uint32_t crc_table[8][256];
static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++) crc_table[t][i] = crc_table[0][crc_table[t - 1][i] & 0xFF] ^ (crc_table[t - 1][i] >> 8);
}
static uint32_t hash_string(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    while (n >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
        lo ^= c;
        c = crc_table[7][lo & 0xFF] ^ crc_table[6][(lo >> 8) & 0xFF] ^ crc_table[5][(lo >> 16) & 0xFF]
            ^ crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xFF] ^ crc_table[2][(hi >> 8) & 0xFF]
            ^ crc_table[1][(hi >> 16) & 0xFF] ^ crc_table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--) c = crc_table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

#define SLOTS (1u << 16)
static struct { uint64_t key; uint64_t count; } table[SLOTS];
static uint64_t pairs, string_bytes, values, hash_sum;

static void count_pair(uint64_t path, uint8_t type) {
    uint64_t key = (path ^ ((uint64_t)type * 0x9E3779B97F4A7C15ull)) | 1;  /* 0 marks an empty slot */
    uint32_t slot = (uint32_t)(key ^ (key >> 29)) & (SLOTS - 1);
    while (table[slot].key && table[slot].key != key) slot = (slot + 1) & (SLOTS - 1);
    if (!table[slot].key) { table[slot].key = key; pairs++; }
    table[slot].count++;
}

static uint64_t child_path(uint64_t parent, const uint8_t *key, size_t n) {  /* the key, 8 bytes a step */
    uint64_t h = (parent ^ n) * 0x9E3779B97F4A7C15ull;
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, key, 8);
        h = (h ^ word) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
        key += 8;
        n -= 8;
    }
    if (n) {
        uint64_t word = 0;
        memcpy(&word, key, n);
        h = (h ^ word) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
    }
    return h;
}

static int walk(const uint8_t *p, const uint8_t *end, uint64_t path, int in_array, int depth);

static int32_t read_i32(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

/* One string-like value at p (int32 length, bytes, NUL): returns its total size or -1. */
static int64_t string_value(const uint8_t *p, const uint8_t *end) {
    if (end - p < 5) return -1;
    int32_t n = read_i32(p);
    if (n < 1 || n > end - p - 4 || p[4 + n - 1] != 0) return -1;
    string_bytes += (uint64_t)(n - 1);
    hash_sum += hash_string(p + 4, (size_t)(n - 1));
    return 4 + (int64_t)n;
}

/* The elements of one document or array body [p, end) (end points at its trailing NUL). */
static int walk(const uint8_t *p, const uint8_t *end, uint64_t path, int in_array, int depth) {
    if (depth > 200) return -1;
    while (p < end) {
        uint8_t type = *p++;
        const uint8_t *key = p;
        while (p < end && *p) p++;
        if (p >= end) return -1;
        size_t key_len = (size_t)(p - key);
        p++;
        uint64_t here = in_array ? path : child_path(path, key, key_len);
        count_pair(here, type);
        values++;
        int64_t size;
        switch (type) {
        case 0x01: case 0x09: case 0x11: case 0x12: size = 8; break;
        case 0x02: case 0x0D: case 0x0E: size = string_value(p, end); break;
        case 0x03: case 0x04: {
            if (end - p < 5) return -1;
            int32_t n = read_i32(p);
            if (n < 5 || n > end - p || p[n - 1] != 0) return -1;
            if (walk(p + 4, p + n - 1, here, type == 0x04, depth + 1) < 0) return -1;
            size = n;
            break;
        }
        case 0x05: {
            if (end - p < 5) return -1;
            int32_t n = read_i32(p);
            if (n < 0 || n > end - p - 5) return -1;
            size = 5 + (int64_t)n;
            break;
        }
        case 0x06: case 0x0A: case 0xFF: case 0x7F: size = 0; break;
        case 0x07: size = 12; break;
        case 0x08: size = 1; break;
        case 0x0B: {
            const uint8_t *q = p;
            for (int part = 0; part < 2; part++) {
                while (q < end && *q) q++;
                if (q >= end) return -1;
                q++;
            }
            size = q - p;
            break;
        }
        case 0x0C: size = string_value(p, end); if (size >= 0) size += 12; break;
        case 0x0F: {
            if (end - p < 4) return -1;
            int32_t n = read_i32(p);
            if (n < 14 || n > end - p) return -1;
            size = n;
            break;
        }
        case 0x10: size = 4; break;
        case 0x13: size = 16; break;
        default: return -1;
        }
        if (size < 0 || size > end - p) return -1;
        p += size;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: bench_floor FILE.bson\n"); return 2; }
    crc_init();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    FILE *file = fopen(argv[1], "rb");
    if (!file) { perror(argv[1]); return 2; }
    size_t capacity = 8u << 20, have = 0, offset = 0;
    uint8_t *buffer = malloc(capacity);
    uint64_t docs = 0, bytes = 0;
    for (;;) {
        size_t got = fread(buffer + have, 1, capacity - have, file);
        have += got;
        size_t at = 0;
        while (have - at >= 4) {
            int32_t n = read_i32(buffer + at);
            if (n < 5) { fprintf(stderr, "%s: bad record length at byte %zu\n", argv[1], offset + at); return 1; }
            if ((size_t)n > have - at) {
                if ((size_t)n > capacity) { capacity = (size_t)n; buffer = realloc(buffer, capacity); }
                break;
            }
            if (buffer[at + n - 1] != 0 || walk(buffer + at + 4, buffer + at + n - 1, 0, 0, 0) < 0) {
                fprintf(stderr, "%s: damaged record at byte %zu\n", argv[1], offset + at);
                return 1;
            }
            docs++;
            bytes += (uint64_t)n;
            at += (size_t)n;
        }
        memmove(buffer, buffer + at, have - at);
        have -= at;
        offset += at;
        if (got == 0) break;
    }
    fclose(file);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (have) { fprintf(stderr, "%s: %zu bytes of a cut-short record at the end\n", argv[1], have); return 1; }
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("{\"docs\": %llu, \"seconds\": %.6f, \"bytes\": %llu, \"values\": %llu, \"pairs\": %llu, "
           "\"string_bytes\": %llu, \"hash_sum\": %llu}\n", (unsigned long long)docs, seconds,
           (unsigned long long)bytes, (unsigned long long)values, (unsigned long long)pairs,
           (unsigned long long)string_bytes, (unsigned long long)hash_sum);
    return 0;
}
