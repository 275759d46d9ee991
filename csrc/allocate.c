/* Largest-remainder allocation (the contract is in allocate.h). */
#include <stdlib.h>
#include <string.h>

#include "allocate.h"

/* The order the extra units go in: larger remainder first, the earlier item among equals. */
static inline int dm_rem_before(const dm_rem *a, const dm_rem *b)
{
    return dm_u128_lt(b->rem, a->rem) || (dm_u128_eq(a->rem, b->rem) && a->pos < b->pos);
}

static int dm_rem_cmp(const void *a, const void *b)
{
    return dm_rem_before(a, b) ? -1 : dm_rem_before(b, a);
}

/* units to give up to which dm_allocate selects instead of sorting */
#define DM_SELECT_MAX 16

void dm_allocate(int64_t total, const int64_t *w, int64_t k, int64_t *out, dm_rem *rem)
{
    if (k == 1) { out[0] = total; return; }
    if (total == 0) { memset(out, 0, (size_t)k * sizeof(int64_t)); return; }
    dm_u128 W = dm_u128_of(0);
    for (int64_t j = 0; j < k; j++) W = dm_u128_add(W, dm_u128_of((uint64_t)w[j]));
    int unit = dm_u128_is_zero(W);
    if (unit) W = dm_u128_of((uint64_t)k);
    int64_t given = 0;
    uint64_t W64 = dm_u128_lo(W), p64;
    int narrow = dm_u128_hi(W) == 0;
    for (int64_t j = 0; j < k; j++) {
        uint64_t wj = (uint64_t)(unit ? 1 : w[j]);
        if (narrow && !dm_mul_u64((uint64_t)total, wj, &p64)) {
            /* the common case: everything in 64 bits */
            uint64_t q = p64 / W64;
            out[j] = (int64_t)q;
            rem[j].rem = dm_u128_of(p64 - q * W64);
        } else {
            out[j] = (int64_t)dm_u128_lo(dm_u128_divmod(dm_mul64((uint64_t)total, wj), W, &rem[j].rem));
        }
        rem[j].pos = j;
        given += out[j];
    }
    int64_t left = total - given; /* < k */
    if (left <= DM_SELECT_MAX) {
        /* a few to give (all real parcels): a partial selection sort, O(left * k) */
        for (int64_t s = 0; s < left; s++) {
            int64_t best = s;
            for (int64_t j = s + 1; j < k; j++)
                if (dm_rem_before(&rem[j], &rem[best])) best = j;
            dm_rem t = rem[s]; rem[s] = rem[best]; rem[best] = t;
            out[rem[s].pos] += 1;
        }
    } else {
        /* many: sort by the same order, O(k log k), so that a consignment of
         * 10^5 items takes milliseconds, not a minute */
        qsort(rem, (size_t)k, sizeof(dm_rem), dm_rem_cmp);
        for (int64_t s = 0; s < left; s++) out[rem[s].pos] += 1;
    }
}
