# cython: language_level=3
"""Thin Cython skin over csrc/assess.h: check arrays, release the GIL, raise.

engine.py encodes the batch; this module only marshals numpy arrays into the C
structs, runs dm_assess on a thread of its own (waiting for it without the GIL,
in slices, so that Ctrl-C stops it) and turns its status into exceptions.
"""

import numpy as np
cimport numpy as cnp
from cpython.exc cimport PyErr_CheckSignals
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset

from ._native cimport *  # the C core's declarations: csrc/assess.h, checked.h, allocate.h

from .errors import AmountOverflowError

cnp.import_array()

#: an index out of range, by the kernel's DM_B_* code: (column, where it lives, the table it indexes)
BAD_INDEX = {DM_B_CONS: ("cons", "items", "consignments"), DM_B_CUR: ("cur", "items", "conversion factors"),
             DM_B_MEASURE: ("measure", "items", "measures"), DM_B_VAT_RATE: ("vat_rate", "items", "VAT rates"),
             DM_B_VAT_REDUCED: ("vat_rate_reduced", "items", "VAT rates"),
             DM_B_FLAT_KEY: ("flat_key", "items", None),
             DM_B_FREIGHT_CUR: ("freight_cur", "cons", "conversion factors"),
             DM_B_GROUP: ("group", "rules", "groups"), DM_B_ORDER: ("order", "rules", "consignments")}
# milliseconds the caller waits for the kernel between two looks for Ctrl-C
cdef enum:
    WAIT_SLICE_MS = 50

#: what overflowed, by the kernel's DM_W_* code
OVERFLOW_WHAT = {DM_W_CONVERSION: "converted value", DM_W_FREIGHT: "freight and insurance",
                 DM_W_CONSIGNMENT_SUM: "consignment value", DM_W_GROUP_SUM: "consignee aggregate value",
                 DM_W_DUTY: "duty", DM_W_VAT: "VAT", DM_W_FEE: "fee", DM_W_TOTAL: "total",
                 DM_W_QUANTITY_SUM: "consignment quantity"}

#: the kernel's rule bits (one int32 per item) by name: deminimis.assessment.RULES mirrors it, and
#: tests/test_native_contract.py checks that it does
RULE_BITS = {"duty_relief": DM_RULE_DUTY_RELIEF, "flat_duty": DM_RULE_FLAT_DUTY,
             "duty_waived": DM_RULE_DUTY_WAIVED, "vat_relief": DM_RULE_VAT_RELIEF,
             "vat_at_sale": DM_RULE_VAT_AT_SALE, "vat_waived": DM_RULE_VAT_WAIVED,
             "cannot_assess": DM_RULE_CANNOT_ASSESS, "fee": DM_RULE_FEE,
             "simplified_duty": DM_RULE_SIMPLIFIED_DUTY, "duty_at_sale": DM_RULE_DUTY_AT_SALE,
             "vat_reduced": DM_RULE_VAT_REDUCED}

#: the regime vocabulary's names for the kernel's codes (csrc/checked.h, csrc/assess.h)
ROUNDING_MODES = {"half_up": DM_ROUND_HALF_UP, "half_even": DM_ROUND_HALF_EVEN, "down": DM_ROUND_DOWN,
                  "up": DM_ROUND_UP, "floor": DM_ROUND_FLOOR, "ceiling": DM_ROUND_CEILING}
LEVELS = {"item": DM_LEVEL_ITEM, "consignment": DM_LEVEL_CONSIGNMENT}
BASES = {"intrinsic": DM_BASIS_INTRINSIC, "customs": DM_BASIS_CUSTOMS}
PERS = {"item": DM_PER_ITEM, "consignment": DM_PER_CONSIGNMENT, "consignee_day": DM_PER_GROUP,
        "consignee_year": DM_PER_CUMULATIVE}
