/* Encoding helpers for engine.prepare: string ids and codes -> integer columns.
 *
 * dm_factorize_col: codes in order of first appearance and the first row of
 *   each code, for an Arrow string/binary column (32- or 64-bit offsets,
 *   validity bitmap, slice offset) or a fixed-width one (Arrow primitives,
 *   numpy integers and fixed-width strings).  Null is a value of its own, at
 *   its first appearance (Arrow's dictionary_encode with null_encoding="encode").
 *   Two things make it fast on item tables:
 *   - runs: a row equal to the previous row takes its code without hashing
 *     (the items of a consignment are adjacent);
 *   - memory-level parallelism: run heads are hashed in blocks and their hash
 *     slots prefetched before any is probed, so the cache misses of a large
 *     table (millions of consignment ids) overlap instead of queueing.
 *   The table holds 8-byte slots (a 32-bit tag of the hash and the code + 1);
 *   a tag match is confirmed by comparing the bytes of the code's first row.
 * dm_first_inconsistent: the first row whose value differs from the value of
 *   its consignment's first row (consignment-level columns).
 * dm_factorize_pair: codes of (a, b) pairs in order of first appearance
 *   through a dense table (small cardinalities: tariff code x origin...).
 *
 * Every function checks its indices and offsets (DM_ENC_INVALID, never an
 * out-of-bounds read) and its allocations (DM_ENC_NOMEM); none needs the GIL.
 */
#ifndef DM_ENCODE_H
#define DM_ENCODE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DM_ENC_NOMEM (-1)
#define DM_ENC_INVALID (-2)

#if defined(__GNUC__) || defined(__clang__)
#define DM_PREFETCH(p) __builtin_prefetch((const void *)(p), 1, 3)
#else
#define DM_PREFETCH(p) ((void)0)
#endif

/* One column.  Row i (0 <= i < n) is at position offset + i of the buffers:
 * variable width (off32 or off64 set): bytes [off[j], off[j + 1]) of data;
 * fixed width (both NULL): bytes [j * width, (j + 1) * width) of data.
 * validity: Arrow's bitmap (bit j set = row present) or NULL (no nulls). */
typedef struct {
    const uint8_t *validity;
    const int32_t *off32;
    const int64_t *off64;
    const uint8_t *data;
    int64_t data_len; /* bytes readable at data */
    int64_t width;    /* fixed width in bytes (> 0) when off32 and off64 are NULL */
    int64_t offset;
    int64_t n;
} dm_col;

static inline int dm_col_valid(const dm_col *c, int64_t i)
{
    int64_t b;
    if (!c->validity) return 1;
    b = c->offset + i;
    return (c->validity[b >> 3] >> (b & 7)) & 1;
}

/* Start and length of row i; 0 when the offsets point outside the data. */
static inline int dm_col_span(const dm_col *c, int64_t i, int64_t *start, int64_t *len)
{
    int64_t j = c->offset + i, s, e;
    if (c->off64) {
        s = c->off64[j];
        e = c->off64[j + 1];
    } else if (c->off32) {
        s = c->off32[j];
        e = c->off32[j + 1];
    } else {
        s = j * c->width;
        e = s + c->width;
    }
    if (s < 0 || e < s || e > c->data_len) return 0;
    *start = s;
    *len = e - s;
    return 1;
}

static inline uint64_t dm_enc_mix(uint64_t h, uint64_t v)
{
    h ^= v;
    h *= 0xBF58476D1CE4E5B9ULL;
    return h ^ (h >> 31);
}

static inline uint64_t dm_enc_word(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* A row's key: its length and two words that, for len <= 16, determine its
 * bytes (the first and the last 8 bytes, or a packing of shorter rows); longer
 * rows also compare the words in between, read from the data. */
typedef struct { uint64_t a, b, h; int64_t len; } dm_enc_key;

static inline void dm_enc_load(const uint8_t *p, int64_t len, uint64_t *a, uint64_t *b)
{
    if (len >= 8) {
        *a = dm_enc_word(p);
        *b = dm_enc_word(p + len - 8);
    } else if (len >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + len - 4, 4);
        *a = (uint64_t)lo | ((uint64_t)hi << 32);
        *b = 0;
    } else {
        *a = len ? ((uint64_t)p[0] << 16) | ((uint64_t)p[len >> 1] << 8) | (uint64_t)p[len - 1] : 0;
        *b = 0;
    }
}

