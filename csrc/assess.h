/* The assessment kernel's contract: its inputs, parameters, outputs, status
 * codes and entry points.  The kernel itself is csrc/assess.c (plain C, no
 * Python, no allocation of outputs), declared for Cython once, in
 * src/deminimis/_native.pxd.
 *
 * Python (deminimis.engine) encodes the batch into integer columns and compiled
 * tables; the kernel runs the whole computation in the order of
 * docs/semantics.md and returns a status with the index of the first bad item.
 * It never touches the GIL.  deminimis.reference is its executable specification.
 * Every code below (status, rule bit, overflow kind, per, basis, level, ...) is
 * defined here only: Python reads them through _native.pxd (deminimis._core).
 *
 * All amounts are non-negative int64 minor units of the customs currency
 * (inputs are validated non-negative), so products are formed in unsigned
 * 128 bits: a sum of up to four products of int64 factors cannot overflow (a
 * fifth is added with a check).
 */
#ifndef DM_ASSESS_H
#define DM_ASSESS_H

#include <stdint.h>

#include "checked.h" /* DM_ROUND_*: the modes of dm_rounding */
#include "threads.h" /* dm_thread, dm_event: members of dm_job */

#define DM_MAX_CONDS 4
#define DM_MAX_WAIVERS 4
#define DM_MAX_FEES 8
#define DM_MAX_SURTAXES 2

/* What every function of the kernel returns (as an int). */
typedef enum { DM_OK = 0, DM_OVERFLOW = 1, DM_NOMEM = 2, DM_BADARG = 3, DM_CANCELLED = 4 } dm_status;

/* which index is out of range (reported with DM_BADARG; err.index is the row,
 * or the consignment for freight_cur, group and order) */
enum {
    DM_B_CONS = 1, DM_B_CUR = 2, DM_B_MEASURE = 3, DM_B_VAT_RATE = 4, DM_B_VAT_REDUCED = 5,
    DM_B_FLAT_KEY = 6, DM_B_FREIGHT_CUR = 7, DM_B_GROUP = 8, DM_B_ORDER = 9
};

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
enum { DM_FEE_PER_CONSIGNMENT = 0, DM_FEE_PER_ITEM = 1 };
/* when a fee is charged: always; only where duty or VAT is due at the border;
 * only where some item is not relieved of duty (an entry is made) */
enum { DM_DUE_ALWAYS = 0, DM_DUE_IF_DUE = 1, DM_DUE_IF_ENTRY = 2 };

typedef struct { int32_t mode; int32_t level; int64_t quantum; } dm_rounding;

/* amount = (value*adv + mass_g*mass + volume_ml*vol + quantity*qty + alcohol*alc) / den, all >= 0;
 * alcohol is volume_ml * strength in thousandths of a % vol (1e-8 litre of pure alcohol) */
typedef struct { int64_t adv, mass, vol, qty, alc, den; } dm_clause;

/* duty = max(0, min(max(round(main), round(lo)), round(hi)) - round(sub)), the bounds and the
 * subtracted term optional */
typedef struct {
    dm_clause main, lo, hi, sub;
    int32_t has_lo, has_hi, cannot_assess, has_sub;
} dm_measure;

typedef struct {
    int32_t basis, per, inclusive, pad_;
    int64_t threshold;
    const int64_t *thresholds; /* per consignment (by its destination), or NULL: threshold for all */
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
    int32_t per;              /* DM_FEE_PER_* */
    int32_t when_due;         /* DM_DUE_* */
    int32_t has_min, has_max;
    int64_t fixed, adv_num, adv_den, min, max;
    int64_t value_above;      /* applies when consignment customs value > this (-1: no bound) */
    int64_t value_up_to;      /* and <= this (-1: no bound) */
    const uint8_t *cons_ok;   /* per consignment eligibility, or NULL */
} dm_fee;

typedef struct {
    int64_t n_items, n_cons;
    /* items */
    const int64_t *cons, *value, *qty, *mass, *vol, *alc;  /* alc: volume_ml x strength (thousandths) */
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
    int64_t n_conv, n_measures, n_vat;    /* the tables' lengths: every index is checked against them */
} dm_input;

/* A tax on the VAT amount, added to it: round(vat * num / den) with its own rounding (JP: the local
 * consumption tax, 22/78 of the national consumption tax) */
typedef struct { int64_t num, den; dm_rounding rounding; } dm_surtax;

typedef struct {
    int32_t cif, vat_adds_transport, at_sale_includes_duty, simplified_basis;
    dm_rounding conv, duty, vat, fee;
    int32_t duty_base_rounded, vat_base_rounded;   /* round the value duty / VAT is computed on */
    dm_rounding duty_base, vat_base;
    int32_t n_surtaxes, pad2_;
    dm_surtax surtaxes[DM_MAX_SURTAXES];
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

/* The whole assessment.  n_threads <= 1 runs on the calling thread only.  Items
 * are split among threads at consignment boundaries with about equal item counts.
 * cancel (or NULL): set by another thread, the assessment stops within a few thousand
 * items of each thread (DM_POLL_ITEMS in assess.c) (or one consignment, if larger) and returns DM_CANCELLED. */
int dm_assess(const dm_input *in, const dm_params *p, dm_output *out, dm_error *err, int n_threads,
              const int *cancel);

/* An assessment on a thread of its own, so that the caller can wait for it in
 * slices (dm_job_wait), look for Ctrl-C between them and stop it (dm_job_cancel):
 * dm_job_start, then dm_job_wait until it says done (or dm_job_cancel), then
 * dm_job_finish, always, for the status. */
typedef struct {
    const dm_input *in;
    const dm_params *p;
    dm_output *out;
    dm_error err;
    int n_threads, cancel, status, threaded;
    dm_thread th;
    dm_event done;
} dm_job;

void dm_job_start(dm_job *j, const dm_input *in, const dm_params *p, dm_output *out, int n_threads);
/* Wait up to ms milliseconds; whether the assessment is done. */
int dm_job_wait(dm_job *j, int ms);
/* Ask the assessment to stop (at its next poll of the flag). */
void dm_job_cancel(dm_job *j);
/* Wait for the end (soon after dm_job_cancel), release the thread; the status. */
int dm_job_finish(dm_job *j);

#endif /* DM_ASSESS_H */