WAIVER_TARGETS = {"duty": DM_WAIVE_DUTY, "vat": DM_WAIVE_VAT, "duty_and_vat": DM_WAIVE_BOTH}
FEE_PERS = {"consignment": DM_FEE_PER_CONSIGNMENT, "item": DM_FEE_PER_ITEM}
FEE_WHEN = {"always": DM_DUE_ALWAYS, "due": DM_DUE_IF_DUE, "not_relieved": DM_DUE_IF_ENTRY}
#: the kernel's rule slots (dm_params.rules): up to MAX_RELIEFS duty reliefs from DUTY_RELIEF_SLOT,
#: as many VAT reliefs from VAT_RELIEF_SLOT, then one slot each
MAX_RELIEFS = DM_MAX_RELIEFS
DUTY_RELIEF_SLOT = DM_R_DUTY_RELIEF
VAT_RELIEF_SLOT = DM_R_VAT_RELIEF
AT_SALE_SLOT = DM_R_AT_SALE
FLAT_SLOT = DM_R_FLAT
VAT_REDUCTION_SLOT = DM_R_VAT_REDUCTION
SIMPLIFIED_SLOT = DM_R_SIMPLIFIED

cdef inline Py_ssize_t _offset(void *field, void *struct_start) noexcept:
    return <char*>field - <char*>struct_start


cdef object _measure_dtype():
    """dm_measure as a numpy dtype, read from the compiled struct: a renamed field fails the build."""
    cdef dm_measure m
    cdef dm_clause *cl
    names, offsets = [], []
    for name in ("main", "lo", "hi", "sub"):
        cl = &m.main if name == "main" else &m.lo if name == "lo" else &m.hi if name == "hi" else &m.sub
        names += [f"{name}_{field}" for field in ("adv", "mass", "vol", "qty", "alc", "den")]
        offsets += [_offset(&cl.adv, &m), _offset(&cl.mass, &m), _offset(&cl.vol, &m), _offset(&cl.qty, &m),
                    _offset(&cl.alc, &m), _offset(&cl.den, &m)]
    names += ["has_lo", "has_hi", "cannot_assess", "has_sub"]
    offsets += [_offset(&m.has_lo, &m), _offset(&m.has_hi, &m), _offset(&m.cannot_assess, &m),
                _offset(&m.has_sub, &m)]
    return np.dtype({"names": names, "formats": [np.int64] * 24 + [np.int32] * 4, "offsets": offsets,
                     "itemsize": sizeof(dm_measure)})


#: one row of the measure table (dm_measure), fields named clause_coefficient
MEASURE_DTYPE = _measure_dtype()

ITEM_OUTPUTS = ("intrinsic", "customs_value", "duty", "duty_at_sale", "vat", "vat_at_sale", "fees", "total")
CONS_OUTPUTS = ("intrinsic", "customs_value", "duty", "duty_at_sale", "vat", "vat_at_sale", "fees", "total",
                "items")
#: how this build does 128-bit arithmetic: "native" (__int128) or "portable" (two words; csrc/checked.h)
INT128_PATH = DM_INT128_PATH.decode("ascii")
#: the kernel's capacities: rule slots, conditions per rule, simplified-duty bands, waivers, fees
N_RULES = DM_N_RULES
MAX_CONDS = DM_MAX_CONDS
MAX_BANDS = DM_MAX_BANDS
MAX_WAIVERS = DM_MAX_WAIVERS
MAX_FEES = DM_MAX_FEES


def round_div(n: int, d: int, mode: str, quantum: int) -> int:
    """quantum * R(n / (d * quantum)) with the core's helper, R the named mode (exposed for tests)."""
    cdef int64_t out = 0
    if d <= 0 or quantum <= 0:
        raise ValueError("d and quantum must be positive")
    if not (-(2**127) <= n < 2**127):
        raise OverflowError("n must fit in 128 bits")
    if mode not in ROUNDING_MODES:
        raise ValueError(f"unknown rounding mode {mode!r}")
    if dm_round_div_parts(<int64_t>(n >> 64), <uint64_t>(n & 0xFFFFFFFFFFFFFFFF), d, ROUNDING_MODES[mode],
                          quantum, &out):
        raise OverflowError("result does not fit int64")
    return out


