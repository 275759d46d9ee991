/* Factorize fixed-width rows (integers, fixed-width strings) with an
 * open-addressing hash table: codes in order of first appearance, one pass,
 * no sort.  Used to turn consignment ids, tariff codes, currencies... into
 * small integers once per batch (PERFORMANCE.md: sorting costs ~180 ns/item,
 * hashing a few ns). */
#ifndef DM_FACTORIZE_H
#define DM_FACTORIZE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline uint64_t dm_hash_bytes(const unsigned char *p, int64_t width)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)width;
    int64_t k = 0;
    for (; k + 8 <= width; k += 8) {
        uint64_t v;
        memcpy(&v, p + k, 8);
        h = (h ^ v) * 0xBF58476D1CE4E5B9ULL;
        h ^= h >> 31;
    }
    if (k < width) {
        uint64_t v = 0;
        memcpy(&v, p + k, (size_t)(width - k));
        h = (h ^ v) * 0x94D049BB133111EBULL;
        h ^= h >> 29;
    }
    h *= 0xD6E8FEB86659FD93ULL;
    return h ^ (h >> 32);
}

static inline int dm_rows_equal(const char *a, const char *b, int64_t width)
{
    if (width == 8) {
        uint64_t x, y;
        memcpy(&x, a, 8); memcpy(&y, b, 8);
        return x == y;
    }
    return memcmp(a, b, (size_t)width) == 0;
}

typedef struct { uint64_t hash; int64_t id; } dm_slot; /* id + 1; 0 = empty */

/* codes[i] = id of row i (ids in first-appearance order); first[id] = first row
 * with that id (first must have room for n entries).  Returns the number of
 * distinct rows, or -1 when memory runs out.  A row equal to the previous one
 * (items of a consignment side by side) skips the hash table. */
static int64_t dm_factorize(const char *data, int64_t n, int64_t width, int64_t stride,
                            int64_t *codes, int64_t *first)
{
    int64_t cap = 1024, distinct = 0;
    dm_slot *table = calloc((size_t)cap, sizeof(dm_slot));
    if (!table) return -1;
    for (int64_t i = 0; i < n; i++) {
        const char *row = data + i * stride;
        if (i && dm_rows_equal(row, row - stride, width)) {
            codes[i] = codes[i - 1];
            continue;
        }
        uint64_t h = dm_hash_bytes((const unsigned char *)row, width);
        int64_t mask = cap - 1, slot = (int64_t)(h & (uint64_t)mask);
        for (;;) {
            dm_slot *e = &table[slot];
            if (e->id == 0) {
                e->hash = h;
                e->id = distinct + 1;
                first[distinct] = i;
                codes[i] = distinct++;
                break;
            }
            if (e->hash == h && dm_rows_equal(data + first[e->id - 1] * stride, row, width)) {
                codes[i] = e->id - 1;
                break;
            }
            slot = (slot + 1) & mask;
        }
        if (distinct * 2 > cap) { /* grow and rehash */
            int64_t ncap = cap * 2;
            dm_slot *nt = calloc((size_t)ncap, sizeof(dm_slot));
            if (!nt) { free(table); return -1; }
            for (int64_t k = 0; k < cap; k++) {
                if (!table[k].id) continue;
                int64_t s2 = (int64_t)(table[k].hash & (uint64_t)(ncap - 1));
                while (nt[s2].id) s2 = (s2 + 1) & (ncap - 1);
                nt[s2] = table[k];
            }
            free(table);
            table = nt;
            cap = ncap;
        }
    }
    free(table);
    return distinct;
}

#endif /* DM_FACTORIZE_H */
