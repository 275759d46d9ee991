/* The assessment kernel: plain C, no Python, no allocation of outputs.
 *
 * Python (engine.py) encodes the batch into integer columns and compiled
 * tables; this kernel runs the whole computation in the order of
 * docs/semantics.md and returns a status with the index of the first bad item.
 * It never touches the GIL.  reference.py is its executable specification.
 *
 * All amounts are non-negative int64 minor units of the customs currency
 * (inputs are validated non-negative), so products are formed in unsigned
 * 128 bits: a sum of up to four products of int64 factors cannot overflow.
 */
#ifndef DM_ASSESS_H
#define DM_ASSESS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"

#define DM_MAX_CONDS 4
#define DM_MAX_WAIVERS 4
#define DM_MAX_FEES 8

/* status codes */
enum { DM_OK = 0, DM_OVERFLOW = 1, DM_NOMEM = 2, DM_BADARG = 3 };

/* what overflowed (reported with DM_OVERFLOW) */
enum {
    DM_W_CONVERSION = 1, DM_W_FREIGHT = 2, DM_W_CONSIGNMENT_SUM = 3, DM_W_GROUP_SUM = 4,
    DM_W_DUTY = 5, DM_W_VAT = 6, DM_W_FEE = 7, DM_W_TOTAL = 8, DM_W_QUANTITY_SUM = 9
};

/* rule bits, one int32 per item (deminimis.assessment.RULES names them) */
enum {
    DM_RULE_DUTY_RELIEF = 1, DM_RULE_FLAT_DUTY = 2, DM_RULE_DUTY_WAIVED = 4,
    DM_RULE_VAT_RELIEF = 8, DM_RULE_VAT_AT_SALE = 16, DM_RULE_VAT_WAIVED = 32,
    DM_RULE_CANNOT_ASSESS = 64, DM_RULE_FEE = 128, DM_RULE_SIMPLIFIED_DUTY = 256,
    DM_RULE_DUTY_AT_SALE = 512, DM_RULE_VAT_REDUCED = 1024
};

/* The regime's rules, by index into dm_params.rules (and bit in item_flags). */
#define DM_MAX_RELIEFS 4
enum {
    DM_R_DUTY_RELIEF = 0,                      /* 0..3: any of them relieves duty */
    DM_R_VAT_RELIEF = DM_MAX_RELIEFS,          /* 4..7: any of them relieves VAT */
    DM_R_AT_SALE = 2 * DM_MAX_RELIEFS,         /* 8: collection at sale */
    DM_R_FLAT, DM_R_VAT_REDUCTION, DM_R_SIMPLIFIED,
    DM_N_RULES
};
#define DM_MAX_BANDS 4
enum { DM_WAIVE_DUTY = 0, DM_WAIVE_VAT = 1, DM_WAIVE_BOTH = 2 };

enum { DM_BASIS_INTRINSIC = 0, DM_BASIS_CUSTOMS = 1 };
enum { DM_PER_ITEM = 0, DM_PER_CONSIGNMENT = 1, DM_PER_GROUP = 2, DM_PER_CUMULATIVE = 3 };
enum { DM_LEVEL_ITEM = 0, DM_LEVEL_CONSIGNMENT = 1 };

typedef struct { int32_t mode; int32_t level; int64_t quantum; } dm_rounding;

/* amount = (value*adv + mass_g*mass + volume_ml*vol + quantity*qty) / den, all >= 0 */
typedef struct { int64_t adv, mass, vol, qty, den; } dm_clause;

/* duty = min(max(round(main), round(lo)), round(hi)) with the bounds optional */
typedef struct {
    dm_clause main, lo, hi;
    int32_t has_lo, has_hi, cannot_assess, pad_;
} dm_measure;

typedef struct {
    int32_t basis, per, inclusive, pad_;
    int64_t threshold;
    const int64_t *group;  /* DM_PER_GROUP / CUMULATIVE: group id per consignment */
    const int64_t *order;  /* DM_PER_CUMULATIVE: consignments in date order */
    int64_t n_groups;
} dm_cond;

/* A relief, a collection-at-sale rule or a flat duty's applicability. */
typedef struct {
    int32_t enabled, n_conds;
    int32_t requires_flag;    /* consignment's collected_at_sale flag must be set */
    uint16_t excl_bit, pad_;  /* item_flags bit that excludes an item */
    const uint8_t *cons_ok;   /* per consignment eligibility (transport...), or NULL */
    dm_cond conds[DM_MAX_CONDS];
} dm_rule;

typedef struct {
    int32_t target, per, inclusive;   /* DM_WAIVE_*, DM_PER_ITEM or consignment, <= or < */
    uint16_t excl_bit, pad_;          /* item_flags bit of items the waiver never covers */
    int64_t threshold;
} dm_waiver;

/* A band of the simplified duty: basis value <= up_to pays R(value * pct) - deduction. */
typedef struct { int64_t up_to, pct_num, pct_den, deduction; } dm_band;

typedef struct {
    int32_t per;              /* 0 per consignment, 1 per item */
    int32_t when_due;         /* 1: only where duty or VAT is due at the border;
                                 2: only where some item is not relieved of duty (an entry is made) */
    int32_t has_min, has_max;
    int64_t fixed, adv_num, adv_den, min, max;
    int64_t value_above;      /* applies when consignment customs value > this (-1: no bound) */
    int64_t value_up_to;      /* and <= this (-1: no bound) */
    const uint8_t *cons_ok;   /* per consignment eligibility, or NULL */
} dm_fee;

