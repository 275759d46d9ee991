# cython: language_level=3
"""The C core's contract for Cython, declared once: csrc/checked.h (rounding), csrc/assess.h
(the kernel, compiled from csrc/assess.c) and csrc/allocate.h (csrc/allocate.c)."""

from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint64_t


cdef extern from "checked.h":
    const char *DM_INT128_PATH
    enum: DM_ROUND_HALF_UP, DM_ROUND_HALF_EVEN, DM_ROUND_DOWN, DM_ROUND_UP, DM_ROUND_FLOOR, DM_ROUND_CEILING
    int dm_round_div_parts(int64_t hi, uint64_t lo, int64_t d, int mode, int64_t quantum, int64_t *out) nogil

cdef extern from "assess.h":
    enum: DM_MAX_CONDS, DM_MAX_WAIVERS, DM_MAX_FEES, DM_N_RULES, DM_MAX_BANDS, DM_MAX_SURTAXES
    enum: DM_OK, DM_OVERFLOW, DM_NOMEM, DM_BADARG, DM_CANCELLED
    enum: DM_B_CONS, DM_B_CUR, DM_B_MEASURE, DM_B_VAT_RATE, DM_B_VAT_REDUCED, DM_B_FLAT_KEY, DM_B_FREIGHT_CUR
    enum: DM_B_GROUP, DM_B_ORDER
    enum: DM_W_CONVERSION, DM_W_FREIGHT, DM_W_CONSIGNMENT_SUM, DM_W_GROUP_SUM, DM_W_DUTY, DM_W_VAT, DM_W_FEE
    enum: DM_W_TOTAL, DM_W_QUANTITY_SUM
    enum: DM_RULE_DUTY_RELIEF, DM_RULE_FLAT_DUTY, DM_RULE_DUTY_WAIVED, DM_RULE_VAT_RELIEF, DM_RULE_VAT_AT_SALE
    enum: DM_RULE_VAT_WAIVED, DM_RULE_CANNOT_ASSESS, DM_RULE_FEE, DM_RULE_SIMPLIFIED_DUTY, DM_RULE_DUTY_AT_SALE
    enum: DM_RULE_VAT_REDUCED
    enum: DM_MAX_RELIEFS, DM_R_DUTY_RELIEF, DM_R_VAT_RELIEF, DM_R_AT_SALE, DM_R_FLAT, DM_R_VAT_REDUCTION
    enum: DM_R_SIMPLIFIED
    enum: DM_WAIVE_DUTY, DM_WAIVE_VAT, DM_WAIVE_BOTH
    enum: DM_BASIS_INTRINSIC, DM_BASIS_CUSTOMS
    enum: DM_PER_ITEM, DM_PER_CONSIGNMENT, DM_PER_GROUP, DM_PER_CUMULATIVE
    enum: DM_LEVEL_ITEM, DM_LEVEL_CONSIGNMENT
    enum: DM_FEE_PER_CONSIGNMENT, DM_FEE_PER_ITEM
    enum: DM_DUE_ALWAYS, DM_DUE_IF_DUE, DM_DUE_IF_ENTRY
    ctypedef struct dm_rounding:
        int32_t mode, level
        int64_t quantum
    ctypedef struct dm_clause:
        int64_t adv, mass, vol, qty, alc, den
    ctypedef struct dm_measure:
        dm_clause main, lo, hi, sub
        int32_t has_lo, has_hi, cannot_assess, has_sub
    ctypedef struct dm_cond:
        int32_t basis, per, inclusive
        int64_t threshold
        const int64_t *thresholds
        const int64_t *group
        const int64_t *order
        int64_t n_groups
    ctypedef struct dm_rule:
        int32_t enabled, n_conds, requires_flag
        uint16_t excl_bit
        const uint8_t *cons_ok
        dm_cond conds[DM_MAX_CONDS]
    ctypedef struct dm_band:
        int64_t up_to, pct_num, pct_den, deduction
    ctypedef struct dm_waiver:
        int32_t target, per, inclusive
        uint16_t excl_bit
        int64_t threshold
    ctypedef struct dm_fee:
        int32_t per, when_due, has_min, has_max
        int64_t fixed, adv_num, adv_den, min, max, value_above, value_up_to
        const uint8_t *cons_ok
    ctypedef struct dm_surtax:
        int64_t num, den
        dm_rounding rounding
    ctypedef struct dm_input:
        int64_t n_items, n_cons
        const int64_t *cons
        const int64_t *value
        const int64_t *qty
        const int64_t *mass
        const int64_t *vol
        const int64_t *alc
        const int32_t *cur
        const int32_t *measure
        const int32_t *vat_rate
        const int32_t *vat_rate_reduced
        const int32_t *flat_key
        const uint16_t *item_flags
        const int64_t *freight
        const int64_t *insurance
        const int32_t *freight_cur
        const uint8_t *at_sale_flag
        const int64_t *conv_mul
        const int64_t *conv_div
        const dm_measure *measures
        const int64_t *vat_num
        const int64_t *vat_den
        int64_t n_conv, n_measures, n_vat
    ctypedef struct dm_params:
        int32_t cif, vat_adds_transport, at_sale_includes_duty, simplified_basis
        dm_rounding conv, duty, vat, fee
        int32_t duty_base_rounded, vat_base_rounded
        dm_rounding duty_base, vat_base
        int32_t n_surtaxes
        dm_surtax surtaxes[DM_MAX_SURTAXES]
        dm_rule rules[DM_N_RULES]
        int64_t flat_amount
        int32_t n_bands
        dm_band bands[DM_MAX_BANDS]
        int32_t n_waivers, n_fees
        dm_waiver waivers[DM_MAX_WAIVERS]
        dm_fee fees[DM_MAX_FEES]
    ctypedef struct dm_output:
        int64_t *intrinsic
        int64_t *customs_value
        int64_t *duty
        int64_t *duty_at_sale
        int64_t *vat
        int64_t *vat_at_sale
        int64_t *fees
        int64_t *total
        int32_t *rule
        int64_t *c_intrinsic
        int64_t *c_customs
        int64_t *c_duty
        int64_t *c_duty_at_sale
        int64_t *c_vat
        int64_t *c_vat_at_sale
        int64_t *c_fees
        int64_t *c_total
        int64_t *c_items
    ctypedef struct dm_error:
        int64_t index
        int32_t what
    ctypedef struct dm_job:
        dm_error err
    void dm_job_start(dm_job *j, const dm_input *inp, const dm_params *p, dm_output *out, int n_threads) nogil
    int dm_job_wait(dm_job *j, int ms) nogil
    void dm_job_cancel(dm_job *j) nogil
    int dm_job_finish(dm_job *j) nogil

cdef extern from "allocate.h":
    ctypedef struct dm_rem:
        pass
    void dm_allocate(int64_t total, const int64_t *w, int64_t k, int64_t *out, dm_rem *rem) nogil
