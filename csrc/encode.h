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
 * dm_first_bad_row: the first row of a caller's Arrow string or binary column
 *   whose offsets run backwards or outside the data, and whether its bytes are
 *   all ASCII: checked before any Arrow kernel reads the column.
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
typedef struct { uint64_t a, b; int64_t len; } dm_enc_key;

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

/* p is read only for len > 16 (the middle words). */
static inline uint64_t dm_enc_hash(const uint8_t *p, int64_t len, uint64_t a, uint64_t b)
{
    uint64_t h;
    if (len <= 16) { /* short rows (codes, currencies, countries): two independent multiplies */
        h = (a ^ 0x9E3779B97F4A7C15ULL) * 0xBF58476D1CE4E5B9ULL;
        h ^= ((b + (uint64_t)len) ^ 0xD6E8FEB86659FD93ULL) * 0x94D049BB133111EBULL;
        return h ^ (h >> 29) ^ (h >> 47);
    }
    h = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)len * 0xD6E8FEB86659FD93ULL);
    h = dm_enc_mix(h, a);
    for (int64_t k = 8; k < len - 8; k += 8) h = dm_enc_mix(h, dm_enc_word(p + k));
    h = dm_enc_mix(h, b ^ 0x94D049BB133111EBULL);
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ULL;
    return h ^ (h >> 29);
}

/* codes a table of cap slots holds: a load of 3/4 keeps linear probing within
 * a cache line or two (8 slots per line), and halves the table of millions of
 * consignment ids against a load of 1/2 */
#define DM_ENC_ROOM(cap) ((cap) / 4 * 3)

typedef struct { uint32_t tag; uint32_t id1; } dm_enc_slot; /* id1 = code + 1; 0 = empty */