/* The words between the first and the last 8 bytes of two rows of len > 16 bytes. */
static inline int dm_enc_middle_equal(const uint8_t *p, const uint8_t *q, int64_t len)
{
    for (int64_t k = 8; k < len - 8; k += 8)
        if (dm_enc_word(p + k) != dm_enc_word(q + k)) return 0;
    return 1;
}

static inline uint64_t dm_enc_hash(const uint8_t *p, int64_t len, uint64_t a, uint64_t b)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)len * 0xD6E8FEB86659FD93ULL);
    h = dm_enc_mix(h, a);
    if (len > 16)
        for (int64_t k = 8; k < len - 8; k += 8) h = dm_enc_mix(h, dm_enc_word(p + k));
    h = dm_enc_mix(h, b ^ 0x94D049BB133111EBULL);
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ULL;
    return h ^ (h >> 29);
}

typedef struct { uint32_t tag; uint32_t id1; } dm_enc_slot; /* id1 = code + 1; 0 = empty */

typedef struct {
    dm_enc_slot *slots;
    dm_enc_key *keys; /* key of each code (unused for the null code) */
    int64_t cap;      /* power of two; codes <= cap / 2 */
    int64_t distinct; /* codes handed out, the null code included */
    int64_t null_code;
} dm_enc_table;

static void dm_enc_table_free(dm_enc_table *t)
{
    free(t->slots);
    free(t->keys);
    t->slots = NULL;
    t->keys = NULL;
}

static inline void dm_enc_place(dm_enc_slot *slots, int64_t mask, uint64_t h, int64_t code)
{
    int64_t s = (int64_t)(h & (uint64_t)mask);
    while (slots[s].id1) s = (s + 1) & mask;
    slots[s].tag = (uint32_t)(h >> 32);
    slots[s].id1 = (uint32_t)(code + 1);
}

static int dm_enc_table_resize(dm_enc_table *t, int64_t cap)
{
    dm_enc_slot *slots = calloc((size_t)cap, sizeof(dm_enc_slot));
    dm_enc_key *keys = realloc(t->keys, (size_t)(cap / 2 + 1) * sizeof(dm_enc_key));
    if (!slots || !keys) {
        free(slots);
        if (keys) t->keys = keys;
        return 0;
    }
    t->keys = keys;
    for (int64_t k = 0; k < t->distinct; k++)
        if (k != t->null_code) dm_enc_place(slots, cap - 1, keys[k].h, k);
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 1;
}

/* The code of a present row (key k, bytes at data + s): an existing one or a
 * new one with first[code] = row.  Negative on error. */
static inline int64_t dm_enc_lookup(dm_enc_table *t, const dm_col *c, const dm_enc_key *k, int64_t s,
                                    int64_t row, int64_t *first)
{
    uint32_t tag = (uint32_t)(k->h >> 32);
    int64_t mask, slot;
    if ((t->distinct + 1) * 2 > t->cap && !dm_enc_table_resize(t, t->cap * 2)) return DM_ENC_NOMEM;
    mask = t->cap - 1;
    slot = (int64_t)(k->h & (uint64_t)mask);
    for (;;) {
        dm_enc_slot *e = &t->slots[slot];
        if (!e->id1) {
            int64_t code = t->distinct++;
            e->tag = tag;
            e->id1 = (uint32_t)(code + 1);
            t->keys[code] = *k;
            first[code] = row;
            return code;
        }
        if (e->tag == tag) {
            int64_t code = (int64_t)e->id1 - 1;
            const dm_enc_key *o = &t->keys[code];
            if (o->len == k->len && o->a == k->a && o->b == k->b) {
                int64_t s2, len2;
                if (k->len <= 16) return code;
                if (!dm_col_span(c, first[code], &s2, &len2) || len2 != k->len) return DM_ENC_INVALID;
                if (dm_enc_middle_equal(c->data + s2, c->data + s, k->len)) return code;
            }
        }
        slot = (slot + 1) & mask;
    }
}

