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
BAD_INDEX = {1: ("cons", "items", "consignments"), 2: ("cur", "items", "conversion factors"),
             3: ("measure", "items", "measures"), 4: ("vat_rate", "items", "VAT rates"),
             5: ("vat_rate_reduced", "items", "VAT rates"), 6: ("flat_key", "items", None),
             7: ("freight_cur", "cons", "conversion factors"), 8: ("group", "rules", "groups"),
             9: ("order", "rules", "consignments")}
# milliseconds the caller waits for the kernel between two looks for Ctrl-C
cdef enum:
    WAIT_SLICE_MS = 50

#: what overflowed, by the kernel's DM_W_* code
OVERFLOW_WHAT = {1: "converted value", 2: "freight and insurance", 3: "consignment value",
                 4: "consignee aggregate value", 5: "duty", 6: "VAT", 7: "fee", 8: "total",
                 9: "consignment quantity"}

MEASURE_DTYPE = np.dtype([(f"{clause}_{field}", np.int64) for clause in ("main", "lo", "hi")
                          for field in ("adv", "mass", "vol", "qty", "den")]
                         + [("has_lo", np.int32), ("has_hi", np.int32),
                            ("cannot_assess", np.int32), ("pad", np.int32)])

ITEM_OUTPUTS = ("intrinsic", "customs_value", "duty", "duty_at_sale", "vat", "vat_at_sale", "fees", "total")
CONS_OUTPUTS = ("intrinsic", "customs_value", "duty", "duty_at_sale", "vat", "vat_at_sale", "fees", "total",
                "items")
#: number of rule slots (engine.RULE_SLOTS names them) and of simplified-duty bands
#: how this build does 128-bit arithmetic: "native" (__int128) or "portable" (two words; csrc/checked.h)
INT128_PATH = DM_INT128_PATH.decode("ascii")
N_RULES = DM_N_RULES
MAX_BANDS = DM_MAX_BANDS


def round_div(n: int, d: int, mode: int, quantum: int) -> int:
    """quantum * R(n / (d * quantum)) with the core's helper (exposed for tests)."""
    cdef int64_t out = 0
    if d <= 0 or quantum <= 0:
        raise ValueError("d and quantum must be positive")
    if not (-(2**127) <= n < 2**127):
        raise OverflowError("n must fit in 128 bits")
    if not 0 <= mode <= 5:
        raise ValueError("unknown rounding mode")
    if dm_round_div_parts(<int64_t>(n >> 64), <uint64_t>(n & 0xFFFFFFFFFFFFFFFF), d, mode, quantum, &out):
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


cdef int _fill_rule(dm_rule *r, dict spec, Py_ssize_t n_cons, list keep) except -1:
    memset(r, 0, sizeof(dm_rule))
    if not spec:
        return 0
    r.enabled = 1
    r.requires_flag = spec.get("requires_flag", 0)
    r.excl_bit = spec.get("excl_bit", 0)
    r.cons_ok = _u8(spec.get("cons_ok"), n_cons, "cons_ok")
    conds = spec.get("conds", [])
    if len(conds) > DM_MAX_CONDS:
        raise ValueError(f"at most {DM_MAX_CONDS} conditions per rule")
    r.n_conds = len(conds)
    for k, cd in enumerate(conds):
        r.conds[k].basis = cd["basis"]
        r.conds[k].per = cd["per"]
        r.conds[k].inclusive = cd["inclusive"]
        r.conds[k].threshold = cd["threshold"]
        r.conds[k].n_groups = cd.get("n_groups", 0)
        if cd["per"] >= 2:
            keep.append(cd["group"])
            r.conds[k].group = _i64(cd["group"], n_cons, "group")
        if cd["per"] == 3:
            keep.append(cd["order"])
            r.conds[k].order = _i64(cd["order"], n_cons, "order")
    return 0


cdef int _rounding(dm_rounding *r, tuple spec) except -1:
    r.mode, r.quantum, r.level = spec
    if r.quantum <= 0:
        raise ValueError(f"a rounding quantum must be positive, got {r.quantum}")
    return 0


cdef inline bint _bad_clause(const dm_clause *c) noexcept nogil:
    return c.adv < 0 or c.mass < 0 or c.vol < 0 or c.qty < 0 or c.den <= 0


