/* Checked 128-bit fixed-point helpers and explicit rounding.
 *
 * Every product or quotient of money in the core goes through these.  Amounts
 * are int64 minor units; products are formed in 128 bits (two int64 factors
 * can never overflow 128 bits) and divided once with an explicit rounding mode
 * and quantum.  A result that does not fit int64 is reported, never wrapped.
 *
 * dm_u128, the unsigned 128-bit type, has two implementations of the few
 * operations below (dm_u128_*, dm_mul64, dm_add, dm_mul):
 *   native:   the compiler's unsigned __int128 and overflow builtins (GCC, Clang);
 *   portable: two 64-bit words, multiplied with MSVC's 64 x 64 -> 128 intrinsics
 *             where present, else in 32-bit limbs (MSVC has no __int128).
 * The rounding and allocation code is written once on these operations, so
 * both paths give the same bits.  Defining DM_FORCE_PORTABLE128 (setup.py does,
 * with DEMINIMIS_PORTABLE128=1) takes the portable path on any compiler, so
 * that it is tested where the native one is the default.
 */
#ifndef DM_CHECKED_H
#define DM_CHECKED_H

#include <stdint.h>

#if defined(_MSC_VER)
/* Inlined at every call site: the hot paths are small and run per item. */
#define DM_INLINE static __forceinline
#define DM_NOINLINE static __declspec(noinline)
#else
#define DM_INLINE static inline __attribute__((always_inline))
#define DM_NOINLINE static __attribute__((noinline))
#endif

#define DM_INT64_MAX ((int64_t)0x7fffffffffffffffLL)

#if defined(__SIZEOF_INT128__) && !defined(_MSC_VER) && !defined(DM_FORCE_PORTABLE128)
/* ------------------------------------------------------------ native path */
#define DM_INT128_PATH "native"

typedef unsigned __int128 dm_u128;

DM_INLINE dm_u128 dm_u128_of(uint64_t x) { return (dm_u128)x; }
DM_INLINE dm_u128 dm_u128_make(uint64_t hi, uint64_t lo) { return ((dm_u128)hi << 64) | (dm_u128)lo; }
DM_INLINE uint64_t dm_u128_hi(dm_u128 a) { return (uint64_t)(a >> 64); }
DM_INLINE uint64_t dm_u128_lo(dm_u128 a) { return (uint64_t)a; }
DM_INLINE int dm_u128_is_zero(dm_u128 a) { return a == 0; }
DM_INLINE int dm_u128_eq(dm_u128 a, dm_u128 b) { return a == b; }
DM_INLINE int dm_u128_lt(dm_u128 a, dm_u128 b) { return a < b; }
/* modulo 2^128, as the type's own + - do; the callers' sums never wrap */
DM_INLINE dm_u128 dm_u128_add(dm_u128 a, dm_u128 b) { return a + b; }
DM_INLINE dm_u128 dm_u128_sub(dm_u128 a, dm_u128 b) { return a - b; }
/* the full product of two 64-bit factors */
DM_INLINE dm_u128 dm_mul64(uint64_t a, uint64_t b) { return (dm_u128)a * (dm_u128)b; }

/* n / d (d > 0), the remainder in *rem */
DM_INLINE dm_u128 dm_u128_divmod(dm_u128 n, dm_u128 d, dm_u128 *rem)
{
    dm_u128 q = n / d;
    *rem = n - q * d;
    return q;
}

/* Checked int64 arithmetic: 1 when the true result does not fit. */
DM_INLINE int dm_add(int64_t a, int64_t b, int64_t *out) { return __builtin_add_overflow(a, b, out); }
DM_INLINE int dm_mul(int64_t a, int64_t b, int64_t *out) { return __builtin_mul_overflow(a, b, out); }
DM_INLINE int dm_mul_u64(uint64_t a, uint64_t b, uint64_t *out) { return __builtin_mul_overflow(a, b, out); }

#else
/* ---------------------------------------------------------- portable path */
#define DM_INT128_PATH "portable"

#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_ARM64))
#include <intrin.h>
#endif

typedef struct { uint64_t hi, lo; } dm_u128;

