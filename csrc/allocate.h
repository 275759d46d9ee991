/* Largest-remainder allocation of an amount over items by weight (csrc/allocate.c). */
#ifndef DM_ALLOCATE_H
#define DM_ALLOCATE_H

#include <stdint.h>

#include "checked.h"

/* One item's remainder and position: the caller's scratch space, k of them. */
typedef struct { dm_u128 rem; int64_t pos; } dm_rem;

/* Largest-remainder allocation of `total` over k items with weights w[]:
 * out[j] = floor(total*w[j]/W) plus one for the (total - sum) largest
 * remainders, ties to the earlier item.  All weights zero: equal weights. */
void dm_allocate(int64_t total, const int64_t *w, int64_t k, int64_t *out, dm_rem *rem);

#endif /* DM_ALLOCATE_H */