typedef struct {
    int64_t n_items, n_cons;
    /* items */
    const int64_t *cons, *value, *qty, *mass, *vol;
    const int32_t *cur, *measure, *vat_rate, *vat_rate_reduced, *flat_key;
    const uint16_t *item_flags;               /* bit r: excluded from rule r; bit 12 + q: from waiver q */
    /* consignments */
    const int64_t *freight, *insurance;
    const int32_t *freight_cur;
    const uint8_t *at_sale_flag;
    /* tables */
    const int64_t *conv_mul, *conv_div;   /* per currency: customs = round(a * mul / div) */
    const dm_measure *measures;
    const int64_t *vat_num, *vat_den;     /* per VAT rate index: effective rational rate */
} dm_input;

typedef struct {
    int32_t cif, vat_adds_transport, at_sale_includes_duty, simplified_basis;
    dm_rounding conv, duty, vat, fee;
    int32_t duty_base_rounded, vat_base_rounded;   /* round the value duty / VAT is computed on */
    dm_rounding duty_base, vat_base;
    dm_rule rules[DM_N_RULES];
    int64_t flat_amount;
    int32_t n_bands, pad_;
    dm_band bands[DM_MAX_BANDS];
    int32_t n_waivers, n_fees;
    dm_waiver waivers[DM_MAX_WAIVERS];
    dm_fee fees[DM_MAX_FEES];
} dm_params;

typedef struct {
    int64_t *intrinsic, *customs_value, *duty, *duty_at_sale, *vat, *vat_at_sale, *fees, *total; /* per item */
    int32_t *rule;                                                                                  /* per item */
    int64_t *c_intrinsic, *c_customs, *c_duty, *c_duty_at_sale, *c_vat, *c_vat_at_sale, *c_fees, *c_total,
        *c_items;
} dm_output;

typedef struct { int64_t index; int32_t what; } dm_error;

/* ------------------------------------------------------------------------ */

typedef struct { dm_u128 rem; int64_t pos; } dm_rem;

/* Largest-remainder allocation of `total` over k items with weights w[]:
 * out[j] = floor(total*w[j]/W) plus one for the (total - sum) largest
 * remainders, ties to the earlier item.  All weights zero: equal weights. */
static void dm_allocate(int64_t total, const int64_t *w, int64_t k, int64_t *out, dm_rem *rem)
{
    if (k == 1) { out[0] = total; return; }
    if (total == 0) { memset(out, 0, (size_t)k * sizeof(int64_t)); return; }
    dm_u128 W = 0;
    for (int64_t j = 0; j < k; j++) W += (dm_u128)w[j];
    int unit = (W == 0);
    if (unit) W = (dm_u128)k;
    int64_t given = 0;
    uint64_t W64 = (uint64_t)W, p64;
    int narrow = (W >> 64) == 0;
    for (int64_t j = 0; j < k; j++) {
        uint64_t wj = (uint64_t)(unit ? 1 : w[j]);
        if (narrow && !__builtin_mul_overflow((uint64_t)total, wj, &p64)) {
            /* the common case: everything in 64 bits */
            uint64_t q = p64 / W64;
            out[j] = (int64_t)q;
            rem[j].rem = p64 - q * W64;
        } else {
            dm_u128 p = (dm_u128)total * (dm_u128)wj;
            out[j] = (int64_t)(p / W);
            rem[j].rem = p % W;
        }
        rem[j].pos = j;
        given += out[j];
    }
    int64_t left = total - given; /* < k */
    /* select the `left` largest remainders (earlier position wins ties):
     * a partial selection sort, fine for the small groups of real parcels */
    for (int64_t s = 0; s < left; s++) {
        int64_t best = s;
        for (int64_t j = s + 1; j < k; j++)
            if (rem[j].rem > rem[best].rem ||
                (rem[j].rem == rem[best].rem && rem[j].pos < rem[best].pos))
                best = j;
        dm_rem t = rem[s]; rem[s] = rem[best]; rem[best] = t;
        out[rem[s].pos] += 1;
    }
}

static int dm_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sort packed (key << 32 | position) values ascending: groups by key, stable. */
static void dm_sort_keys(int64_t *v, int64_t k)
{
    if (k <= 24) {
        for (int64_t i = 1; i < k; i++) {
            int64_t x = v[i], j = i - 1;
            while (j >= 0 && v[j] > x) { v[j + 1] = v[j]; j--; }
            v[j + 1] = x;
        }
    } else {
        qsort(v, (size_t)k, sizeof(int64_t), dm_cmp_i64);
    }
}

static inline int dm_clause_amount(const dm_clause *c, int64_t value, int64_t mass, int64_t vol,
                                   int64_t qty, const dm_rounding *r, int64_t *out)
{
    dm_u128 n = (dm_u128)value * (dm_u128)c->adv + (dm_u128)mass * (dm_u128)c->mass +
                (dm_u128)vol * (dm_u128)c->vol + (dm_u128)qty * (dm_u128)c->qty;
    return dm_round_div_u(n, (dm_u128)c->den, r->mode, r->quantum, out);
}

