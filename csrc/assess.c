/* The assessment kernel (the contract is in assess.h): steps 1 to 5 of
 * docs/semantics.md per consignment, over slices of consignments in threads,
 * and the job that runs it on a thread of its own. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "allocate.h"
#include "assess.h"
#include "checked.h"
#include "threads.h"

static int dm_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sort packed (key << 32 | position) values ascending: groups by key, stable. */
static inline void dm_sort_keys(int64_t *v, int64_t k)
{
    if (k < 2) return;
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

/* An item's (or a consignment's summed) value and quantities, as a measure reads them. */
typedef struct { int64_t value, mass, vol, qty, alc; } dm_basis;

static inline int dm_clause_amount(const dm_clause *c, const dm_basis *q, const dm_rounding *r, int64_t *out)
{
    dm_u128 n = dm_mul64((uint64_t)q->value, (uint64_t)c->adv); /* most lines are ad valorem only */
    if (c->mass) n = dm_u128_add(n, dm_mul64((uint64_t)q->mass, (uint64_t)c->mass));
    if (c->vol) n = dm_u128_add(n, dm_mul64((uint64_t)q->vol, (uint64_t)c->vol));
    if (c->qty) n = dm_u128_add(n, dm_mul64((uint64_t)q->qty, (uint64_t)c->qty));
    if (c->alc) { /* the fifth product may carry out of 128 bits: then the quotient is beyond int64 too */
        const dm_u128 s = dm_u128_add(n, dm_mul64((uint64_t)q->alc, (uint64_t)c->alc));
        if (dm_u128_hi(s) < dm_u128_hi(n)) return 1;
        n = s;
    }
    return dm_round_div_u(n, (uint64_t)c->den, r->mode, r->quantum, out);
}

static inline int dm_measure_amount(const dm_measure *m, const dm_basis *q, const dm_rounding *r, int64_t *out)
{
    int64_t d, b;
    if (dm_clause_amount(&m->main, q, r, &d)) return 1;
    if (m->has_lo) {
        if (dm_clause_amount(&m->lo, q, r, &b)) return 1;
        if (b > d) d = b;
    }
    if (m->has_hi) {
        if (dm_clause_amount(&m->hi, q, r, &b)) return 1;
        if (b < d) d = b;
    }
    if (m->has_sub) { /* a reduction beyond the duty leaves none, never a refund */
        if (dm_clause_amount(&m->sub, q, r, &b)) return 1;
        d = b < d ? d - b : 0;
    }
    *out = d;
    return 0;
}

static inline int dm_cmp_threshold(int64_t x, int64_t thr, int inclusive)
{
    return inclusive ? x <= thr : x < thr;
}

/* A condition's threshold for consignment c: its destination's, where the regime gives one per destination. */
static inline int64_t dm_threshold(const dm_cond *cd, int64_t c)
{
    return cd->thresholds ? cd->thresholds[c] : cd->threshold;
}

/* Consignment-level part of a rule: eligibility and every non-item condition.
 * A per-consignment condition reads the consignment's own values; a group or
 * cumulative one its aggregate (agg[k], filled between the phases). */
DM_INLINE int dm_rule_cons(const dm_rule *r, int64_t c, const uint8_t *flag, int64_t *const *agg,
                           int64_t c_intr, int64_t c_cust)
{
    if (!r->enabled) return 0;
    if (r->cons_ok && !r->cons_ok[c]) return 0;
    if (r->requires_flag && !flag[c]) return 0;
    for (int k = 0; k < r->n_conds; k++) {
        const dm_cond *cd = &r->conds[k];
        int64_t x;
        if (cd->per == DM_PER_ITEM) continue;
        if (cd->per == DM_PER_CONSIGNMENT) x = cd->basis == DM_BASIS_INTRINSIC ? c_intr : c_cust;
        else x = agg[k][c];
        if (!dm_cmp_threshold(x, dm_threshold(cd, c), cd->inclusive)) return 0;
    }
    return 1;
}

/* Item-level part of a rule, for an item of consignment c. */
DM_INLINE int dm_rule_item(const dm_rule *r, int64_t c, uint16_t item_flags, int64_t intrinsic, int64_t customs)
{
    if (item_flags & r->excl_bit) return 0;
    for (int k = 0; k < r->n_conds; k++) {
        const dm_cond *cd = &r->conds[k];
        if (cd->per != DM_PER_ITEM) continue;
        int64_t x = cd->basis == DM_BASIS_INTRINSIC ? intrinsic : customs;
        if (!dm_cmp_threshold(x, dm_threshold(cd, c), cd->inclusive)) return 0;
    }
    return 1;
}

/* Does a condition sum over several consignments (needs every consignment converted first)? */
static inline int dm_cond_is_global(const dm_cond *cd)
{
    return cd->per == DM_PER_GROUP || cd->per == DM_PER_CUMULATIVE;
}

/* Are a condition's group ids in [0, n_groups) and its order (cumulative) a
 * permutation of the consignments?  DM_BADARG naming the first bad entry if not. */
static int dm_check_groups(const dm_cond *cd, int64_t n_cons, dm_error *err)
{
    for (int64_t c = 0; c < n_cons; c++)
        if ((uint64_t)cd->group[c] >= (uint64_t)cd->n_groups) {
            err->index = c; err->what = DM_B_GROUP; return DM_BADARG;
        }
    if (cd->per != DM_PER_CUMULATIVE) return DM_OK;
    uint8_t *seen = calloc((size_t)(n_cons > 0 ? n_cons : 1), 1);
    if (!seen) return DM_NOMEM;
    for (int64_t j = 0; j < n_cons; j++) {
        int64_t c = cd->order[j];
        if ((uint64_t)c >= (uint64_t)n_cons || seen[c]) {
            free(seen); err->index = j; err->what = DM_B_ORDER; return DM_BADARG;
        }
        seen[c] = 1;
    }
    free(seen);
    return DM_OK;
}

/* Per-consignment aggregate of each group or cumulative condition of a rule. */
static int dm_rule_aggregates(const dm_rule *r, int64_t n_cons, const int64_t *c_intr,
                              const int64_t *c_cust, int64_t *const *agg, dm_error *err)
{
    for (int k = 0; k < r->n_conds; k++) {
        const dm_cond *cd = &r->conds[k];
        if (!r->enabled || !dm_cond_is_global(cd)) continue;
        int status = dm_check_groups(cd, n_cons, err);
        if (status != DM_OK) return status;
        const int64_t *base = cd->basis == DM_BASIS_INTRINSIC ? c_intr : c_cust;
        int64_t *a = agg[k];
        if (cd->per == DM_PER_GROUP) {
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
    /* items grouped by consignment: NULL, NULL when the input already is (then
     * consignment c is the run of rows with cons == c); else a counting sort */
    const int64_t *offsets, *perm;
    int64_t *agg[DM_N_RULES][DM_MAX_CONDS];   /* group / cumulative conditions only */
    int32_t n_relief;                          /* enabled relief slots, listed in relief[] */
    int32_t lean;                              /* see dm_consignment */
    int32_t fused;                             /* conversion inside the consignment pass (no phase A) */
    int32_t relief[2 * DM_MAX_RELIEFS];
    const int *cancel;                         /* set (by another thread) to stop early, or NULL */
} dm_shared;

/* Has the caller asked the assessment to stop?  Polled between consignments. */
static inline int dm_cancelled(const dm_shared *sh)
{
    return sh->cancel && dm_atomic_load(sh->cancel);
}

/* One item of the consignment at hand, staged while it is assessed. */
typedef struct {
    int64_t row, intr, cv, tr, duty, dsale, vat, vsale, fee, base;
    int32_t rule;
    uint16_t flags;
    uint8_t sale;
} dm_item;

/* The int64 field at byte offset `off` of staged item j (allocation weights and results). */
#define DM_FIELD(S, j, off) (*(int64_t *)((char *)&(S)->it[j] + (off)))
#define DM_J(x) ((x) & 0xffffffff)

/* One thread's staging area, for consignments of up to max_len items. */
typedef struct {
    dm_item *it;
    int64_t *keys, *w, *alloc;   /* packed (key << 32 | j) groups; allocation weights and results */
    dm_rem *rem;
} dm_scratch;

static void *dm_scratch_init(dm_scratch *S, int64_t max_len)
{
    size_t L = (size_t)(max_len > 0 ? max_len : 1);
    char *block = malloc(L * (sizeof(dm_rem) + sizeof(dm_item) + 3 * sizeof(int64_t)));
    if (!block) return NULL;
    S->rem = (dm_rem *)block;                 /* 16-byte aligned first */
    S->it = (dm_item *)(S->rem + L);
    S->keys = (int64_t *)(S->it + L);
    S->w = S->keys + L;
    S->alloc = S->w + L;
    return block;
}

/* One thread's slice: consignments [c0, c1), starting at position i0 of the grouped items. */
typedef struct {
    const dm_shared *sh;
    int64_t c0, c1, i0;
    dm_scratch S;
    int status;
    dm_error err;
} dm_task;

/* Consignment c's items: positions [b, returned end) of the grouped items. */
static inline int64_t dm_cons_end(const dm_shared *sh, int64_t c, int64_t b)
{
    if (sh->offsets) return sh->offsets[c + 1];
    const int64_t *cons = sh->in->cons, n = sh->in->n_items;
    while (b < n && cons[b] == c) b++;
    return b;
}

/* An amount in the customs currency: round(a * mul / div); a factor of exactly 1 needs no rounding. */
static inline int dm_convert(int64_t a, int64_t mul, int64_t div, const dm_rounding *r, int64_t *out)
{
    if (mul == 1 && div == 1) { *out = a; return 0; }
    return dm_round_mul_div(a, mul, div, r->mode, r->quantum, out);
}

/* Which table index of item i is out of range (a DM_B_* code), or 0. */
static inline int dm_bad_index(const dm_input *in, int64_t i)
{
    if ((uint64_t)(uint32_t)in->cur[i] >= (uint64_t)in->n_conv) return DM_B_CUR;
    if ((uint64_t)(uint32_t)in->measure[i] >= (uint64_t)in->n_measures) return DM_B_MEASURE;
    if ((uint64_t)(uint32_t)in->vat_rate[i] >= (uint64_t)in->n_vat) return DM_B_VAT_RATE;
    if ((uint64_t)(uint32_t)in->vat_rate_reduced[i] >= (uint64_t)in->n_vat) return DM_B_VAT_REDUCED;
    if (in->flat_key[i] < 0) return DM_B_FLAT_KEY; /* a key, not an index: only its sign matters */
    return 0;
}

/* Step 2 for consignment c (k items from position b): the items' rows and converted
 * values staged in S; the consignment's intrinsic value, transport costs (*freight),
 * customs value and item count.  With `check`, first the table indices of the items
 * and the consignment (the kernel reads its tables only through indices checked here,
 * once per item: in phase A when it runs, else in phase C). */
static int dm_convert_consignment(const dm_shared *sh, int64_t c, int64_t b, int64_t k, dm_scratch *S,
                                  int64_t *freight, dm_error *err, int check)
{
    const dm_input *in = sh->in;
    const dm_params *p = sh->p;
    dm_output *out = sh->out;
    dm_item *it = S->it;
    int status = DM_OK;
    int64_t s = 0, f = 0, ins = 0;
    if (check && (uint64_t)(uint32_t)in->freight_cur[c] >= (uint64_t)in->n_conv) {
        err->index = c; err->what = DM_B_FREIGHT_CUR; return DM_BADARG;
    }
    for (int64_t j = 0; j < k; j++) {
        const int64_t i = sh->perm ? sh->perm[b + j] : b + j;
        int bad;
        if (check && (bad = dm_bad_index(in, i))) { err->index = i; err->what = bad; return DM_BADARG; }
        const int32_t q = in->cur[i];
        it[j].row = i;
        if (dm_convert(in->value[i], in->conv_mul[q], in->conv_div[q], &p->conv, &it[j].intr))
            DM_FAIL(i, DM_W_CONVERSION);
        if (dm_add(s, it[j].intr, &s)) DM_FAIL(it[0].row, DM_W_CONSIGNMENT_SUM);
    }
    const int32_t q = in->freight_cur[c];
    if (dm_convert(in->freight[c], in->conv_mul[q], in->conv_div[q], &p->conv, &f) ||
        (in->insurance && dm_convert(in->insurance[c], in->conv_mul[q], in->conv_div[q], &p->conv, &ins)) ||
        dm_add(f, ins, &f))
        DM_FAIL(k ? it[0].row : 0, DM_W_FREIGHT);
    *freight = f;
    out->c_intrinsic[c] = s;
    out->c_items[c] = k;
    if (dm_add(s, p->cif ? f : 0, &out->c_customs[c])) DM_FAIL(k ? it[0].row : 0, DM_W_CONSIGNMENT_SUM);
done:
    return status;
}

/* Allocate `total` over m staged items (sel: their packed j's, or NULL for items 0..m-1)
 * by the int64 field at offset w_off, into the field at offset out_off; the common
 * shapes (one item, nothing to share) without the general routine. */
static inline void dm_share(int64_t total, dm_scratch *S, const int64_t *sel, int64_t m, size_t w_off, size_t out_off)
{
    if (m == 1) { DM_FIELD(S, sel ? DM_J(sel[0]) : 0, out_off) = total; return; }
    if (total == 0) {
        for (int64_t t = 0; t < m; t++) DM_FIELD(S, sel ? DM_J(sel[t]) : t, out_off) = 0;
        return;
    }
    for (int64_t t = 0; t < m; t++) S->w[t] = DM_FIELD(S, sel ? DM_J(sel[t]) : t, w_off);
    dm_allocate(total, S->w, m, S->alloc, S->rem);
    for (int64_t t = 0; t < m; t++) DM_FIELD(S, sel ? DM_J(sel[t]) : t, out_off) = S->alloc[t];
}
#define DM_OFF(field) offsetof(dm_item, field)

/* Waivers of one target on the staged items: an amount > 0 at or below the
 * threshold (per item, or the consignment's total) is not collected. */
static int dm_waive(const dm_params *p, int target, dm_scratch *S, int64_t k, dm_error *err)
{
    int status = DM_OK;
    dm_item *it = S->it;
    for (int q = 0; q < p->n_waivers; q++) {
        const dm_waiver *wv = &p->waivers[q];
        if (wv->target != target) continue;
        int64_t s = 0;
        for (int64_t j = 0; j < k; j++) {
            int64_t amount = 0;
            if (it[j].flags & wv->excl_bit) continue; /* neither counted nor cleared */
            if ((target != DM_WAIVE_VAT && dm_add(amount, it[j].duty, &amount)) ||
                (target != DM_WAIVE_DUTY && dm_add(amount, it[j].vat, &amount)))
                DM_FAIL(it[j].row, DM_W_TOTAL);
            if (wv->per == DM_PER_ITEM) {
                if (amount > 0 && dm_cmp_threshold(amount, wv->threshold, wv->inclusive)) {
                    if (target != DM_WAIVE_VAT && it[j].duty > 0) { it[j].duty = 0; it[j].rule |= DM_RULE_DUTY_WAIVED; }
                    if (target != DM_WAIVE_DUTY && it[j].vat > 0) { it[j].vat = 0; it[j].rule |= DM_RULE_VAT_WAIVED; }
                }
            } else if (dm_add(s, amount, &s)) {
                DM_FAIL(it[0].row, DM_W_TOTAL);
            }
        }
        if (wv->per != DM_PER_ITEM && s > 0 && dm_cmp_threshold(s, wv->threshold, wv->inclusive))
            for (int64_t j = 0; j < k; j++) {
                if (it[j].flags & wv->excl_bit) continue;
                if (target != DM_WAIVE_VAT && it[j].duty > 0) { it[j].duty = 0; it[j].rule |= DM_RULE_DUTY_WAIVED; }
                if (target != DM_WAIVE_DUTY && it[j].vat > 0) { it[j].vat = 0; it[j].rule |= DM_RULE_VAT_WAIVED; }
            }
    }
done:
    return status;
}

/* The value an ad valorem rate applies to: rounded first where the regime says so. */
DM_INLINE int dm_base(int enabled, const dm_rounding *r, int64_t v, int64_t *out)
{
    if (!enabled) { *out = v; return 0; }
    return dm_round_div_u(dm_u128_of((uint64_t)v), 1, r->mode, r->quantum, out);
}

/* The VAT on a base at an effective rate, with its surtaxes, each rounded on its own. */
DM_INLINE int dm_vat_amount(const dm_params *p, int64_t base, int64_t num, int64_t den, int64_t *out)
{
    int64_t vat, s;
    if (dm_round_mul_div(base, num, den, p->vat.mode, p->vat.quantum, &vat)) return 1;
    *out = vat;
    for (int q = 0; q < p->n_surtaxes; q++) {
        const dm_surtax *t = &p->surtaxes[q];
        if (dm_round_mul_div(vat, t->num, t->den, t->rounding.mode, t->rounding.quantum, &s) || dm_add(*out, s, out))
            return 1;
    }
    return 0;
}

/* Packed (key << 32 | j) values sorted by dm_sort_keys: the end of the run of v[s]'s key. */
static inline int64_t dm_group_end(const int64_t *v, int64_t n, int64_t s)
{
    int64_t e = s + 1;
    while (e < n && (v[e] >> 32) == (v[s] >> 32)) e++;
    return e;
}

/* Steps 3-5 for consignment c, on its k items staged in S by dm_convert_consignment:
 * allocation, duty, VAT, waivers, fees, totals; each output is written once, at the end. */
DM_INLINE int dm_consignment_impl(const dm_shared *sh, int64_t c, int64_t k, dm_scratch *S, int64_t freight,
                                  dm_error *err, const int lean)
{
    const dm_input *in = sh->in;
    const dm_params *p = sh->p;
    dm_output *out = sh->out;
    const dm_rule *R = p->rules;
    dm_item *it = S->it;
    int64_t *keys = S->keys;
    const int64_t c_intr = out->c_intrinsic[c], c_cust = out->c_customs[c];
    /* loop-invariant settings, read once (stores to the staged items could alias them) */
    const int cif = p->cif, duty_per_item = lean || p->duty.level == DM_LEVEL_ITEM;
    const int vat_per_item = lean || p->vat.level == DM_LEVEL_ITEM, vat_transport = !cif && p->vat_adds_transport;
    int status = DM_OK;
    if (k == 0) return DM_OK;

#define DM_CONS_OK(r) dm_rule_cons(&R[r], c, in->at_sale_flag, sh->agg[r], c_intr, c_cust)
    int relief_c[2 * DM_MAX_RELIEFS] = {0};
    int any_duty_relief = 0, any_vat_relief = 0;
    for (int t = 0; !lean && t < sh->n_relief; t++) {
        const int r = sh->relief[t];
        relief_c[r] = DM_CONS_OK(r);
        if (relief_c[r] && r < DM_R_VAT_RELIEF) any_duty_relief = 1;
        if (relief_c[r] && r >= DM_R_VAT_RELIEF) any_vat_relief = 1;
    }
    const int at_sale_c = R[DM_R_AT_SALE].enabled && DM_CONS_OK(DM_R_AT_SALE);
    const int flat_c = R[DM_R_FLAT].enabled && DM_CONS_OK(DM_R_FLAT);
    const int reduce_c = R[DM_R_VAT_REDUCTION].enabled && DM_CONS_OK(DM_R_VAT_REDUCTION);
    const dm_band *band = NULL;
    if (!lean && R[DM_R_SIMPLIFIED].enabled && DM_CONS_OK(DM_R_SIMPLIFIED)) {
        int64_t v = p->simplified_basis == DM_BASIS_INTRINSIC ? c_intr : c_cust;
        for (int q = 0; q < p->n_bands && !band; q++)
            if (v <= p->bands[q].up_to) band = &p->bands[q];
    }
#undef DM_CONS_OK

    /* 4a. freight and insurance allocated by intrinsic value */
    dm_share(freight, S, NULL, k, DM_OFF(intr), DM_OFF(tr));
    for (int64_t j = 0; j < k; j++) {
        dm_item *x = &it[j];
        x->cv = x->intr + (cif ? x->tr : 0); /* <= c_customs */
        x->flags = in->item_flags[x->row];
        x->rule = 0;
        x->duty = x->dsale = x->vat = x->vsale = x->fee = 0;
        x->sale = (uint8_t)(at_sale_c && dm_rule_item(&R[DM_R_AT_SALE], c, x->flags, x->intr, x->cv));
    }

    /* 4b. duty: flat per distinct key, simplified by value band, relief, or the tariff measure;
     * keys holds the flat items from the front and the consignment-level measure items from the back */
    int64_t nflat = 0, nsimple = 0, nk = 0;
    for (int64_t j = 0; j < k; j++) {
        dm_item *x = &it[j];
        const int64_t i = x->row;
        int relieved = 0;
        for (int r = DM_R_DUTY_RELIEF; any_duty_relief && r < DM_R_DUTY_RELIEF + DM_MAX_RELIEFS && !relieved; r++)
            relieved = relief_c[r] && dm_rule_item(&R[r], c, x->flags, x->intr, x->cv);
        if (flat_c && dm_rule_item(&R[DM_R_FLAT], c, x->flags, x->intr, x->cv)) {
            x->rule |= DM_RULE_FLAT_DUTY;
            keys[nflat++] = ((int64_t)in->flat_key[i] << 32) | j;
        } else if (band && dm_rule_item(&R[DM_R_SIMPLIFIED], c, x->flags, x->intr, x->cv)) {
            x->rule |= DM_RULE_SIMPLIFIED_DUTY;
            nsimple++;
        } else if (relieved) {
            x->rule |= DM_RULE_DUTY_RELIEF;
        } else if (in->measures[in->measure[i]].cannot_assess) {
            x->rule |= DM_RULE_CANNOT_ASSESS;
        } else if (duty_per_item) {
            dm_basis q = {0, in->mass ? in->mass[i] : 0, in->vol ? in->vol[i] : 0, in->qty ? in->qty[i] : 0,
                          in->alc ? in->alc[i] : 0};
            if (dm_base(!lean && p->duty_base_rounded, &p->duty_base, x->cv, &q.value) ||
                dm_measure_amount(&in->measures[in->measure[i]], &q, &p->duty, &x->duty))
                DM_FAIL(i, DM_W_DUTY);
        } else {
            keys[k - ++nk] = ((int64_t)in->measure[i] << 32) | j;
        }
    }
    if (nsimple) { /* the band's duty on the consignment's value, shared by customs value */
        int64_t *sel = keys + nflat, v = p->simplified_basis == DM_BASIS_INTRINSIC ? c_intr : c_cust, amount;
        for (int64_t j = 0, t = 0; j < k; j++)  /* between the flat keys and the measure keys */
            if (it[j].rule & DM_RULE_SIMPLIFIED_DUTY) sel[t++] = j;
        if (dm_round_mul_div(v, band->pct_num, band->pct_den, p->duty.mode, p->duty.quantum, &amount))
            DM_FAIL(it[sel[0]].row, DM_W_DUTY);
        amount = amount > band->deduction ? amount - band->deduction : 0;
        dm_share(amount, S, sel, nsimple, DM_OFF(cv), DM_OFF(duty));
    }
    /* one flat amount per distinct key, allocated over its items by intrinsic value */
    dm_sort_keys(keys, nflat);
    for (int64_t s = 0, e; s < nflat; s = e) {
        e = dm_group_end(keys, nflat, s);
        dm_share(p->flat_amount, S, keys + s, e - s, DM_OFF(intr), DM_OFF(duty));
    }
    /* consignment-level duty rounding: per measure, on summed quantities */
    int64_t *mk = keys + k - nk;
    dm_sort_keys(mk, nk);
    for (int64_t s = 0, e; s < nk; s = e) {
        e = dm_group_end(mk, nk, s);
        dm_basis q = {0, 0, 0, 0, 0};
        int64_t amount;
        for (int64_t t = s; t < e; t++) {
            const int64_t i = it[DM_J(mk[t])].row;
            if (dm_add(q.value, it[DM_J(mk[t])].cv, &q.value) || (in->mass && dm_add(q.mass, in->mass[i], &q.mass)) ||
                (in->vol && dm_add(q.vol, in->vol[i], &q.vol)) || (in->qty && dm_add(q.qty, in->qty[i], &q.qty)) ||
                (in->alc && dm_add(q.alc, in->alc[i], &q.alc)))
                DM_FAIL(i, DM_W_QUANTITY_SUM);
        }
        if (dm_base(p->duty_base_rounded, &p->duty_base, q.value, &q.value) ||
            dm_measure_amount(&in->measures[mk[s] >> 32], &q, &p->duty, &amount))
            DM_FAIL(it[DM_J(mk[s])].row, DM_W_DUTY);
        dm_share(amount, S, mk + s, e - s, DM_OFF(cv), DM_OFF(duty));
    }
    /* duty collected at sale, then waivers of the duty due at the border */
    if (p->at_sale_includes_duty)
        for (int64_t j = 0; j < k; j++)
            if (it[j].sale && it[j].duty > 0) {
                it[j].dsale = it[j].duty;
                it[j].duty = 0;
                it[j].rule |= DM_RULE_DUTY_AT_SALE;
            }
    if (!lean && p->n_waivers && (status = dm_waive(p, DM_WAIVE_DUTY, S, k, err)) != DM_OK) goto done;

    /* 4c. VAT on customs value + duty (+ transport where the base adds it) */
    nk = 0;
    for (int64_t j = 0; j < k; j++) {
        dm_item *x = &it[j];
        const int64_t i = x->row;
        if (dm_add(x->cv, x->duty, &x->base) || dm_add(x->base, x->dsale, &x->base) ||
            dm_add(x->base, vat_transport ? x->tr : 0, &x->base))
            DM_FAIL(i, DM_W_VAT);
        int relieved = 0;
        for (int r = DM_R_VAT_RELIEF; any_vat_relief && r < DM_R_VAT_RELIEF + DM_MAX_RELIEFS && !relieved; r++)
            relieved = relief_c[r] && dm_rule_item(&R[r], c, x->flags, x->intr, x->cv);
        if (!x->sale && relieved) {
            x->rule |= DM_RULE_VAT_RELIEF;
            continue;
        }
        if (x->sale) x->rule |= DM_RULE_VAT_AT_SALE;
        int32_t rate = in->vat_rate[i];
        if (reduce_c && dm_rule_item(&R[DM_R_VAT_REDUCTION], c, x->flags, x->intr, x->cv)) {
            rate = in->vat_rate_reduced[i];
            x->rule |= DM_RULE_VAT_REDUCED;
        }
        if (vat_per_item) {
            int64_t base, v;
            if (dm_base(!lean && p->vat_base_rounded, &p->vat_base, x->base, &base) ||
                dm_vat_amount(p, base, in->vat_num[rate], in->vat_den[rate], &v))
                DM_FAIL(i, DM_W_VAT);
            if (x->sale) x->vsale = v; else x->vat = v;
        } else {
            keys[nk++] = ((int64_t)(rate * 2 + x->sale) << 32) | j;
        }
    }
    /* consignment-level VAT rounding: per (rate, at sale) group on the summed base */
    dm_sort_keys(keys, nk);
    for (int64_t s = 0, e; s < nk; s = e) {
        e = dm_group_end(keys, nk, s);
        const int64_t key = keys[s] >> 32;
        int64_t sb = 0, amount;
        for (int64_t t = s; t < e; t++)
            if (dm_add(sb, it[DM_J(keys[t])].base, &sb)) DM_FAIL(it[DM_J(keys[t])].row, DM_W_VAT);
        if (dm_base(p->vat_base_rounded, &p->vat_base, sb, &sb) ||
            dm_vat_amount(p, sb, in->vat_num[key >> 1], in->vat_den[key >> 1], &amount))
            DM_FAIL(it[DM_J(keys[s])].row, DM_W_VAT);
        dm_share(amount, S, keys + s, e - s, DM_OFF(base), (key & 1) ? DM_OFF(vsale) : DM_OFF(vat));
    }
    /* waivers of the VAT, then of duty and VAT together, due at the border */
    if (!lean && p->n_waivers &&
        ((status = dm_waive(p, DM_WAIVE_VAT, S, k, err)) != DM_OK ||
         (status = dm_waive(p, DM_WAIVE_BOTH, S, k, err)) != DM_OK))
        goto done;

    /* 4d. fees, allocated over the consignment's items by customs value */
    int64_t fee_total = 0;
    if (!lean && p->n_fees) {
        int due = 0, entry = 0;
        for (int64_t j = 0; j < k; j++) {
            if (it[j].duty > 0 || it[j].vat > 0) due = 1;
            if (!(it[j].rule & DM_RULE_DUTY_RELIEF)) entry = 1;
        }
        for (int q = 0; q < p->n_fees; q++) {
            const dm_fee *fe = &p->fees[q];
            int64_t amount = 0;
            if (fe->cons_ok && !fe->cons_ok[c]) continue;
            if (fe->when_due == DM_DUE_IF_DUE && !due) continue;
            if (fe->when_due == DM_DUE_IF_ENTRY && !entry) continue;
            if (fe->value_above >= 0 && !(c_cust > fe->value_above)) continue;
            if (fe->value_up_to >= 0 && !(c_cust <= fe->value_up_to)) continue;
            if (fe->adv_num &&
                dm_round_mul_div(c_cust, fe->adv_num, fe->adv_den, p->fee.mode, p->fee.quantum, &amount))
                DM_FAIL(it[0].row, DM_W_FEE);
            if (dm_add(amount, fe->fixed, &amount)) DM_FAIL(it[0].row, DM_W_FEE);
            if (fe->has_min && amount < fe->min) amount = fe->min;
            if (fe->has_max && amount > fe->max) amount = fe->max;
            if (fe->per == DM_FEE_PER_ITEM && dm_mul(amount, k, &amount)) DM_FAIL(it[0].row, DM_W_FEE);
            if (dm_add(fee_total, amount, &fee_total)) DM_FAIL(it[0].row, DM_W_FEE);
        }
    }
    if (fee_total) dm_share(fee_total, S, NULL, k, DM_OFF(cv), DM_OFF(fee));

    /* 4e. totals, and every item output written once */
    int64_t cd = 0, cdsale = 0, cvat = 0, csale = 0, cfee = 0, ctot = 0;
    for (int64_t j = 0; j < k; j++) {
        const dm_item *x = &it[j];
        const int64_t i = x->row;
        int64_t t;
        if (dm_add(x->duty, x->vat, &t) || dm_add(t, x->fee, &t)) DM_FAIL(i, DM_W_TOTAL);
        if (dm_add(cd, x->duty, &cd) || dm_add(cdsale, x->dsale, &cdsale) || dm_add(cvat, x->vat, &cvat) ||
            dm_add(csale, x->vsale, &csale) || dm_add(cfee, x->fee, &cfee) || dm_add(ctot, t, &ctot))
            DM_FAIL(i, DM_W_TOTAL);
        out->intrinsic[i] = x->intr;
        out->customs_value[i] = x->cv;
        out->duty[i] = x->duty;
        out->duty_at_sale[i] = x->dsale;
        out->vat[i] = x->vat;
        out->vat_at_sale[i] = x->vsale;
        out->fees[i] = x->fee;
        out->total[i] = t;
        out->rule[i] = x->rule | (x->fee > 0 ? DM_RULE_FEE : 0);
    }
    out->c_duty[c] = cd; out->c_duty_at_sale[c] = cdsale; out->c_vat[c] = cvat; out->c_vat_at_sale[c] = csale;
    out->c_fees[c] = cfee; out->c_total[c] = ctot;
done:
    return status;
}

/* The common regime shape (no reliefs, waivers, fees or simplified duty; duty and VAT
 * rounded per item on unrounded bases) gets its own copy of the code above with those
 * branches compiled out; every other shape runs the general one. */
static int dm_consignment(const dm_shared *sh, int64_t c, int64_t k, dm_scratch *S, int64_t freight, dm_error *err)
{
    return sh->lean ? dm_consignment_impl(sh, c, k, S, freight, err, 1) : dm_consignment_impl(sh, c, k, S, freight, err, 0);
}

/* Is this error one of step 2 (conversion and consignment sums), which the
 * unfused order reports before any error of the later steps? */
static inline int dm_is_step2_error(int status, const dm_error *e)
{
    return status != DM_OVERFLOW ||
           e->what == DM_W_CONVERSION || e->what == DM_W_FREIGHT || e->what == DM_W_CONSIGNMENT_SUM;
}

#define DM_MAX_THREADS 64

/* items between two polls of the cancel flag (a fraction of a millisecond of work) */
#define DM_POLL_ITEMS 4096

/* Phase A (only when some condition aggregates over consignments): step 2 for the slice. */
static void dm_run_convert(void *arg)
{
    dm_task *t = (dm_task *)arg;
    int64_t freight, poll = t->i0;
    t->status = DM_OK;
    for (int64_t c = t->c0, b = t->i0, e; c < t->c1 && t->status == DM_OK; c++, b = e) {
        if (b >= poll) {
            if (dm_cancelled(t->sh)) { t->status = DM_CANCELLED; break; }
            poll = b + DM_POLL_ITEMS;
        }
        e = dm_cons_end(t->sh, c, b);
        t->status = dm_convert_consignment(t->sh, c, b, e - b, &t->S, &freight, &t->err, 1);
    }
}

/* Phase C: the slice's consignments, each converted (again, when phase A ran) and assessed. */
static void dm_run_consignments(void *arg)
{
    dm_task *t = (dm_task *)arg;
    const int check = t->sh->fused; /* else phase A checked the indices */
    int64_t freight, c = t->c0, b = t->i0, e = b, poll = b;
    t->status = DM_OK;
    for (; c < t->c1; c++, b = e) {
        if (b >= poll) {
            if (dm_cancelled(t->sh)) { t->status = DM_CANCELLED; return; }
            poll = b + DM_POLL_ITEMS;
        }
        e = dm_cons_end(t->sh, c, b);
        if ((t->status = dm_convert_consignment(t->sh, c, b, e - b, &t->S, &freight, &t->err, check)) != DM_OK ||
            (t->status = dm_consignment(t->sh, c, e - b, &t->S, freight, &t->err)) != DM_OK)
            break;
    }
    /* fused: a step-2 error later in the slice is reported before this one, as unfused */
    if (t->sh->fused && t->status != DM_OK && !dm_is_step2_error(t->status, &t->err))
        for (c++, b = e; c < t->c1; c++, b = e) {
            dm_error e2;
            e = dm_cons_end(t->sh, c, b);
            int s2 = dm_convert_consignment(t->sh, c, b, e - b, &t->S, &freight, &e2, check);
            if (s2 != DM_OK) { t->status = s2; t->err = e2; break; }
        }
}

/* Run a phase over T slices, in threads when T > 1.  The error reported is the
 * one a single-threaded, unfused run reports: a step-2 error of the earliest
 * slice that has one, else the first error of the earliest failing slice. */
static int dm_run_phase(dm_task *tasks, int T, void (*fn)(void *), dm_error *err)
{
    dm_thread th[DM_MAX_THREADS];
    int started[DM_MAX_THREADS] = {0};
    for (int t = 1; t < T; t++)
        started[t] = dm_thread_start(&th[t], fn, &tasks[t]);
    fn(&tasks[0]);
    for (int t = 1; t < T; t++) {
        if (started[t]) dm_thread_join(&th[t]);
        else fn(&tasks[t]); /* could not start a thread: do its slice here */
    }
    if (dm_cancelled(tasks[0].sh)) return DM_CANCELLED; /* whatever the slices found */
    for (int pass = 0; pass < 2; pass++)
        for (int t = 0; t < T; t++)
            if (tasks[t].status != DM_OK && (pass == 1 || dm_is_step2_error(tasks[t].status, &tasks[t].err))) {
                *err = tasks[t].err;
                return tasks[t].status;
            }
    return DM_OK;
}

/* The first item row of consignment c (for errors found per consignment). */
static int64_t dm_first_row(const dm_shared *sh, int64_t c)
{
    if (sh->offsets) return sh->perm[sh->offsets[c]];
    int64_t lo = 0, hi = sh->in->n_items; /* grouped: the first row with cons >= c */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (sh->in->cons[mid] < c) lo = mid + 1; else hi = mid;
    }
    return lo;
}

/* The whole assessment (see assess.h). */
int dm_assess(const dm_input *in, const dm_params *p, dm_output *out, dm_error *err, int n_threads,
              const int *cancel)
{
    const int64_t n = in->n_items, C = in->n_cons, *cons = in->cons;
    int status = DM_OK;
    err->index = 0; err->what = 0;
    dm_shared sh;
    memset(&sh, 0, sizeof(sh));
    sh.in = in; sh.p = p; sh.out = out; sh.cancel = cancel;
    dm_task tasks[DM_MAX_THREADS];
    void *scratch[DM_MAX_THREADS] = {0};
    int T = 0;
    int64_t *offsets = NULL, *perm = NULL, *agg_store = NULL;

    /* 1. group items by consignment: nothing to do when each consignment's items are
     *    adjacent and in consignment order (as engine.py's encoding gives them), else a
     *    stable counting sort */
    int sorted = 1;
    int64_t max_len = 1, run = 0;
    for (int64_t i = 0; i < n; i++) {
        if ((uint64_t)cons[i] >= (uint64_t)C) { err->index = i; err->what = DM_B_CONS; status = DM_BADARG; goto done; }
        if (i && cons[i] != cons[i - 1]) {
            if (cons[i] < cons[i - 1]) sorted = 0;
            run = 0;
        }
        if (++run > max_len) max_len = run;
    }
    if (!sorted) {
        offsets = calloc((size_t)C + 1, sizeof(int64_t));
        perm = malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
        int64_t *fill = malloc((size_t)(C > 0 ? C : 1) * sizeof(int64_t));
        if (!offsets || !perm || !fill) { free(fill); status = DM_NOMEM; goto done; }
        for (int64_t i = 0; i < n; i++) offsets[cons[i] + 1]++;
        max_len = 1;
        for (int64_t c = 0; c < C; c++) {
            if (offsets[c + 1] > max_len) max_len = offsets[c + 1];
            offsets[c + 1] += offsets[c];
        }
        memcpy(fill, offsets, (size_t)C * sizeof(int64_t));
        for (int64_t i = 0; i < n; i++) perm[fill[cons[i]]++] = i;
        free(fill);
    }
    sh.offsets = offsets; sh.perm = perm;

    /* group and cumulative conditions need per-consignment aggregates, and every
     * consignment converted before any is assessed (phase A) */
    int64_t n_global = 0;
    for (int r = 0; r < DM_N_RULES; r++)
        for (int k = 0; p->rules[r].enabled && k < p->rules[r].n_conds; k++)
            n_global += dm_cond_is_global(&p->rules[r].conds[k]);
    if (n_global) {
        agg_store = malloc((size_t)n_global * (size_t)(C > 0 ? C : 1) * sizeof(int64_t));
        if (!agg_store) { status = DM_NOMEM; goto done; }
        int64_t used = 0;
        for (int r = 0; r < DM_N_RULES; r++)
            for (int k = 0; p->rules[r].enabled && k < p->rules[r].n_conds; k++)
                if (dm_cond_is_global(&p->rules[r].conds[k])) sh.agg[r][k] = agg_store + (size_t)(used++) * (size_t)C;
    }
    sh.fused = n_global == 0;
    for (int r = DM_R_DUTY_RELIEF; r < DM_R_VAT_RELIEF + DM_MAX_RELIEFS; r++)
        if (p->rules[r].enabled) sh.relief[sh.n_relief++] = r;
    sh.lean = !sh.n_relief && !p->n_waivers && !p->n_fees && !p->rules[DM_R_SIMPLIFIED].enabled &&
              p->duty.level == DM_LEVEL_ITEM && p->vat.level == DM_LEVEL_ITEM &&
              !p->duty_base_rounded && !p->vat_base_rounded;

    /* slices of about n / T items each, cut where a consignment starts */
    T = n_threads < 1 ? 1 : (n_threads > DM_MAX_THREADS ? DM_MAX_THREADS : n_threads);
    if (C < 2 * T) T = 1;
    for (int64_t t = 0, c = 0, i = 0; t < T; t++) {
        int64_t c1 = C, i1 = n;
        if (t + 1 < T) {
            const int64_t target = n * (t + 1) / T;
            if (offsets) { /* first consignment starting at or after target */
                int64_t lo = c, hi = C;
                while (lo < hi) {
                    int64_t mid = lo + (hi - lo) / 2;
                    if (offsets[mid] < target) lo = mid + 1; else hi = mid;
                }
                c1 = lo; i1 = offsets[lo];
            } else { /* grouped: the first row at or after target that starts a consignment */
                i1 = target > i ? target : i;
                while (i1 > 0 && i1 < n && cons[i1] == cons[i1 - 1]) i1++;
                c1 = i1 < n ? cons[i1] : C;
            }
        }
        tasks[t].sh = &sh; tasks[t].c0 = c; tasks[t].c1 = c1; tasks[t].i0 = i;
        tasks[t].status = DM_OK; tasks[t].err.index = 0; tasks[t].err.what = 0;
        c = c1; i = i1;
        if (!(scratch[t] = dm_scratch_init(&tasks[t].S, max_len))) { T = (int)t + 1; status = DM_NOMEM; goto done; }
    }

    if (n_global) {
        /* 2. conversion into the customs currency; consignment intrinsic and customs value */
        status = dm_run_phase(tasks, T, dm_run_convert, err);
        if (status != DM_OK) goto done;
        /* 3. aggregates of the group and cumulative conditions */
        for (int r = 0; r < DM_N_RULES; r++) {
            status = dm_rule_aggregates(&p->rules[r], C, out->c_intrinsic, out->c_customs, sh.agg[r], err);
            if (status != DM_OK) {
                if (status == DM_OVERFLOW && err->index < 0) err->index = dm_first_row(&sh, -err->index - 1);
                goto done;
            }
        }
    }

    /* 4. per consignment (converted first where phase A did not run): allocation, duty,
     *    VAT, waivers, fees, totals */
    status = dm_run_phase(tasks, T, dm_run_consignments, err);

done:
    for (int t = 0; t < T; t++) free(scratch[t]);
    free(offsets); free(perm); free(agg_store);
    return status;
}

/* ------------------------------------------------------------------------ */

static void dm_job_run(void *arg)
{
    dm_job *j = (dm_job *)arg;
    j->status = dm_assess(j->in, j->p, j->out, &j->err, j->n_threads, &j->cancel);
    dm_event_set(&j->done); /* publishes status and err to the waiting thread */
}

/* items below which an assessment runs on the calling thread: it takes a few
 * milliseconds at most, less than a thread costs to start */
#define DM_JOB_MIN_ITEMS 65536

void dm_job_start(dm_job *j, const dm_input *in, const dm_params *p, dm_output *out, int n_threads)
{
    memset(j, 0, sizeof(*j));
    j->in = in; j->p = p; j->out = out; j->n_threads = n_threads;
    dm_event_init(&j->done);
    if (in->n_items >= DM_JOB_MIN_ITEMS && dm_thread_start(&j->th, dm_job_run, j)) {
        j->threaded = 1;
        return;
    }
    /* small, or no thread to be had: run here, to the end */
    dm_job_run(j);
}

int dm_job_wait(dm_job *j, int ms)
{
    return !j->threaded || dm_event_wait(&j->done, ms);
}

void dm_job_cancel(dm_job *j)
{
    dm_atomic_store(&j->cancel, 1);
}

int dm_job_finish(dm_job *j)
{
    if (j->threaded) dm_thread_join(&j->th);
    dm_event_destroy(&j->done);
    return j->status;
}