DM_INLINE dm_u128 dm_u128_make(uint64_t hi, uint64_t lo) { dm_u128 r; r.hi = hi; r.lo = lo; return r; }
DM_INLINE dm_u128 dm_u128_of(uint64_t x) { return dm_u128_make(0, x); }
DM_INLINE uint64_t dm_u128_hi(dm_u128 a) { return a.hi; }
DM_INLINE uint64_t dm_u128_lo(dm_u128 a) { return a.lo; }
DM_INLINE int dm_u128_is_zero(dm_u128 a) { return (a.hi | a.lo) == 0; }
DM_INLINE int dm_u128_eq(dm_u128 a, dm_u128 b) { return a.hi == b.hi && a.lo == b.lo; }
DM_INLINE int dm_u128_lt(dm_u128 a, dm_u128 b) { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo); }
DM_INLINE dm_u128 dm_u128_add(dm_u128 a, dm_u128 b)
{
    uint64_t lo = a.lo + b.lo;
    return dm_u128_make(a.hi + b.hi + (lo < a.lo), lo);
}
DM_INLINE dm_u128 dm_u128_sub(dm_u128 a, dm_u128 b)
{
    return dm_u128_make(a.hi - b.hi - (a.lo < b.lo), a.lo - b.lo);
}

DM_INLINE dm_u128 dm_mul64(uint64_t a, uint64_t b)
{
#if defined(_MSC_VER) && defined(_M_X64)
    uint64_t hi, lo = _umul128(a, b, &hi);
    return dm_u128_make(hi, lo);
#elif defined(_MSC_VER) && defined(_M_ARM64)
    return dm_u128_make(__umulh(a, b), a * b);
#else
    /* schoolbook on 32-bit limbs: each partial product fits 64 bits, and so does
     * the middle column (three terms below 2^32) */
    const uint64_t a0 = a & 0xffffffffu, a1 = a >> 32, b0 = b & 0xffffffffu, b1 = b >> 32;
    const uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    const uint64_t mid = (p00 >> 32) + (p01 & 0xffffffffu) + (p10 & 0xffffffffu);
    return dm_u128_make(p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32), (mid << 32) | (p00 & 0xffffffffu));
#endif
}

/* leading zero bits of x != 0 */
DM_INLINE int dm_clz64(uint64_t x)
{
    int n = 0;
    if (!(x >> 32)) { n += 32; x <<= 32; }
    if (!(x >> 48)) { n += 16; x <<= 16; }
    if (!(x >> 56)) { n += 8; x <<= 8; }
    if (!(x >> 60)) { n += 4; x <<= 4; }
    if (!(x >> 62)) { n += 2; x <<= 2; }
    return n + !(x >> 63);
}

DM_INLINE int dm_u128_clz(dm_u128 a) { return a.hi ? dm_clz64(a.hi) : 64 + dm_clz64(a.lo); }

/* n / d (d > 0), the remainder in *rem: one hardware division when both fit 64
 * bits, else shift and subtract, one quotient bit a step from the highest bit
 * at which d fits under n (the wide case is rare: sums of large products). */
static inline dm_u128 dm_u128_divmod(dm_u128 n, dm_u128 d, dm_u128 *rem)
{
    if (n.hi == 0 && d.hi == 0) {
        *rem = dm_u128_of(n.lo % d.lo);
        return dm_u128_of(n.lo / d.lo);
    }
    dm_u128 q = dm_u128_of(0);
    if (dm_u128_lt(n, d)) { *rem = n; return q; }
    const int shift = dm_u128_clz(d) - dm_u128_clz(n); /* 0..127 */
    if (shift >= 64) { d.hi = d.lo << (shift - 64); d.lo = 0; }
    else if (shift > 0) { d.hi = (d.hi << shift) | (d.lo >> (64 - shift)); d.lo <<= shift; }
    for (int s = shift; s >= 0; s--) {
        q.hi = (q.hi << 1) | (q.lo >> 63); q.lo <<= 1;
        if (!dm_u128_lt(n, d)) { n = dm_u128_sub(n, d); q.lo |= 1; }
        d.lo = (d.lo >> 1) | (d.hi << 63); d.hi >>= 1;
    }
    *rem = n;
    return q;
}

/* Checked int64 arithmetic: 1 when the true result does not fit (then *out is
 * the wrapped value, as the builtins of the native path leave it). */
DM_INLINE int dm_add(int64_t a, int64_t b, int64_t *out)
{
    const int64_t r = (int64_t)((uint64_t)a + (uint64_t)b);
    *out = r;
    return ((a ^ r) & (b ^ r)) < 0; /* both operands' signs differ from the result's */
}

DM_INLINE int dm_mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    const dm_u128 p = dm_mul64(a, b);
    *out = p.lo;
    return p.hi != 0;
}