static inline int dm_measure_amount(const dm_measure *m, int64_t value, int64_t mass, int64_t vol,
                                    int64_t qty, const dm_rounding *r, int64_t *out)
{
    int64_t d, b;
    if (dm_clause_amount(&m->main, value, mass, vol, qty, r, &d)) return 1;
    if (m->has_lo) {
        if (dm_clause_amount(&m->lo, value, mass, vol, qty, r, &b)) return 1;
        if (b > d) d = b;
    }
    if (m->has_hi) {
        if (dm_clause_amount(&m->hi, value, mass, vol, qty, r, &b)) return 1;
        if (b < d) d = b;
    }
    *out = d;
    return 0;
}

static inline int dm_cmp_threshold(int64_t x, int64_t thr, int inclusive)
{
    return inclusive ? x <= thr : x < thr;
}

/* Consignment-level part of a rule: eligibility and every non-item condition. */
static int dm_rule_cons(const dm_rule *r, int64_t c, const uint8_t *flag, int64_t *const *agg)
{
    if (!r->enabled) return 0;
    if (r->cons_ok && !r->cons_ok[c]) return 0;
    if (r->requires_flag && !flag[c]) return 0;
    for (int k = 0; k < r->n_conds; k++) {
        const dm_cond *cd = &r->conds[k];
        if (cd->per == DM_PER_ITEM) continue;
        if (!dm_cmp_threshold(agg[k][c], cd->threshold, cd->inclusive)) return 0;
    }
    return 1;
}

/* Item-level part of a rule. */
static int dm_rule_item(const dm_rule *r, uint16_t item_flags, int64_t intrinsic, int64_t customs)
{
    if (item_flags & r->excl_bit) return 0;
    for (int k = 0; k < r->n_conds; k++) {
        const dm_cond *cd = &r->conds[k];
        if (cd->per != DM_PER_ITEM) continue;
        int64_t x = cd->basis == DM_BASIS_INTRINSIC ? intrinsic : customs;
        if (!dm_cmp_threshold(x, cd->threshold, cd->inclusive)) return 0;
    }
    return 1;
}

/* Per-consignment aggregate of each non-item condition of a rule. */
static int dm_rule_aggregates(const dm_rule *r, int64_t n_cons, const int64_t *c_intr,
                              const int64_t *c_cust, int64_t **agg, dm_error *err)
{
    for (int k = 0; k < r->n_conds; k++) {
        const dm_cond *cd = &r->conds[k];
        if (!r->enabled || cd->per == DM_PER_ITEM) continue;
        const int64_t *base = cd->basis == DM_BASIS_INTRINSIC ? c_intr : c_cust;
        int64_t *a = agg[k];
        if (cd->per == DM_PER_CONSIGNMENT) {
            memcpy(a, base, (size_t)n_cons * sizeof(int64_t));
        } else if (cd->per == DM_PER_GROUP) {
            int64_t *gsum = calloc((size_t)(cd->n_groups > 0 ? cd->n_groups : 1), sizeof(int64_t));
            if (!gsum) return DM_NOMEM;
            for (int64_t c = 0; c < n_cons; c++)
                if (dm_add(gsum[cd->group[c]], base[c], &gsum[cd->group[c]])) {
                    free(gsum); err->index = -(c + 1); err->what = DM_W_GROUP_SUM; return DM_OVERFLOW;
                }
            for (int64_t c = 0; c < n_cons; c++) a[c] = gsum[cd->group[c]];
            free(gsum);
        } else { /* cumulative in the given order, restarting at each group */
            int64_t run = 0, prev = -1;
            for (int64_t j = 0; j < n_cons; j++) {
                int64_t c = cd->order[j];
                if (cd->group[c] != prev) { run = 0; prev = cd->group[c]; }
                if (dm_add(run, base[c], &run)) {
                    err->index = -(c + 1); err->what = DM_W_GROUP_SUM; return DM_OVERFLOW;
                }
                a[c] = run;
            }
        }
    }
    return DM_OK;
}

#define DM_FAIL(i, w) do { err->index = (i); err->what = (w); status = DM_OVERFLOW; goto done; } while (0)

/* Work shared by the threads of one assessment: read-only once phases start. */
typedef struct {
    const dm_input *in;
    const dm_params *p;
    dm_output *out;
    const int64_t *offsets, *perm;
    int64_t *c_freight;
    int64_t *agg[DM_N_RULES][DM_MAX_CONDS];
    int64_t max_len;
} dm_shared;

/* One thread's slice of consignments [c0, c1) and its own scratch and error. */
typedef struct {
    const dm_shared *sh;
    int64_t c0, c1;
    int status;
    dm_error err;
} dm_task;

