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

/* codes[i] = id of row i (ids in first-appearance order); first[id] = first row
 * with that id (first must have room for n entries).  Returns the number of
 * distinct rows, or -1 when memory runs out. */
static int64_t dm_factorize(const char *data, int64_t n, int64_t width, int64_t stride,
                            int64_t *codes, int64_t *first)
{
    int64_t cap = 1024, mask, distinct = 0;
    int64_t *table = calloc((size_t)cap, sizeof(int64_t)); /* id + 1; 0 = empty */
    if (!table) return -1;
    mask = cap - 1;
    for (int64_t i = 0; i < n; i++) {
        const unsigned char *row = (const unsigned char *)data + i * stride;
        uint64_t h = dm_hash_bytes(row, width);
        int64_t slot = (int64_t)(h & (uint64_t)mask);
        for (;;) {
            int64_t e = table[slot];
            if (e == 0) {
                table[slot] = distinct + 1;
                first[distinct] = i;
                codes[i] = distinct++;
                break;
            }
            if (memcmp(data + first[e - 1] * stride, row, (size_t)width) == 0) {
                codes[i] = e - 1;
                break;
            }
            slot = (slot + 1) & mask;
        }
        if (distinct * 2 > cap) { /* grow and rehash */
            int64_t ncap = cap * 2;
            int64_t *nt = calloc((size_t)ncap, sizeof(int64_t));
            if (!nt) { free(table); return -1; }
            for (int64_t id = 0; id < distinct; id++) {
                const unsigned char *r = (const unsigned char *)data + first[id] * stride;
                int64_t s = (int64_t)(dm_hash_bytes(r, width) & (uint64_t)(ncap - 1));
                while (nt[s]) s = (s + 1) & (ncap - 1);
                nt[s] = id + 1;
            }
            free(table);
            table = nt;
            cap = ncap;
            mask = cap - 1;
        }
    }
    free(table);
    return distinct;
}

#endif /* DM_FACTORIZE_H */
