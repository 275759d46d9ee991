/* Checked 128-bit fixed-point helpers and explicit rounding.
 *
 * Every product or quotient of money in the core goes through these.  Amounts
 * are int64 minor units; products are formed in 128 bits (two int64 factors
 * can never overflow 128 bits) and divided once with an explicit rounding mode
 * and quantum.  A result that does not fit int64 is reported, never wrapped.
 *
 * Requires a compiler with __int128 (GCC, Clang).  MSVC has none; a portable
 * two-word fallback is future work (see pyproject's cibuildwheel skip list).
 */
#ifndef DM_CHECKED_H
#define DM_CHECKED_H

#include <stdint.h>

/* Inlined at every call site: the hot paths are small and run per item. */
#define DM_INLINE static inline __attribute__((always_inline))

typedef __int128 dm_i128;
typedef unsigned __int128 dm_u128;

#define DM_INT64_MAX ((int64_t)0x7fffffffffffffffLL)

/* Rounding modes: same codes as deminimis.rounding.MODES. */
enum {
    DM_ROUND_HALF_UP = 0,   /* ties away from zero */
    DM_ROUND_HALF_EVEN = 1, /* ties to even */
    DM_ROUND_DOWN = 2,      /* toward zero */
    DM_ROUND_UP = 3,        /* away from zero */
    DM_ROUND_FLOOR = 4,     /* toward -infinity */
    DM_ROUND_CEILING = 5    /* toward +infinity */
};

/* Whether a quotient q with a non-zero remainder r (of divisor d) rounds away
 * from zero: half = sign of r - (d - r), i.e. of the remainder against half of d.
 * `negative` says whether the true value is negative (floor and ceiling). */
DM_INLINE int dm_round_away(int mode, int half, int q_odd, int negative)
{
    switch (mode) {
    case DM_ROUND_HALF_UP: return half >= 0;
    case DM_ROUND_HALF_EVEN: return half > 0 || (half == 0 && q_odd);
    case DM_ROUND_DOWN: return 0;
    case DM_ROUND_UP: return 1;
    case DM_ROUND_FLOOR: return negative;
    case DM_ROUND_CEILING: return !negative;
    default: return 0;
    }
}

/* 64-bit round(n / d) to an integer: one hardware division. */
DM_INLINE uint64_t dm_round_steps64(uint64_t n, uint64_t d, int mode, int negative)
{
    uint64_t q = n / d, r = n - q * d;
    if (r == 0) return q;
    return q + (uint64_t)dm_round_away(mode, (r > d - r) - (r < d - r), (int)(q & 1), negative);
}

/* Round the non-negative magnitude n / dq to an integer count of steps.
 * Returns the step count (a magnitude). */
DM_INLINE dm_u128 dm_round_steps(dm_u128 n, dm_u128 dq, int mode, int negative)
{
    if ((uint64_t)(n >> 64) == 0 && (uint64_t)(dq >> 64) == 0) /* the common case, without __udivti3 */
        return dm_round_steps64((uint64_t)n, (uint64_t)dq, mode, negative);
    dm_u128 q = n / dq, r = n - q * dq;
    if (r == 0) return q;
    return q + (dm_u128)dm_round_away(mode, (r > dq - r) - (r < dq - r), (int)(q & 1), negative);
}

/* dm_round_div_u beyond 64 bits or with a quantum: out of line, so that the
 * fast path inlined at every call site stays small. */
static __attribute__((noinline)) int dm_round_div_u_wide(dm_u128 n, dm_u128 d, int mode, int64_t quantum, int64_t *out)
{
    dm_u128 dq = d * (dm_u128)quantum; /* d < 2^64, quantum < 2^63: fits */
    dm_u128 steps = dm_round_steps(n, dq, mode, 0);
    dm_u128 res = steps * (dm_u128)quantum;
    if (steps > (dm_u128)DM_INT64_MAX || res > (dm_u128)DM_INT64_MAX)
        return 1;
    *out = (int64_t)res;
    return 0;
}

/* *out = quantum * R(n / (d * quantum)) for n >= 0, d > 0, quantum > 0.
 * Returns 0 on success, 1 when the result does not fit int64. */
DM_INLINE int dm_round_div_u(dm_u128 n, dm_u128 d, int mode, int64_t quantum, int64_t *out)
{
    if (quantum == 1 && (uint64_t)(n >> 64) == 0 && (uint64_t)(d >> 64) == 0) {
        /* the usual case: a 64-bit quotient, no scaling of the divisor or the result */
        uint64_t steps = dm_round_steps64((uint64_t)n, (uint64_t)d, mode, 0);
        if (steps > (uint64_t)DM_INT64_MAX) return 1;
        *out = (int64_t)steps;
        return 0;
    }
    return dm_round_div_u_wide(n, d, mode, quantum, out);
}

/* Signed version, for refunds and corrections: *out = quantum * R(n / (d * quantum)). */
static inline int dm_round_div(dm_i128 n, int64_t d, int mode, int64_t quantum, int64_t *out)
{
    int negative = n < 0;
    dm_u128 mag = negative ? (dm_u128)0 - (dm_u128)n : (dm_u128)n;
    dm_u128 dq = (dm_u128)d * (dm_u128)quantum;
    dm_u128 steps = dm_round_steps(mag, dq, mode, negative);
    dm_u128 res = steps * (dm_u128)quantum;
    if (res > (dm_u128)DM_INT64_MAX + (negative ? 1 : 0))
        return 1;
    *out = negative ? (int64_t)((dm_u128)0 - res) : (int64_t)res;
    return 0;
}

/* dm_round_div on n = hi * 2^64 + lo, for callers without a 128-bit type (Cython). */
static inline int dm_round_div_parts(int64_t hi, uint64_t lo, int64_t d, int mode, int64_t quantum, int64_t *out)
{
    dm_i128 n = (dm_i128)(((dm_u128)(uint64_t)hi << 64) | (dm_u128)lo);
    return dm_round_div(n, d, mode, quantum, out);
}

/* Checked int64 addition of non-negative amounts. */
static inline int dm_add(int64_t a, int64_t b, int64_t *out)
{
    return __builtin_add_overflow(a, b, out);
}

#endif /* DM_CHECKED_H */