/* Phase A: conversion of the slice's items, consignment intrinsic, transport, customs value. */
static int dm_phase_convert(const dm_shared *sh, int64_t c0, int64_t c1, dm_error *err)
{
    const dm_input *in = sh->in;
    const dm_params *p = sh->p;
    dm_output *out = sh->out;
    const int64_t *offsets = sh->offsets, *perm = sh->perm;
    int status = DM_OK;
    for (int64_t c = c0; c < c1; c++) {
        int64_t s = 0, f = 0, ins = 0;
        for (int64_t j = offsets[c]; j < offsets[c + 1]; j++) {
            int64_t i = perm[j];
            int32_t k = in->cur[i];
            if (in->conv_mul[k] == 1 && in->conv_div[k] == 1)
                out->intrinsic[i] = in->value[i]; /* factor exactly 1: no conversion, no rounding */
            else if (dm_round_div_u((dm_u128)in->value[i] * (dm_u128)in->conv_mul[k], (dm_u128)in->conv_div[k],
                                    p->conv.mode, p->conv.quantum, &out->intrinsic[i]))
                DM_FAIL(i, DM_W_CONVERSION);
            if (dm_add(s, out->intrinsic[i], &s)) DM_FAIL(perm[offsets[c]], DM_W_CONSIGNMENT_SUM);
        }
        int32_t k = in->freight_cur[c];
        if (in->conv_mul[k] == 1 && in->conv_div[k] == 1) {
            f = in->freight[c];
            ins = in->insurance[c];
            if (dm_add(f, ins, &f)) DM_FAIL(perm[offsets[c]], DM_W_FREIGHT);
        } else if (dm_round_div_u((dm_u128)in->freight[c] * (dm_u128)in->conv_mul[k], (dm_u128)in->conv_div[k],
                           p->conv.mode, p->conv.quantum, &f) ||
            dm_round_div_u((dm_u128)in->insurance[c] * (dm_u128)in->conv_mul[k], (dm_u128)in->conv_div[k],
                           p->conv.mode, p->conv.quantum, &ins) ||
            dm_add(f, ins, &f))
            DM_FAIL(perm[offsets[c]], DM_W_FREIGHT);
        sh->c_freight[c] = f;
        out->c_intrinsic[c] = s;
        out->c_items[c] = offsets[c + 1] - offsets[c];
        if (dm_add(s, p->cif ? f : 0, &out->c_customs[c])) DM_FAIL(perm[offsets[c]], DM_W_CONSIGNMENT_SUM);
    }
done:
    return status;
}

/* Waivers of one target on the consignment's items [0, k): an amount > 0 at or
 * below the threshold (per item, or the consignment's total) is not collected. */
static int dm_waive(const dm_params *p, int target, const int64_t *items, int64_t k, const uint16_t *flags,
                    int64_t *duty, int64_t *vat, int32_t *rule, dm_error *err)
{
    int status = DM_OK;
    for (int q = 0; q < p->n_waivers; q++) {
        const dm_waiver *wv = &p->waivers[q];
        if (wv->target != target) continue;
        int64_t s = 0;
        for (int64_t j = 0; j < k; j++) {
            int64_t i = items[j], amount = 0;
            if (flags[i] & wv->excl_bit) continue; /* neither counted nor cleared */
            if ((target != DM_WAIVE_VAT && dm_add(amount, duty[i], &amount)) ||
                (target != DM_WAIVE_DUTY && dm_add(amount, vat[i], &amount)))
                DM_FAIL(i, DM_W_TOTAL);
            if (wv->per == DM_PER_ITEM) {
                if (amount > 0 && dm_cmp_threshold(amount, wv->threshold, wv->inclusive)) {
                    if (target != DM_WAIVE_VAT && duty[i] > 0) { duty[i] = 0; rule[i] |= DM_RULE_DUTY_WAIVED; }
                    if (target != DM_WAIVE_DUTY && vat[i] > 0) { vat[i] = 0; rule[i] |= DM_RULE_VAT_WAIVED; }
                }
            } else if (dm_add(s, amount, &s)) {
                DM_FAIL(items[0], DM_W_TOTAL);
            }
        }
        if (wv->per != DM_PER_ITEM && s > 0 && dm_cmp_threshold(s, wv->threshold, wv->inclusive))
            for (int64_t j = 0; j < k; j++) {
                int64_t i = items[j];
                if (flags[i] & wv->excl_bit) continue;
                if (target != DM_WAIVE_VAT && duty[i] > 0) { duty[i] = 0; rule[i] |= DM_RULE_DUTY_WAIVED; }
                if (target != DM_WAIVE_DUTY && vat[i] > 0) { vat[i] = 0; rule[i] |= DM_RULE_VAT_WAIVED; }
            }
    }
done:
    return status;
}

/* The value an ad valorem rate applies to: rounded first where the regime says so. */
static inline int dm_base(int enabled, const dm_rounding *r, int64_t v, int64_t *out)
{
    if (!enabled) { *out = v; return 0; }
    return dm_round_div_u((dm_u128)v, 1, r->mode, r->quantum, out);
}