def allocate(int64_t total, weights) -> np.ndarray:
    """The core's largest-remainder allocation of total over weights (exposed for tests).

    out[j] = floor(total * w[j] / W), plus one for the (total - sum) largest
    remainders, the earlier item first among equal ones; all weights zero: equal weights.
    """
    cdef const int64_t[::1] w = np.ascontiguousarray(weights, dtype=np.int64)
    cdef int64_t k = w.shape[0]
    if k == 0 or total < 0 or np.min(w) < 0:
        raise ValueError("allocate needs a total >= 0 and at least one weight, all >= 0")
    out = np.empty(k, dtype=np.int64)
    cdef int64_t[::1] ov = out
    cdef dm_rem *rem = <dm_rem*>malloc(k * sizeof(dm_rem))
    if rem == NULL:
        raise MemoryError("allocate could not allocate its scratch space")
    with nogil:
        dm_allocate(total, &w[0], k, &ov[0], rem)
    free(rem)
    return out


cdef const int64_t* _i64(object a, Py_ssize_t n, str name) except? NULL:
    cdef const int64_t[::1] v = a
    if v.shape[0] != n:
        raise ValueError(f"{name}: expected {n} values, got {v.shape[0]}")
    return &v[0] if n > 0 else NULL


cdef const int64_t* _i64_or_zeros(object a, Py_ssize_t n, str name) except? NULL:
    """None stands for a column of zeros (quantities no measure uses, no insurance): NULL to the kernel."""
    return NULL if a is None else _i64(a, n, name)


cdef const int32_t* _i32(object a, Py_ssize_t n, str name) except? NULL:
    cdef const int32_t[::1] v = a
    if v.shape[0] != n:
        raise ValueError(f"{name}: expected {n} values, got {v.shape[0]}")
    return &v[0] if n > 0 else NULL


cdef const uint16_t* _u16(object a, Py_ssize_t n, str name) except? NULL:
    cdef const uint16_t[::1] v = a
    if v.shape[0] != n:
        raise ValueError(f"{name}: expected {n} values, got {v.shape[0]}")
    return &v[0] if n > 0 else NULL


cdef const uint8_t* _u8(object a, Py_ssize_t n, str name) except? NULL:
    if a is None:
        return NULL
    cdef const uint8_t[::1] v = a
    if v.shape[0] != n:
        raise ValueError(f"{name}: expected {n} values, got {v.shape[0]}")
    return &v[0] if n > 0 else NULL


# -- the kernel's parameters (dm_params), typed: each class holds its C struct, filled by name
# from the regime vocabulary above, so that a field renamed in csrc/assess.h fails this build.

cdef class Rounding:
    """A dm_rounding: mode (ROUNDING_MODES), level (LEVELS), quantum in minor units (> 0)."""
    cdef dm_rounding c

    def __init__(self, str mode, str level, int64_t quantum):
        if quantum <= 0:
            raise ValueError(f"a rounding quantum must be positive, got {quantum}")
        self.c.mode = ROUNDING_MODES[mode]
        self.c.level = LEVELS[level]
        self.c.quantum = quantum


cdef class Condition:
    """A dm_cond: the value on `basis` summed `per` ... is under `threshold` (<= if inclusive).

    per consignee_day / consignee_year: group (the group of each consignment, n_groups of them);
    consignee_year also order (the consignments in cumulative order). thresholds: each consignment's
    own threshold (by its destination), or None: `threshold` for all."""
    cdef dm_cond c
    cdef readonly object group, order, thresholds

    def __init__(self, str basis, str per, bint inclusive, int64_t threshold, group=None, order=None,
                 int64_t n_groups=0, thresholds=None):
        self.c.basis = BASES[basis]
        self.c.per = PERS[per]
        self.c.inclusive, self.c.threshold = inclusive, threshold
        self.c.n_groups = n_groups
        if (group is None) != (self.c.per < DM_PER_GROUP) or (order is None) != (self.c.per != DM_PER_CUMULATIVE):
            raise ValueError(f"a condition per {per} takes group and order arrays as csrc/assess.h says")
        self.group, self.order, self.thresholds = group, order, thresholds

    @property
    def n_groups(self) -> int:
        return self.c.n_groups