typedef struct {
    dm_enc_slot *slots;
    dm_enc_key *keys; /* key of each code (unused for the null code) */
    int64_t cap;      /* power of two; codes <= DM_ENC_ROOM(cap) */
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

/* Room for more codes: cap slots, the codes' hashes recomputed from their keys
 * (and, past 16 bytes, from their first rows).  0 when memory runs out. */
static int dm_enc_table_resize(dm_enc_table *t, const dm_col *c, const int64_t *first, int64_t cap)
{
    int64_t mask = cap - 1;
    dm_enc_slot *slots = calloc((size_t)cap, sizeof(dm_enc_slot));
    dm_enc_key *keys = realloc(t->keys, (size_t)(DM_ENC_ROOM(cap) + 1) * sizeof(dm_enc_key));
    if (!slots || !keys) {
        free(slots);
        if (keys) t->keys = keys;
        return 0;
    }
    t->keys = keys;
    for (int64_t k = 0; k < t->distinct; k++) {
        int64_t s = 0, len = 0, slot;
        uint64_t h;
        if (k == t->null_code) continue;
        if (keys[k].len > 16) dm_col_span(c, first[k], &s, &len); /* checked when the code was made */
        h = dm_enc_hash(c->data + s, keys[k].len, keys[k].a, keys[k].b);
        slot = (int64_t)(h & (uint64_t)mask);
        while (slots[slot].id1) slot = (slot + 1) & mask;
        slots[slot].tag = (uint32_t)(h >> 32);
        slots[slot].id1 = (uint32_t)(k + 1);
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 1;
}

/* The code of a present row (key k, hash h, bytes at data + s): an existing
 * one or a new one with first[code] = row.  Negative on error. */
static inline int64_t dm_enc_lookup(dm_enc_table *t, const dm_col *c, const dm_enc_key *k, uint64_t h,
                                    int64_t s, int64_t row, int64_t *first)
{
    uint32_t tag = (uint32_t)(h >> 32);
    int64_t mask, slot;
    if (t->distinct + 1 > DM_ENC_ROOM(t->cap) && !dm_enc_table_resize(t, c, first, t->cap * 2))
        return DM_ENC_NOMEM;
    mask = t->cap - 1;
    slot = (int64_t)(h & (uint64_t)mask);
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

static inline int64_t dm_enc_null_code(dm_enc_table *t, const dm_col *c, int64_t row, int64_t *first)
{
    if (t->null_code < 0) {
        if (t->distinct + 1 > DM_ENC_ROOM(t->cap) && !dm_enc_table_resize(t, c, first, t->cap * 2))
            return DM_ENC_NOMEM;
        t->null_code = t->distinct++;
        first[t->null_code] = row;
    }
    return t->null_code;
}

/* distinct values up to which every row is hashed (no run test) */
#define DM_ENC_DIRECT_MAX 4096
/* run heads hashed and prefetched ahead of the one being probed */
#define DM_ENC_AHEAD 24
#define DM_ENC_QUEUE 32 /* power of two > DM_ENC_AHEAD */

/* codes64 or codes32 (the other NULL) receives the n codes; first needs room
 * for n entries.  Returns the number of distinct values or DM_ENC_*.  At most
 * 2^32 - 2 distinct values (the caller keeps n below that). */
static int64_t dm_factorize_col(const dm_col *col, int64_t *codes64, int32_t *codes32, int64_t *first)
{
    const dm_col cc = *col, *c = &cc; /* a local copy: the stores below cannot alias it */
    dm_enc_table t;
    /* queue of run heads: row, hash, key, start of the bytes, present or null */
    int64_t q_row[DM_ENC_QUEUE], q_start[DM_ENC_QUEUE];
    uint64_t q_h[DM_ENC_QUEUE];
    dm_enc_key q_key[DM_ENC_QUEUE];
    int q_valid[DM_ENC_QUEUE];
    int64_t q_head = 0, q_tail = 0; /* entries q_head .. q_tail - 1 (mod DM_ENC_QUEUE) */
    int64_t n = c->n, i = 0, status = 0;
    dm_enc_key prev;
    int64_t ps = 0;
    int pvalid = 0;
    t.slots = NULL;
    t.keys = NULL;
    t.cap = 0;
    t.distinct = 0;
    t.null_code = -1;
    prev.a = prev.b = 0;
    prev.len = -1;
    if (!dm_enc_table_resize(&t, c, first, 1024)) {
        dm_enc_table_free(&t);
        return DM_ENC_NOMEM;
    }
    /* While the table is small it stays in cache and a lookup costs less than
     * the mispredicted branch of a run test: hash every row. */
    for (; i < n && t.distinct <= DM_ENC_DIRECT_MAX; i++) {
        int64_t code, s = 0;
        dm_enc_key k;
        if (dm_col_valid(c, i)) {
            if (!dm_col_span(c, i, &s, &k.len)) {
                status = DM_ENC_INVALID;
                goto done;
            }
            dm_enc_load(c->data + s, k.len, &k.a, &k.b);
            code = dm_enc_lookup(&t, c, &k, dm_enc_hash(c->data + s, k.len, k.a, k.b), s, i, first);
        } else {
            code = dm_enc_null_code(&t, c, i, first);
        }
        if (code < 0) {
            status = code;
            goto done;
        }
        if (codes64)
            codes64[i] = code;
        else
            codes32[i] = (int32_t)code;
    }
    if (i < n && i > 0) {
        /* Many distinct values: size the table once for as many as the rows seen
         * so far suggest (at most one per row), instead of doubling and rehashing
         * (a rehash of millions of slots is as slow as the pass itself). */
        int64_t estimate = t.distinct * (n / i + 1), cap = t.cap;
        if (estimate > n) estimate = n;
        while (DM_ENC_ROOM(cap) < estimate + 1) cap *= 2;
        if (cap > t.cap && !dm_enc_table_resize(&t, c, first, cap)) {
            status = DM_ENC_NOMEM;
            goto done;
        }
    }
    /* Runs: a row equal to the previous one takes its code.  Run heads are
     * hashed and their slots prefetched DM_ENC_AHEAD heads before they are
     * probed, so that the cache misses of a large table overlap. */
    for (int64_t j = i; j <= n; j++) {
        int64_t qn = q_tail - q_head;
        if (j < n) {
            int v = dm_col_valid(c, j);
            int64_t s = 0;
            dm_enc_key k;
            k.a = k.b = 0;
            k.len = 0;
            if (v) {
                if (!dm_col_span(c, j, &s, &k.len)) {
                    status = DM_ENC_INVALID;
                    goto done;
                }
                dm_enc_load(c->data + s, k.len, &k.a, &k.b);
            }
            if (j > i && v == pvalid
                && (!v || (k.len == prev.len && k.a == prev.a && k.b == prev.b
                           && (k.len <= 16 || dm_enc_middle_equal(c->data + s, c->data + ps, k.len)))))
                continue; /* same value as the previous row */
            {
                int64_t e = q_tail & (DM_ENC_QUEUE - 1);
                q_row[e] = j;
                q_start[e] = s;
                q_valid[e] = v;
                q_key[e] = k;
                if (v) {
                    q_h[e] = dm_enc_hash(c->data + s, k.len, k.a, k.b);
                    DM_PREFETCH(&t.slots[q_h[e] & (uint64_t)(t.cap - 1)]);
                }
                q_tail++;
                qn++;
            }
            pvalid = v;
            ps = s;
            prev = k;
            if (qn <= DM_ENC_AHEAD) continue;
        }
        /* probe the oldest head (all of them at the end); its run ends where the next head starts */
        while (qn > (j < n ? DM_ENC_AHEAD : 0)) {
            int64_t e = q_head & (DM_ENC_QUEUE - 1), code, row = q_row[e];
            int64_t end = qn > 1 ? q_row[(q_head + 1) & (DM_ENC_QUEUE - 1)] : n;
            code = q_valid[e] ? dm_enc_lookup(&t, c, &q_key[e], q_h[e], q_start[e], row, first)
                              : dm_enc_null_code(&t, c, row, first);
            if (code < 0) {
                status = code;
                goto done;
            }
            /* runs are short: four stores without a test (the rows past this run
             * are written again by the heads that follow, in order), then the rest */
            if (codes64) {
                int64_t r = row;
                if (row + 4 <= n) {
                    codes64[row] = codes64[row + 1] = codes64[row + 2] = codes64[row + 3] = code;
                    r = row + 4;
                }
                for (; r < end; r++) codes64[r] = code;
            } else {
                int64_t r = row;
                if (row + 4 <= n) {
                    codes32[row] = codes32[row + 1] = codes32[row + 2] = codes32[row + 3] = (int32_t)code;
                    r = row + 4;
                }
                for (; r < end; r++) codes32[r] = (int32_t)code;
            }
            q_head++;
            qn--;
        }
    }
done:
    dm_enc_table_free(&t);
    return status < 0 ? status : t.distinct;
}

/* Is every byte of p[0, len) ASCII?  (words ORed together: a pass at memory speed) */
static int dm_ascii(const uint8_t *p, int64_t len)
{
    uint64_t acc = 0;
    int64_t k = 0;
    for (; k + 8 <= len; k += 8) acc |= dm_enc_word(p + k);
    for (; k < len; k++) acc |= p[k];
    return !(acc & 0x8080808080808080ULL);
}

/* Do the offsets of a variable-width column run forward within [0, data_len]?
 * One pass without branches; then every row's span is inside the data. */
static int dm_offsets_sound(const dm_col *c)
{
    int64_t n = c->n, bad = 0;
    if (n == 0) return 1;
    if (c->off64) {
        const int64_t *x = c->off64 + c->offset;
        for (int64_t j = 0; j < n; j++) bad |= x[j + 1] < x[j];
        return !bad && x[0] >= 0 && x[n] <= c->data_len;
    }
    const int32_t *x = c->off32 + c->offset;
    for (int64_t j = 0; j < n; j++) bad |= x[j + 1] < x[j];
    return !bad && x[0] >= 0 && x[n] <= c->data_len;
}

/* The first row of a variable-width column whose offsets run backwards or past
 * the data, or -1 when every row's are sound (null or not: Arrow's kernels read
 * them all); then *ascii says whether the rows' bytes are all ASCII (so valid
 * UTF-8: the common case of ids, codes and amounts). */
static int64_t dm_first_bad_row(const dm_col *c, int *ascii)
{
    int64_t s, len, first, n = c->n;
    *ascii = 0;
    if (!dm_offsets_sound(c)) {
        for (int64_t i = 0; i < n; i++)
            if (!dm_col_span(c, i, &s, &len)) return i;
    }
    if (n == 0) {
        *ascii = 1;
        return -1;
    }
    dm_col_span(c, 0, &first, &len);  /* the rows cover [first, end of the last) in order */
    dm_col_span(c, n - 1, &s, &len);
    *ascii = dm_ascii(c->data + first, s + len - first);
    return -1;
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

/* One pass over the items for the per-item columns the core reads, gathered
 * from the tables per (code, origin) pair and per (destination, VAT category)
 * key.  0, or DM_ENC_INVALID when an index is out of range. */
static int64_t dm_gather_items(int64_t n, const int32_t *pair, int64_t n_pairs, const int32_t *measure_of,
                               const uint16_t *flags_of, const int32_t *flat_of, const int32_t *vkey,
                               int64_t n_vkeys, const int32_t *rate_of, const int32_t *reduced_of,
                               int32_t *measure, uint16_t *flags, int32_t *flat, int32_t *rate,
                               int32_t *reduced)
{
    for (int64_t i = 0; i < n; i++) {
        int64_t p = pair[i], v = vkey[i];
        if (p < 0 || p >= n_pairs || v < 0 || v >= n_vkeys) return DM_ENC_INVALID;
        measure[i] = measure_of[p];
        flags[i] = flags_of[p];
        flat[i] = flat_of[p];
        rate[i] = rate_of[v];
        reduced[i] = reduced_of[v];
    }
    return 0;
}

#endif /* DM_ENCODE_H */