/* Phase C: per consignment of the slice: allocation, duty, VAT, waivers, fees, totals. */
static int dm_phase_consignments(const dm_shared *sh, int64_t c0, int64_t c1, dm_error *err)
{
    const dm_input *in = sh->in;
    const dm_params *p = sh->p;
    dm_output *out = sh->out;
    const int64_t *offsets = sh->offsets, *perm = sh->perm, *c_freight = sh->c_freight;
    const int64_t max_len = sh->max_len;
    const dm_rule *R = p->rules;
    int status = DM_OK;
    int64_t *w = malloc((size_t)max_len * sizeof(int64_t));
    int64_t *a = malloc((size_t)max_len * sizeof(int64_t));
    int64_t *keys = malloc((size_t)max_len * sizeof(int64_t));
    int64_t *alloc_t = malloc((size_t)max_len * sizeof(int64_t));
    int64_t *tr = malloc((size_t)max_len * sizeof(int64_t));
    int64_t *vbase = malloc((size_t)max_len * sizeof(int64_t));
    uint8_t *sale = malloc((size_t)max_len);
    dm_rem *rem = malloc((size_t)max_len * sizeof(dm_rem));
    if (!w || !a || !keys || !alloc_t || !tr || !vbase || !sale || !rem) { status = DM_NOMEM; goto done; }

    for (int64_t c = c0; c < c1; c++) {
        const int64_t b = offsets[c], k = offsets[c + 1] - b;
        const int64_t *items = perm + b;
        if (k == 0) continue;
        int relief_c[2 * DM_MAX_RELIEFS];
        int any_duty_relief = 0, any_vat_relief = 0;
        for (int r = 0; r < 2 * DM_MAX_RELIEFS; r++) {
            relief_c[r] = R[r].enabled && dm_rule_cons(&R[r], c, in->at_sale_flag, sh->agg[r]);
            if (relief_c[r]) { if (r < DM_R_VAT_RELIEF) any_duty_relief = 1; else any_vat_relief = 1; }
        }
        const int at_sale_c = R[DM_R_AT_SALE].enabled &&
                              dm_rule_cons(&R[DM_R_AT_SALE], c, in->at_sale_flag, sh->agg[DM_R_AT_SALE]);
        const int flat_c = R[DM_R_FLAT].enabled && dm_rule_cons(&R[DM_R_FLAT], c, in->at_sale_flag, sh->agg[DM_R_FLAT]);
        const int reduce_c = R[DM_R_VAT_REDUCTION].enabled &&
                             dm_rule_cons(&R[DM_R_VAT_REDUCTION], c, in->at_sale_flag, sh->agg[DM_R_VAT_REDUCTION]);
        int simple_c = R[DM_R_SIMPLIFIED].enabled &&
                       dm_rule_cons(&R[DM_R_SIMPLIFIED], c, in->at_sale_flag, sh->agg[DM_R_SIMPLIFIED]);
        const dm_band *band = NULL;
        if (simple_c) {
            int64_t v = p->simplified_basis == DM_BASIS_INTRINSIC ? out->c_intrinsic[c] : out->c_customs[c];
            for (int q = 0; q < p->n_bands && !band; q++)
                if (v <= p->bands[q].up_to) band = &p->bands[q];
            simple_c = band != NULL;
        }

        /* 4a. freight and insurance allocated by intrinsic value */
        for (int64_t j = 0; j < k; j++) w[j] = out->intrinsic[items[j]];
        dm_allocate(c_freight[c], w, k, tr, rem);
        for (int64_t j = 0; j < k; j++) {
            int64_t i = items[j];
            out->customs_value[i] = out->intrinsic[i] + (p->cif ? tr[j] : 0); /* <= c_customs */
            out->rule[i] = 0;
            out->duty[i] = 0;
            out->duty_at_sale[i] = 0;
            out->vat[i] = 0;
            out->vat_at_sale[i] = 0;
            sale[j] = (uint8_t)(at_sale_c && dm_rule_item(&R[DM_R_AT_SALE], in->item_flags[i],
                                                          out->intrinsic[i], out->customs_value[i]));
        }

        /* 4b. duty: flat per distinct key, simplified by value band, relief, or the tariff measure */
        int64_t nk = 0, nflat = 0, nsimple = 0;
        for (int64_t j = 0; j < k; j++) {
            int64_t i = items[j], ci = out->intrinsic[i], cv = out->customs_value[i];
            uint16_t fl = in->item_flags[i];
            int relieved = 0;
            for (int r = DM_R_DUTY_RELIEF; any_duty_relief && r < DM_R_DUTY_RELIEF + DM_MAX_RELIEFS && !relieved; r++)
                relieved = relief_c[r] && dm_rule_item(&R[r], fl, ci, cv);
            if (flat_c && dm_rule_item(&R[DM_R_FLAT], fl, ci, cv)) {
                out->rule[i] |= DM_RULE_FLAT_DUTY;
                a[nflat++] = ((int64_t)in->flat_key[i] << 32) | j;
            } else if (simple_c && dm_rule_item(&R[DM_R_SIMPLIFIED], fl, ci, cv)) {
                out->rule[i] |= DM_RULE_SIMPLIFIED_DUTY;
                alloc_t[nsimple] = cv;
                keys[nsimple++] = j;
            } else if (relieved) {
                out->rule[i] |= DM_RULE_DUTY_RELIEF;
            } else if (in->measures[in->measure[i]].cannot_assess) {
                out->rule[i] |= DM_RULE_CANNOT_ASSESS;
            } else if (p->duty.level == DM_LEVEL_ITEM) {
                int64_t base;
                if (dm_base(p->duty_base_rounded, &p->duty_base, cv, &base) ||
                    dm_measure_amount(&in->measures[in->measure[i]], base, in->mass[i], in->vol[i],
                                      in->qty[i], &p->duty, &out->duty[i]))
                    DM_FAIL(i, DM_W_DUTY);
            } else {
                w[nk++] = ((int64_t)in->measure[i] << 32) | j;
            }
        }
        if (nsimple) { /* the band's duty on the consignment's value, shared by customs value */
            int64_t v = p->simplified_basis == DM_BASIS_INTRINSIC ? out->c_intrinsic[c] : out->c_customs[c];
            int64_t amount;
            if (dm_round_div_u((dm_u128)v * (dm_u128)band->pct_num, (dm_u128)band->pct_den,
                               p->duty.mode, p->duty.quantum, &amount))
                DM_FAIL(items[keys[0]], DM_W_DUTY);
            amount = amount > band->deduction ? amount - band->deduction : 0;
            dm_allocate(amount, alloc_t, nsimple, vbase, rem); /* weights: customs values */
            for (int64_t t = 0; t < nsimple; t++) out->duty[items[keys[t]]] = vbase[t];
        }
        if (nflat) { /* one flat amount per distinct key, allocated over its items by intrinsic value */
            dm_sort_keys(a, nflat);
            for (int64_t s = 0; s < nflat;) {
                int64_t e = s;
                while (e < nflat && (a[e] >> 32) == (a[s] >> 32)) e++;
                for (int64_t t = s; t < e; t++) vbase[t - s] = out->intrinsic[items[a[t] & 0xffffffff]];
                dm_allocate(p->flat_amount, vbase, e - s, alloc_t, rem);
                for (int64_t t = s; t < e; t++) out->duty[items[a[t] & 0xffffffff]] = alloc_t[t - s];
                s = e;
            }
        }
        if (nk) { /* consignment-level duty rounding: per measure, on summed quantities */
            dm_sort_keys(w, nk);
            for (int64_t s = 0; s < nk;) {
                int64_t e = s;
                int64_t sv = 0, sm = 0, sl = 0, sq = 0, amount;
                while (e < nk && (w[e] >> 32) == (w[s] >> 32)) {
                    int64_t i = items[w[e] & 0xffffffff];
                    if (dm_add(sv, out->customs_value[i], &sv) || dm_add(sm, in->mass[i], &sm) ||
                        dm_add(sl, in->vol[i], &sl) || dm_add(sq, in->qty[i], &sq))
                        DM_FAIL(i, DM_W_QUANTITY_SUM);
                    e++;
                }
                if (dm_base(p->duty_base_rounded, &p->duty_base, sv, &sv) ||
                    dm_measure_amount(&in->measures[w[s] >> 32], sv, sm, sl, sq, &p->duty, &amount))
                    DM_FAIL(items[w[s] & 0xffffffff], DM_W_DUTY);
                for (int64_t t = s; t < e; t++) vbase[t - s] = out->customs_value[items[w[t] & 0xffffffff]];
                dm_allocate(amount, vbase, e - s, alloc_t, rem);
                for (int64_t t = s; t < e; t++) out->duty[items[w[t] & 0xffffffff]] = alloc_t[t - s];
                s = e;
            }
        }
        /* duty collected at sale, then waivers of the duty due at the border */
        if (p->at_sale_includes_duty)
            for (int64_t j = 0; j < k; j++) {
                int64_t i = items[j];
                if (sale[j] && out->duty[i] > 0) {
                    out->duty_at_sale[i] = out->duty[i];
                    out->duty[i] = 0;
                    out->rule[i] |= DM_RULE_DUTY_AT_SALE;
                }
            }
        if (p->n_waivers && (status = dm_waive(p, DM_WAIVE_DUTY, items, k, in->item_flags, out->duty, out->vat, out->rule, err)) != DM_OK)
            goto done;

        /* 4c. VAT on customs value + duty (+ transport where the base adds it) */
        nk = 0;
        for (int64_t j = 0; j < k; j++) {
            int64_t i = items[j], ci = out->intrinsic[i], cv = out->customs_value[i];
            uint16_t fl = in->item_flags[i];
            int64_t base;
            if (dm_add(cv, out->duty[i], &base) || dm_add(base, out->duty_at_sale[i], &base) ||
                dm_add(base, (!p->cif && p->vat_adds_transport) ? tr[j] : 0, &base))
                DM_FAIL(i, DM_W_VAT);
            vbase[j] = base;
            int relieved = 0;
            for (int r = DM_R_VAT_RELIEF; any_vat_relief && r < DM_R_VAT_RELIEF + DM_MAX_RELIEFS && !relieved; r++)
                relieved = relief_c[r] && dm_rule_item(&R[r], fl, ci, cv);
            if (!sale[j] && relieved) {
                out->rule[i] |= DM_RULE_VAT_RELIEF;
                continue;
            }
            if (sale[j]) out->rule[i] |= DM_RULE_VAT_AT_SALE;
            int32_t rate = in->vat_rate[i];
            if (reduce_c && dm_rule_item(&R[DM_R_VAT_REDUCTION], fl, ci, cv)) {
                rate = in->vat_rate_reduced[i];
                out->rule[i] |= DM_RULE_VAT_REDUCED;
            }
            if (p->vat.level == DM_LEVEL_ITEM) {
                int64_t v;
                if (dm_base(p->vat_base_rounded, &p->vat_base, base, &base) ||
                    dm_round_div_u((dm_u128)base * (dm_u128)in->vat_num[rate], (dm_u128)in->vat_den[rate],
                                   p->vat.mode, p->vat.quantum, &v))
                    DM_FAIL(i, DM_W_VAT);
                if (sale[j]) out->vat_at_sale[i] = v; else out->vat[i] = v;
            } else {
                keys[nk++] = ((int64_t)(rate * 2 + sale[j]) << 32) | j;
            }
        }
        if (nk) { /* consignment-level VAT rounding: per (rate, at sale) group on the summed base */
            dm_sort_keys(keys, nk);
            for (int64_t s = 0; s < nk;) {
                int64_t e = s, sb = 0, amount;
                int64_t key = keys[s] >> 32;
                int32_t r = (int32_t)(key >> 1);
                while (e < nk && (keys[e] >> 32) == key) {
                    if (dm_add(sb, vbase[keys[e] & 0xffffffff], &sb)) DM_FAIL(items[keys[e] & 0xffffffff], DM_W_VAT);
                    e++;
                }
                if (dm_base(p->vat_base_rounded, &p->vat_base, sb, &sb) ||
                    dm_round_div_u((dm_u128)sb * (dm_u128)in->vat_num[r], (dm_u128)in->vat_den[r],
                                   p->vat.mode, p->vat.quantum, &amount))
                    DM_FAIL(items[keys[s] & 0xffffffff], DM_W_VAT);
                for (int64_t t = s; t < e; t++) a[t - s] = vbase[keys[t] & 0xffffffff];
                dm_allocate(amount, a, e - s, alloc_t, rem);
                for (int64_t t = s; t < e; t++) {
                    int64_t i = items[keys[t] & 0xffffffff];
                    if (key & 1) out->vat_at_sale[i] = alloc_t[t - s]; else out->vat[i] = alloc_t[t - s];
                }
                s = e;
            }
        }
        /* waivers of the VAT, then of duty and VAT together, due at the border */
        if (p->n_waivers &&
            ((status = dm_waive(p, DM_WAIVE_VAT, items, k, in->item_flags, out->duty, out->vat, out->rule, err)) != DM_OK ||
             (status = dm_waive(p, DM_WAIVE_BOTH, items, k, in->item_flags, out->duty, out->vat, out->rule, err)) != DM_OK))
            goto done;

        /* 4d. fees, allocated over the consignment's items by customs value */
        int64_t due = 0, entry = 0, fee_total = 0;
        for (int64_t j = 0; j < k; j++) {
            if (out->duty[items[j]] > 0 || out->vat[items[j]] > 0) due = 1;
            if (!(out->rule[items[j]] & DM_RULE_DUTY_RELIEF)) entry = 1;
        }
        for (int q = 0; q < p->n_fees; q++) {
            const dm_fee *fe = &p->fees[q];
            int64_t cv = out->c_customs[c], amount = 0;
            if (fe->cons_ok && !fe->cons_ok[c]) continue;
            if (fe->when_due == 1 && !due) continue;
            if (fe->when_due == 2 && !entry) continue;
            if (fe->value_above >= 0 && !(cv > fe->value_above)) continue;
            if (fe->value_up_to >= 0 && !(cv <= fe->value_up_to)) continue;
            if (fe->adv_num) {
                if (dm_round_div_u((dm_u128)cv * (dm_u128)fe->adv_num, (dm_u128)fe->adv_den,
                                   p->fee.mode, p->fee.quantum, &amount))
                    DM_FAIL(items[0], DM_W_FEE);
            }
            if (dm_add(amount, fe->fixed, &amount)) DM_FAIL(items[0], DM_W_FEE);
            if (fe->has_min && amount < fe->min) amount = fe->min;
            if (fe->has_max && amount > fe->max) amount = fe->max;
            if (fe->per == 1) {
                dm_i128 t = (dm_i128)amount * k;
                if (t > DM_INT64_MAX) DM_FAIL(items[0], DM_W_FEE);
                amount = (int64_t)t;
            }
            if (dm_add(fee_total, amount, &fee_total)) DM_FAIL(items[0], DM_W_FEE);
        }
        if (fee_total) {
            for (int64_t j = 0; j < k; j++) w[j] = out->customs_value[items[j]];
            dm_allocate(fee_total, w, k, alloc_t, rem);
        } else {
            memset(alloc_t, 0, (size_t)k * sizeof(int64_t));
        }

        /* 4e. totals */
        int64_t cd = 0, cdsale = 0, cvat = 0, csale = 0, cfee = 0, ctot = 0;
        for (int64_t j = 0; j < k; j++) {
            int64_t i = items[j], t;
            out->fees[i] = alloc_t[j];
            if (alloc_t[j] > 0) out->rule[i] |= DM_RULE_FEE;
            if (dm_add(out->duty[i], out->vat[i], &t) || dm_add(t, out->fees[i], &t)) DM_FAIL(i, DM_W_TOTAL);
            out->total[i] = t;
            if (dm_add(cd, out->duty[i], &cd) || dm_add(cdsale, out->duty_at_sale[i], &cdsale) ||
                dm_add(cvat, out->vat[i], &cvat) ||
                dm_add(csale, out->vat_at_sale[i], &csale) || dm_add(cfee, out->fees[i], &cfee) ||
                dm_add(ctot, t, &ctot))
                DM_FAIL(i, DM_W_TOTAL);
        }
        out->c_duty[c] = cd; out->c_duty_at_sale[c] = cdsale; out->c_vat[c] = cvat; out->c_vat_at_sale[c] = csale;
        out->c_fees[c] = cfee; out->c_total[c] = ctot;
    }

done:
    free(w); free(a); free(keys); free(alloc_t); free(tr); free(vbase); free(sale); free(rem);
    return status;
}