cdef class Rule:
    """A dm_rule: a relief, collection at sale, a flat or simplified duty or a VAT reduction."""
    cdef dm_rule c
    cdef readonly tuple conds
    cdef readonly object cons_ok

    def __init__(self, conds, int excl_bit, bint requires_flag, cons_ok=None):
        self.conds = tuple(conds)
        if len(self.conds) > DM_MAX_CONDS:
            raise ValueError(f"at most {DM_MAX_CONDS} conditions per rule")
        for cd in self.conds:
            if not isinstance(cd, Condition):
                raise TypeError(f"conds holds Condition objects, not {type(cd).__name__}")
        self.c.enabled = 1
        self.c.n_conds = len(self.conds)
        self.c.excl_bit = excl_bit
        self.c.requires_flag = requires_flag
        self.cons_ok = cons_ok


cdef class Band:
    """A dm_band: a basis value <= up_to pays round(value * pct_num / pct_den) - deduction."""
    cdef dm_band c

    def __init__(self, int64_t up_to, int64_t pct_num, int64_t pct_den, int64_t deduction):
        if pct_num < 0 or pct_den <= 0:
            raise ValueError("a band's rate must not be negative and its divisor must be positive")
        self.c.up_to, self.c.pct_num, self.c.pct_den, self.c.deduction = up_to, pct_num, pct_den, deduction


cdef class Waiver:
    """A dm_waiver: duty, VAT or both are waived when their amount is under threshold."""
    cdef dm_waiver c

    def __init__(self, str target, str per, bint inclusive, int64_t threshold):
        if per not in ("item", "consignment"):
            raise ValueError(f"a waiver is per item or per consignment, not {per!r}")
        self.c.target = WAIVER_TARGETS[target]
        self.c.per = PERS[per]
        self.c.inclusive = inclusive
        self.c.threshold = threshold


cdef class Fee:
    """A dm_fee: fixed + round(customs value x adv_num / adv_den), bounded, per consignment or item.

    minimum, maximum: None for no bound; value_above, value_up_to: -1 for no bound."""
    cdef dm_fee c
    cdef readonly object cons_ok

    def __init__(self, str per, str when, int64_t fixed, int64_t adv_num, int64_t adv_den, minimum, maximum,
                 int64_t value_above, int64_t value_up_to, cons_ok=None):
        if adv_num < 0 or (adv_num and adv_den <= 0):
            raise ValueError("a fee's rate must not be negative and its divisor must be positive")
        self.c.per = FEE_PERS[per]
        self.c.when_due = FEE_WHEN[when]
        self.c.fixed, self.c.adv_num, self.c.adv_den = fixed, adv_num, adv_den
        self.c.has_min, self.c.min = minimum is not None, minimum or 0
        self.c.has_max, self.c.max = maximum is not None, maximum or 0
        self.c.value_above, self.c.value_up_to = value_above, value_up_to
        self.cons_ok = cons_ok


cdef class Surtax:
    """A dm_surtax: a tax of num / den of the VAT amount, added to it, rounded on its own."""
    cdef dm_surtax c

    def __init__(self, int64_t num, int64_t den, Rounding rounding not None):
        if num < 0 or den <= 0:
            raise ValueError("a surtax's fraction must not be negative and its divisor must be positive")
        self.c.num, self.c.den, self.c.rounding = num, den, rounding.c