#define DM_ENC_BLOCK 16
/* distinct values up to which every row is hashed (no run test) */
#define DM_ENC_DIRECT_MAX 4096

/* codes64 or codes32 (the other NULL) receives the n codes; first needs room
 * for n entries.  Returns the number of distinct values or DM_ENC_*.  At most
 * 2^32 - 2 distinct values (the caller keeps n below that). */
static int64_t dm_factorize_col(const dm_col *c, int64_t *codes64, int32_t *codes32, int64_t *first)
{
    dm_enc_table t;
    dm_enc_key keys[DM_ENC_BLOCK], prev;
    int64_t heads[DM_ENC_BLOCK], starts[DM_ENC_BLOCK];
    int valid[DM_ENC_BLOCK];
    int64_t n = c->n, i = 0, ps = 0;
    int pvalid = 0;
    t.slots = NULL;
    t.keys = NULL;
    t.cap = 0;
    t.distinct = 0;
    t.null_code = -1;
    prev.a = prev.b = prev.h = 0;
    prev.len = -1;
    if (!dm_enc_table_resize(&t, 1024)) {
        dm_enc_table_free(&t);
        return DM_ENC_NOMEM;
    }
    /* While the table is small it stays in cache and a lookup costs less than
     * the mispredicted branch of a run test: hash every row. */
    for (; i < n && t.distinct <= DM_ENC_DIRECT_MAX; i++) {
        int v = dm_col_valid(c, i);
        int64_t code, s = 0;
        pvalid = v;
        if (v) {
            if (!dm_col_span(c, i, &s, &prev.len)) {
                dm_enc_table_free(&t);
                return DM_ENC_INVALID;
            }
            dm_enc_load(c->data + s, prev.len, &prev.a, &prev.b);
            prev.h = dm_enc_hash(c->data + s, prev.len, prev.a, prev.b);
            ps = s;
            code = dm_enc_lookup(&t, c, &prev, s, i, first);
            if (code < 0) {
                dm_enc_table_free(&t);
                return code;
            }
        } else {
            if (t.null_code < 0) {
                if ((t.distinct + 1) * 2 > t.cap && !dm_enc_table_resize(&t, t.cap * 2)) {
                    dm_enc_table_free(&t);
                    return DM_ENC_NOMEM;
                }
                t.null_code = t.distinct++;
                first[t.null_code] = i;
            }
            code = t.null_code;
        }
        if (codes64)
            codes64[i] = code;
        else
            codes32[i] = (int32_t)code;
    }
    /* every block starts with a head: forget the last row of the direct pass */
    pvalid = 1;
    prev.len = -1;
    while (i < n) {
        /* gather up to DM_ENC_BLOCK run heads, hash them and prefetch their slots */
        int m = 0;
        int64_t j = i;
        for (; j < n; j++) {
            int v = dm_col_valid(c, j);
            int64_t s = 0, len = 0;
            uint64_t a = 0, b = 0;
            if (v) {
                if (!dm_col_span(c, j, &s, &len)) {
                    dm_enc_table_free(&t);
                    return DM_ENC_INVALID;
                }
                dm_enc_load(c->data + s, len, &a, &b);
            }
            if (j > 0 && v == pvalid
                && (!v || (len == prev.len && a == prev.a && b == prev.b
                           && (len <= 16 || dm_enc_middle_equal(c->data + s, c->data + ps, len)))))
                continue; /* same value as the previous row */
            if (m == DM_ENC_BLOCK) break; /* row j heads the next block */
            heads[m] = j;
            valid[m] = v;
            starts[m] = s;
            pvalid = v;
            ps = s;
            prev.len = len;
            prev.a = a;
            prev.b = b;
            if (v) {
                prev.h = dm_enc_hash(c->data + s, len, a, b);
                keys[m] = prev;
                DM_PREFETCH(&t.slots[prev.h & (uint64_t)(t.cap - 1)]);
            }
            m++;
        }
        /* resolve the heads in order; each head's code covers its run */
        for (int k = 0; k < m; k++) {
            int64_t code, end = k + 1 < m ? heads[k + 1] : j;
            if (!valid[k]) {
                if (t.null_code < 0) {
                    if ((t.distinct + 1) * 2 > t.cap && !dm_enc_table_resize(&t, t.cap * 2)) {
                        dm_enc_table_free(&t);
                        return DM_ENC_NOMEM;
                    }
                    t.null_code = t.distinct++;
                    first[t.null_code] = heads[k];
                }
                code = t.null_code;
            } else {
                code = dm_enc_lookup(&t, c, &keys[k], starts[k], heads[k], first);
                if (code < 0) {
                    dm_enc_table_free(&t);
                    return code;
                }
            }
            if (codes64)
                for (int64_t r = heads[k]; r < end; r++) codes64[r] = code;
            else
                for (int64_t r = heads[k]; r < end; r++) codes32[r] = (int32_t)code;
        }
        i = j;
    }
    dm_enc_table_free(&t);
    return t.distinct;
}