#ifdef DM_NO_THREADS
#define DM_MAX_THREADS 1
#else
#include <pthread.h>
#define DM_MAX_THREADS 64
#endif

static void *dm_run_convert(void *arg)
{
    dm_task *t = (dm_task *)arg;
    t->status = dm_phase_convert(t->sh, t->c0, t->c1, &t->err);
    return NULL;
}

static void *dm_run_consignments(void *arg)
{
    dm_task *t = (dm_task *)arg;
    t->status = dm_phase_consignments(t->sh, t->c0, t->c1, &t->err);
    return NULL;
}

/* Run a phase over T slices, in threads when T > 1; the error reported is the one
 * of the earliest failing slice, i.e. the same as a single-threaded run. */
static int dm_run_phase(dm_task *tasks, int T, void *(*fn)(void *), dm_error *err)
{
#ifndef DM_NO_THREADS
    pthread_t th[DM_MAX_THREADS];
    int started[DM_MAX_THREADS] = {0};
    for (int t = 1; t < T; t++)
        started[t] = pthread_create(&th[t], NULL, fn, &tasks[t]) == 0;
    fn(&tasks[0]);
    for (int t = 1; t < T; t++) {
        if (started[t]) pthread_join(th[t], NULL);
        else fn(&tasks[t]); /* could not start a thread: do its slice here */
    }
#else
    for (int t = 0; t < T; t++) fn(&tasks[t]);
#endif
    for (int t = 0; t < T; t++)
        if (tasks[t].status != DM_OK) { *err = tasks[t].err; return tasks[t].status; }
    return DM_OK;
}