cdef class Params:
    """dm_params: everything the kernel takes from the regime (deminimis.engine.params builds it).

    rules: N_RULES slots (Rule or None) in the order of the *_SLOT constants."""
    cdef dm_params c
    cdef readonly tuple rules, fees

    def __init__(self, *, bint cif, bint vat_adds_transport, bint at_sale_includes_duty, str simplified_basis,
                 Rounding conv not None, Rounding duty not None, Rounding vat not None, Rounding fee not None,
                 Rounding duty_base, Rounding vat_base, rules, int64_t flat_amount, bands, waivers, fees,
                 surtaxes=()):
        cdef Py_ssize_t k
        self.c.cif, self.c.vat_adds_transport = cif, vat_adds_transport
        self.c.at_sale_includes_duty = at_sale_includes_duty
        self.c.simplified_basis = BASES[simplified_basis]
        self.c.conv, self.c.duty, self.c.vat, self.c.fee = conv.c, duty.c, vat.c, fee.c
        self.c.duty_base_rounded = duty_base is not None
        if duty_base is not None:
            self.c.duty_base = duty_base.c
        self.c.vat_base_rounded = vat_base is not None
        if vat_base is not None:
            self.c.vat_base = vat_base.c
        surtaxes = tuple(surtaxes)
        if len(surtaxes) > DM_MAX_SURTAXES:
            raise ValueError(f"at most {DM_MAX_SURTAXES} surtaxes")
        self.c.n_surtaxes = len(surtaxes)
        for k, surtax in enumerate(surtaxes):
            self.c.surtaxes[k] = (<Surtax?>surtax).c
        self.rules = tuple(rules)
        if len(self.rules) != DM_N_RULES:
            raise ValueError(f"expected {DM_N_RULES} rule slots, got {len(self.rules)}")
        for k, rule in enumerate(self.rules):
            if rule is not None:
                self.c.rules[k] = (<Rule?>rule).c
        self.c.flat_amount = flat_amount
        bands, waivers, self.fees = tuple(bands), tuple(waivers), tuple(fees)
        if len(bands) > DM_MAX_BANDS or len(waivers) > DM_MAX_WAIVERS or len(self.fees) > DM_MAX_FEES:
            raise ValueError(f"at most {DM_MAX_BANDS} bands, {DM_MAX_WAIVERS} waivers and {DM_MAX_FEES} fees")
        self.c.n_bands, self.c.n_waivers, self.c.n_fees = len(bands), len(waivers), len(self.fees)
        for k, band in enumerate(bands):
            self.c.bands[k] = (<Band?>band).c
        for k, waiver in enumerate(waivers):
            self.c.waivers[k] = (<Waiver?>waiver).c
            self.c.waivers[k].excl_bit = 1 << (DM_N_RULES + k)  # item_flags: bit N_RULES + k excludes
        for k, f in enumerate(self.fees):
            self.c.fees[k] = (<Fee?>f).c


cdef int _bind(dm_params *p, Params params, Py_ssize_t n_cons) except -1:
    """params' struct, with the per-consignment arrays of its rules and fees checked and pointed to."""
    cdef Py_ssize_t r, k
    cdef Rule rule
    cdef Condition cd
    p[0] = params.c
    for r, obj in enumerate(params.rules):
        if obj is None:
            continue
        rule = <Rule>obj
        p.rules[r].cons_ok = _u8(rule.cons_ok, n_cons, "cons_ok")
        for k, cd in enumerate(rule.conds):
            p.rules[r].conds[k] = cd.c
            if cd.group is not None:
                p.rules[r].conds[k].group = _i64(cd.group, n_cons, "group")
            if cd.order is not None:
                p.rules[r].conds[k].order = _i64(cd.order, n_cons, "order")
            if cd.thresholds is not None:
                p.rules[r].conds[k].thresholds = _i64(cd.thresholds, n_cons, "thresholds")
    for k, obj in enumerate(params.fees):
        p.fees[k].cons_ok = _u8((<Fee>obj).cons_ok, n_cons, "fee cons_ok")
    return 0


cdef inline bint _bad_clause(const dm_clause *c) noexcept nogil:
    return c.adv < 0 or c.mass < 0 or c.vol < 0 or c.qty < 0 or c.alc < 0 or c.den <= 0


cdef int _check_factors(const dm_input *inp) except -1:
    """Every divisor of the tables positive (a zero would stop the process), every factor >= 0.

    (Params checks its own factors when it is made.)"""
    cdef Py_ssize_t k
    cdef const dm_measure *m
    for k in range(inp.n_conv):
        if inp.conv_mul[k] < 0 or inp.conv_div[k] <= 0:
            raise ValueError(f"conv_mul[{k}] / conv_div[{k}] = {inp.conv_mul[k]} / {inp.conv_div[k]}: "
                             "the factor must not be negative and the divisor must be positive")
    for k in range(inp.n_vat):
        if inp.vat_num[k] < 0 or inp.vat_den[k] <= 0:
            raise ValueError(f"vat_num[{k}] / vat_den[{k}] = {inp.vat_num[k]} / {inp.vat_den[k]}: "
                             "the rate must not be negative and the divisor must be positive")
    for k in range(inp.n_measures):
        m = &inp.measures[k]
        if (_bad_clause(&m.main) or (m.has_lo and _bad_clause(&m.lo)) or (m.has_hi and _bad_clause(&m.hi))
                or (m.has_sub and _bad_clause(&m.sub))):
            raise ValueError(f"measures[{k}]: a factor must not be negative and the divisor must be positive")
    return 0