DM_INLINE int dm_mul(int64_t a, int64_t b, int64_t *out)
{
    const int negative = (a < 0) != (b < 0);
    const uint64_t ua = a < 0 ? 0 - (uint64_t)a : (uint64_t)a, ub = b < 0 ? 0 - (uint64_t)b : (uint64_t)b;
    const dm_u128 p = dm_mul64(ua, ub);
    *out = (int64_t)(negative ? 0 - p.lo : p.lo);
    return p.hi != 0 || p.lo > (uint64_t)DM_INT64_MAX + (uint64_t)negative;
}
#endif

/* ------------------------------------------------------- both paths alike */

/* Rounding modes (deminimis._core.ROUNDING_MODES names them for Python). */
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
    if (dm_u128_hi(n) == 0 && dm_u128_hi(dq) == 0) /* the common case, without a 128-bit division */
        return dm_u128_of(dm_round_steps64(dm_u128_lo(n), dm_u128_lo(dq), mode, negative));
    dm_u128 r, q = dm_u128_divmod(n, dq, &r);
    if (dm_u128_is_zero(r)) return q;
    const dm_u128 rest = dm_u128_sub(dq, r);
    const int half = dm_u128_lt(rest, r) - dm_u128_lt(r, rest);
    return dm_u128_add(q, dm_u128_of((uint64_t)dm_round_away(mode, half, (int)(dm_u128_lo(q) & 1), negative)));
}

/* *out = +-quantum * steps (the sign from `negative`), or 1 when that does not fit int64.
 * Checking steps first keeps the product within 128 bits (quantum < 2^63). */
DM_INLINE int dm_scale_steps(dm_u128 steps, int64_t quantum, int negative, int64_t *out)
{
    if (dm_u128_hi(steps) != 0) return 1;
    const dm_u128 res = dm_mul64(dm_u128_lo(steps), (uint64_t)quantum);
    if (dm_u128_hi(res) != 0 || dm_u128_lo(res) > (uint64_t)DM_INT64_MAX + (uint64_t)negative) return 1;
    *out = (int64_t)(negative ? 0 - dm_u128_lo(res) : dm_u128_lo(res));
    return 0;
}

/* dm_round_div_u beyond 64 bits or with a quantum: out of line, so that the
 * fast path inlined at every call site stays small. */
DM_NOINLINE int dm_round_div_u_wide(dm_u128 n, uint64_t d, int mode, int64_t quantum, int64_t *out)
{
    const dm_u128 dq = dm_mul64(d, (uint64_t)quantum);
    return dm_scale_steps(dm_round_steps(n, dq, mode, 0), quantum, 0, out);
}

/* *out = quantum * R(n / (d * quantum)) for n >= 0, d > 0, quantum > 0.
 * Returns 0 on success, 1 when the result does not fit int64. */
DM_INLINE int dm_round_div_u(dm_u128 n, uint64_t d, int mode, int64_t quantum, int64_t *out)
{
    if (quantum == 1 && dm_u128_hi(n) == 0) {
        /* the usual case: a 64-bit quotient, no scaling of the divisor or the result */
        uint64_t steps = dm_round_steps64(dm_u128_lo(n), d, mode, 0);
        if (steps > (uint64_t)DM_INT64_MAX) return 1;
        *out = (int64_t)steps;
        return 0;
    }
    return dm_round_div_u_wide(n, d, mode, quantum, out);
}

/* *out = quantum * R(a * b / (d * quantum)) for a, b >= 0: a rate or a factor applied to an amount. */
DM_INLINE int dm_round_mul_div(int64_t a, int64_t b, int64_t d, int mode, int64_t quantum, int64_t *out)
{
    return dm_round_div_u(dm_mul64((uint64_t)a, (uint64_t)b), (uint64_t)d, mode, quantum, out);
}

/* Signed version, for refunds and corrections: *out = -+quantum * R(mag / (d * quantum))
 * for the value -mag (negative) or +mag. */
static inline int dm_round_div(int negative, dm_u128 mag, int64_t d, int mode, int64_t quantum, int64_t *out)
{
    const dm_u128 dq = dm_mul64((uint64_t)d, (uint64_t)quantum);
    return dm_scale_steps(dm_round_steps(mag, dq, mode, negative), quantum, negative, out);
}

/* dm_round_div on the two's complement n = hi * 2^64 + lo, for callers without a 128-bit type (Cython). */
static inline int dm_round_div_parts(int64_t hi, uint64_t lo, int64_t d, int mode, int64_t quantum, int64_t *out)
{
    const int negative = hi < 0;
    const dm_u128 n = dm_u128_make((uint64_t)hi, lo);
    return dm_round_div(negative, negative ? dm_u128_sub(dm_u128_of(0), n) : n, d, mode, quantum, out);
}

#endif /* DM_CHECKED_H */