/* The first row i whose width-byte value differs from that of row
 * first[cons[i]]; -1 when every consignment agrees, DM_ENC_INVALID when cons
 * or first point outside [0, n_cons) or [0, n). */
static int64_t dm_first_inconsistent(const uint8_t *vals, int64_t width, int64_t n, const int64_t *cons,
                                     int64_t n_cons, const int64_t *first)
{
#define DM_ENC_CHECK_LOOP(EQUAL)                                                   \
    for (int64_t i = 0; i < n; i++) {                                              \
        int64_t cc = cons[i], r;                                                   \
        if (cc < 0 || cc >= n_cons) return DM_ENC_INVALID;                        \
        r = first[cc];                                                             \
        if (r < 0 || r >= n) return DM_ENC_INVALID;                                \
        if (!(EQUAL)) return i;                                                    \
    }
    if (width == 1) {
        DM_ENC_CHECK_LOOP(vals[i] == vals[r])
    } else if (width == 4) {
        const int32_t *v = (const int32_t *)vals;
        DM_ENC_CHECK_LOOP(v[i] == v[r])
    } else if (width == 8) {
        const int64_t *v = (const int64_t *)vals;
        DM_ENC_CHECK_LOOP(v[i] == v[r])
    } else {
        DM_ENC_CHECK_LOOP(memcmp(vals + i * width, vals + r * width, (size_t)width) == 0)
    }
#undef DM_ENC_CHECK_LOOP
    return -1;
}

/* codes[i] = code of the pair (a[i], bmap ? bmap[b[i]] : b[i]) in order of
 * first appearance, through a dense table of na * nb entries (the caller keeps
 * it small); keys[code] = a * nb + b of that pair (room for min(n, na * nb)).
 * Returns the number of pairs or DM_ENC_* (a value out of range is INVALID). */
static int64_t dm_factorize_pair(const int32_t *a, const int32_t *b, const int32_t *bmap, int64_t n_bmap,
                                 int64_t n, int64_t na, int64_t nb, int32_t *codes, int64_t *keys)
{
    int64_t distinct = 0, prev = -1;
    int32_t prev_code = 0;
    int32_t *table;
    if (na <= 0 || nb <= 0 || na > INT64_MAX / nb) return n ? DM_ENC_INVALID : 0;
    table = calloc((size_t)(na * nb), sizeof(int32_t)); /* code + 1; 0 = not seen */
    if (!table) return DM_ENC_NOMEM;
    for (int64_t i = 0; i < n; i++) {
        int64_t x = a[i], y = b[i], key;
        if (bmap) {
            if (y < 0 || y >= n_bmap) { free(table); return DM_ENC_INVALID; }
            y = bmap[y];
        }
        if (x < 0 || x >= na || y < 0 || y >= nb) { free(table); return DM_ENC_INVALID; }
        key = x * nb + y;
        if (key == prev) {
            codes[i] = prev_code;
            continue;
        }
        if (!table[key]) {
            if (distinct >= INT32_MAX) { free(table); return DM_ENC_INVALID; }
            keys[distinct] = key;
            table[key] = (int32_t)(++distinct);
        }
        prev = key;
        prev_code = table[key] - 1;
        codes[i] = prev_code;
    }
    free(table);
    return distinct;
}

#endif /* DM_ENCODE_H */