def _bad_index(int what, int64_t at, dict items, dict cons, Params params, dict lengths):
    """The ValueError for the kernel's DM_BADARG: which array, where, its value and what it must be."""
    name, where, table = BAD_INDEX[what]
    if where == "rules":  # the first condition whose group / order entry is bad at `at`
        for rule in params.rules:
            for cd in (rule.conds if rule is not None else ()):
                column = cd.group if name == "group" else cd.order
                if column is None:
                    continue
                v = int(column[at])
                n = (<Condition>cd).c.n_groups if name == "group" else lengths["consignments"]
                if not 0 <= v < n or (name == "order" and v in column[:at]):
                    kind = "group" if cd.order is None else "cumulative"
                    return ValueError(f"{name}[{at}] = {v} of a {kind} condition is not "
                                      f"{'a distinct' if name == 'order' else 'an'} index in [0, {n})")
        return ValueError(f"{name}[{at}] of a condition is out of range")
    v = int((items if where == "items" else cons)[name][at])
    if table is None:
        return ValueError(f"{name}[{at}] = {v} must not be negative")
    return ValueError(f"{name}[{at}] = {v} is not an index in [0, {lengths[table]}) of the {table}")


def assess(dict items, dict cons, dict tables, Params params not None, dict out_items, dict out_cons,
           int n_threads=1):
    """Run the kernel on encoded columns; fills out_items and out_cons in place.

    Notes: every array must be C-contiguous with the dtype engine.py gives it;
    outputs are caller-allocated (no zeroing needed).  n_threads > 1 splits the
    consignments among that many threads; the result does not depend on it.  Raises AmountOverflowError
    with the position of the first item whose amount overflowed.
    """
    cdef Py_ssize_t n = len(items["value"])
    cdef Py_ssize_t nc = len(cons["freight"])
    cdef dm_input inp
    cdef dm_params p
    cdef dm_output o
    cdef dm_job job
    cdef int status, done
    memset(&inp, 0, sizeof(inp))
    memset(&p, 0, sizeof(p))
    memset(&o, 0, sizeof(o))

    inp.n_items = n
    inp.n_cons = nc
    inp.cons = _i64(items["cons"], n, "cons")
    inp.value = _i64(items["value"], n, "value")
    inp.qty = _i64_or_zeros(items["qty"], n, "qty")
    inp.mass = _i64_or_zeros(items["mass"], n, "mass")
    inp.vol = _i64_or_zeros(items["vol"], n, "vol")
    inp.alc = _i64_or_zeros(items["alc"], n, "alc")
    inp.cur = _i32(items["cur"], n, "cur")
    inp.measure = _i32(items["measure"], n, "measure")
    inp.vat_rate = _i32(items["vat_rate"], n, "vat_rate")
    inp.vat_rate_reduced = _i32(items["vat_rate_reduced"], n, "vat_rate_reduced")
    inp.flat_key = _i32(items["flat_key"], n, "flat_key")
    inp.item_flags = _u16(items["flags"], n, "flags")
    inp.freight = _i64(cons["freight"], nc, "freight")
    inp.insurance = _i64_or_zeros(cons["insurance"], nc, "insurance")
    inp.freight_cur = _i32(cons["freight_cur"], nc, "freight_cur")
    inp.at_sale_flag = _u8(cons["at_sale"], nc, "at_sale")

    cdef const int64_t[::1] conv_mul = tables["conv_mul"]
    cdef const int64_t[::1] conv_div = tables["conv_div"]
    cdef const int64_t[::1] vat_num = tables["vat_num"]
    cdef const int64_t[::1] vat_den = tables["vat_den"]
    measures = tables["measures"]
    if measures.dtype != MEASURE_DTYPE or not measures.flags.c_contiguous:
        raise ValueError("measures must be a contiguous MEASURE_DTYPE array")
    cdef const uint8_t[::1] mbytes = measures.view(np.uint8)
    if conv_mul.shape[0] == 0 or vat_num.shape[0] == 0 or mbytes.shape[0] == 0:
        raise ValueError("conversion, VAT and measure tables must not be empty")
    if conv_div.shape[0] != conv_mul.shape[0] or vat_den.shape[0] != vat_num.shape[0]:
        raise ValueError("conv_mul and conv_div differ in length, or vat_num and vat_den")
    inp.conv_mul = &conv_mul[0]
    inp.conv_div = &conv_div[0]
    inp.vat_num = &vat_num[0]
    inp.vat_den = &vat_den[0]
    inp.measures = <const dm_measure*>&mbytes[0]
    inp.n_conv = conv_mul.shape[0]
    inp.n_measures = measures.shape[0]
    inp.n_vat = vat_num.shape[0]

    _bind(&p, params, nc)

    cdef int64_t[::1] v
    cdef int32_t[::1] r32
    ptrs = []
    for name in ITEM_OUTPUTS:
        if out_items[name].shape[0] != n:
            raise ValueError(f"output {name} has the wrong length")
    for name in CONS_OUTPUTS:
        if out_cons[name].shape[0] != nc:
            raise ValueError(f"output {name} has the wrong length")
    if n == 0:
        return
    v = out_items["intrinsic"]; o.intrinsic = &v[0]
    v = out_items["customs_value"]; o.customs_value = &v[0]
    v = out_items["duty"]; o.duty = &v[0]
    v = out_items["duty_at_sale"]; o.duty_at_sale = &v[0]
    v = out_items["vat"]; o.vat = &v[0]
    v = out_items["vat_at_sale"]; o.vat_at_sale = &v[0]
    v = out_items["fees"]; o.fees = &v[0]
    v = out_items["total"]; o.total = &v[0]
    r32 = out_items["rule"]; o.rule = &r32[0]
    v = out_cons["intrinsic"]; o.c_intrinsic = &v[0]
    v = out_cons["customs_value"]; o.c_customs = &v[0]
    v = out_cons["duty"]; o.c_duty = &v[0]
    v = out_cons["duty_at_sale"]; o.c_duty_at_sale = &v[0]
    v = out_cons["vat"]; o.c_vat = &v[0]
    v = out_cons["vat_at_sale"]; o.c_vat_at_sale = &v[0]
    v = out_cons["fees"]; o.c_fees = &v[0]
    v = out_cons["total"]; o.c_total = &v[0]
    v = out_cons["items"]; o.c_items = &v[0]

    _check_factors(&inp)
    # the kernel runs on a thread of its own; this one looks for Ctrl-C every WAIT_SLICE_MS
    with nogil:
        dm_job_start(&job, &inp, &p, &o, n_threads)
    try:
        while True:
            with nogil:
                done = dm_job_wait(&job, WAIT_SLICE_MS)
            if done:
                break
            PyErr_CheckSignals()  # raises KeyboardInterrupt (or a signal handler's exception)
    except BaseException:
        dm_job_cancel(&job)  # the kernel stops at its next poll
        raise
    finally:
        with nogil:
            status = dm_job_finish(&job)  # no thread outlives the call, nor its scratch memory
    if status == DM_OVERFLOW:
        raise AmountOverflowError(
            f"{OVERFLOW_WHAT.get(job.err.what, 'amount')} does not fit in 64-bit minor units",
            row=job.err.index)
    if status == DM_NOMEM:
        raise MemoryError("deminimis core could not allocate its scratch space")
    if status == DM_BADARG:
        raise _bad_index(job.err.what, job.err.index, items, cons, params,
                         {"consignments": nc, "conversion factors": inp.n_conv, "measures": inp.n_measures,
                          "VAT rates": inp.n_vat})
    if status != DM_OK:
        raise RuntimeError(f"deminimis core failed with status {status}")