cdef int _check_factors(const dm_input *inp, const dm_params *p) except -1:
    """Every divisor of the kernel positive (a zero would stop the process), every factor >= 0."""
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
        if _bad_clause(&m.main) or (m.has_lo and _bad_clause(&m.lo)) or (m.has_hi and _bad_clause(&m.hi)):
            raise ValueError(f"measures[{k}]: a factor must not be negative and the divisor must be positive")
    for k in range(p.n_bands):
        if p.bands[k].pct_num < 0 or p.bands[k].pct_den <= 0:
            raise ValueError(f"bands[{k}]: the rate must not be negative and the divisor must be positive")
    for k in range(p.n_fees):
        if p.fees[k].adv_num < 0 or (p.fees[k].adv_num and p.fees[k].adv_den <= 0):
            raise ValueError(f"fees[{k}]: the rate must not be negative and the divisor must be positive")
    return 0


def _bad_index(int what, int64_t at, dict items, dict cons, dict params, dict lengths):
    """The ValueError for the kernel's DM_BADARG: which array, where, its value and what it must be."""
    name, where, table = BAD_INDEX[what]
    if where == "rules":  # the first condition whose group / order entry is bad at `at`
        for spec in params["rules"]:
            for cd in (spec or {}).get("conds", []):
                if cd["per"] < 2:
                    continue
                v = int(cd[name][at])
                n = cd.get("n_groups", 0) if name == "group" else lengths["consignments"]
                if not 0 <= v < n or (name == "order" and v in cd["order"][:at]):
                    return ValueError(f"{name}[{at}] = {v} of a {('group', 'cumulative')[cd['per'] - 2]} "
                                      f"condition is not {'a distinct' if name == 'order' else 'an'} "
                                      f"index in [0, {n})")
        return ValueError(f"{name}[{at}] of a condition is out of range")
    v = int((items if where == "items" else cons)[name][at])
    if table is None:
        return ValueError(f"{name}[{at}] = {v} must not be negative")
    return ValueError(f"{name}[{at}] = {v} is not an index in [0, {lengths[table]}) of the {table}")


def assess(dict items, dict cons, dict tables, dict params, dict out_items, dict out_cons, int n_threads=1):
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
    cdef list keep = []
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

    p.cif = params["cif"]
    p.vat_adds_transport = params["vat_adds_transport"]
    _rounding(&p.conv, params["conv"])
    _rounding(&p.duty, params["duty"])
    _rounding(&p.vat, params["vat"])
    _rounding(&p.fee, params["fee"])
    if params.get("duty_base") is not None:
        p.duty_base_rounded = 1
        _rounding(&p.duty_base, params["duty_base"])
    if params.get("vat_base") is not None:
        p.vat_base_rounded = 1
        _rounding(&p.vat_base, params["vat_base"])
    p.at_sale_includes_duty = params.get("at_sale_includes_duty", 0)
    p.simplified_basis = params.get("simplified_basis", 0)
    rules = params["rules"]
    if len(rules) != DM_N_RULES:
        raise ValueError(f"expected {DM_N_RULES} rule slots")
    for r, spec in enumerate(rules):
        _fill_rule(&p.rules[r], spec, nc, keep)
    p.flat_amount = params.get("flat_amount", 0)
    bands = params.get("bands", [])
    if len(bands) > DM_MAX_BANDS:
        raise ValueError(f"at most {DM_MAX_BANDS} bands")
    p.n_bands = len(bands)
    for k, bd in enumerate(bands):
        p.bands[k].up_to, p.bands[k].pct_num, p.bands[k].pct_den, p.bands[k].deduction = bd
    waivers = params.get("waivers", [])
    fees = params.get("fees", [])
    if len(waivers) > DM_MAX_WAIVERS or len(fees) > DM_MAX_FEES:
        raise ValueError(f"at most {DM_MAX_WAIVERS} waivers and {DM_MAX_FEES} fees")
    p.n_waivers = len(waivers)
    for k, wv in enumerate(waivers):
        p.waivers[k].target, p.waivers[k].per, p.waivers[k].inclusive, p.waivers[k].threshold = wv
        p.waivers[k].excl_bit = 1 << (DM_N_RULES + k)
    p.n_fees = len(fees)
    for k, fe in enumerate(fees):
        p.fees[k].per = fe["per"]
        p.fees[k].when_due = fe["when_due"]
        p.fees[k].fixed = fe["fixed"]
        p.fees[k].adv_num = fe["adv_num"]
        p.fees[k].adv_den = fe["adv_den"]
        p.fees[k].has_min = fe["min"] is not None
        p.fees[k].min = fe["min"] or 0
        p.fees[k].has_max = fe["max"] is not None
        p.fees[k].max = fe["max"] or 0
        p.fees[k].value_above = fe["value_above"]
        p.fees[k].value_up_to = fe["value_up_to"]
        p.fees[k].cons_ok = _u8(fe.get("cons_ok"), nc, "fee cons_ok")

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

    _check_factors(&inp, &p)
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