/* The whole assessment.  n_threads <= 1 runs on the calling thread only.  Items
 * are split among threads at consignment boundaries with about equal item counts. */
static int dm_assess(const dm_input *in, const dm_params *p, dm_output *out, dm_error *err, int n_threads)
{
    const int64_t n = in->n_items, C = in->n_cons;
    int status = DM_OK;
    err->index = 0; err->what = 0;
    dm_shared sh;
    memset(&sh, 0, sizeof(sh));
    sh.in = in; sh.p = p; sh.out = out;

    int64_t *offsets = calloc((size_t)C + 1, sizeof(int64_t));
    int64_t *perm = malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
    int64_t *c_freight = calloc((size_t)(C > 0 ? C : 1), sizeof(int64_t));
    int64_t *agg_store = NULL;
    if (!offsets || !perm || !c_freight) { status = DM_NOMEM; goto done; }

    /* 1. group items by consignment: identity when already grouped in order,
     *    else a stable counting sort */
    int sorted = 1;
    for (int64_t i = 0; i < n; i++) {
        offsets[in->cons[i] + 1]++;
        if (i && in->cons[i] < in->cons[i - 1]) sorted = 0;
    }
    int64_t max_len = 1;
    for (int64_t c = 0; c < C; c++) {
        if (offsets[c + 1] > max_len) max_len = offsets[c + 1];
        offsets[c + 1] += offsets[c];
    }
    if (sorted) {
        for (int64_t i = 0; i < n; i++) perm[i] = i;
    } else {
        int64_t *fill = malloc((size_t)(C > 0 ? C : 1) * sizeof(int64_t));
        if (!fill) { status = DM_NOMEM; goto done; }
        memcpy(fill, offsets, (size_t)C * sizeof(int64_t));
        for (int64_t i = 0; i < n; i++) perm[fill[in->cons[i]]++] = i;
        free(fill);
    }
    sh.offsets = offsets; sh.perm = perm; sh.c_freight = c_freight; sh.max_len = max_len;

    /* conditions that aggregate need per-consignment arrays */
    {
        const dm_rule *rules = p->rules;
        int64_t needed = 0;
        for (int r = 0; r < DM_N_RULES; r++)
            if (rules[r].enabled) needed += rules[r].n_conds;
        agg_store = calloc((size_t)(needed > 0 ? needed : 1) * (size_t)(C > 0 ? C : 1), sizeof(int64_t));
        if (!agg_store) { status = DM_NOMEM; goto done; }
        int64_t used = 0;
        for (int r = 0; r < DM_N_RULES; r++)
            for (int k = 0; k < DM_MAX_CONDS; k++)
                sh.agg[r][k] = (rules[r].enabled && k < rules[r].n_conds)
                                   ? agg_store + (size_t)(used++) * (size_t)C : NULL;
    }

    int T = n_threads < 1 ? 1 : (n_threads > DM_MAX_THREADS ? DM_MAX_THREADS : n_threads);
    if (C < 2 * T) T = 1;
    dm_task tasks[DM_MAX_THREADS];
    {
        int64_t c = 0;
        for (int t = 0; t < T; t++) {
            int64_t target = (t + 1 == T) ? n : n * (t + 1) / T, lo = c, hi = C;
            while (lo < hi) { /* first consignment starting at or after target */
                int64_t mid = lo + (hi - lo) / 2;
                if (offsets[mid] < target) lo = mid + 1; else hi = mid;
            }
            tasks[t].sh = &sh; tasks[t].c0 = c; tasks[t].c1 = (t + 1 == T) ? C : lo;
            tasks[t].status = DM_OK; tasks[t].err.index = 0; tasks[t].err.what = 0;
            c = tasks[t].c1;
        }
    }

    /* 2. conversion into the customs currency; consignment intrinsic and customs value */
    status = dm_run_phase(tasks, T, dm_run_convert, err);
    if (status != DM_OK) goto done;

    /* 3. aggregates of the consignment-level conditions of every rule */
    {
        for (int r = 0; r < DM_N_RULES; r++) {
            status = dm_rule_aggregates(&p->rules[r], C, out->c_intrinsic, out->c_customs, sh.agg[r], err);
            if (status != DM_OK) {
                if (status == DM_OVERFLOW && err->index < 0) {
                    int64_t c = -err->index - 1;
                    err->index = perm[offsets[c]];
                }
                goto done;
            }
        }
    }

    /* 4. per consignment: allocation, duty, VAT, waivers, fees, totals */
    for (int t = 0; t < T; t++) tasks[t].status = DM_OK;
    status = dm_run_phase(tasks, T, dm_run_consignments, err);

done:
    free(offsets); free(perm); free(c_freight); free(agg_store);
    return status;
}

#endif /* DM_ASSESS_H */
