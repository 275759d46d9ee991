# cython: language_level=3
"""Thin Cython skin over csrc/encode.h: the encoder's hashing and checking passes.

Reads Arrow arrays through their buffers (``arr.buffers()``, ``arr.offset``)
and numpy arrays through their memory; checks every size before C reads it,
runs the C loops without the GIL and turns their status into exceptions.
"""

import numpy as np
cimport numpy as cnp
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t

cnp.import_array()

cdef extern from "encode.h":
    enum: DM_ENC_NOMEM, DM_ENC_INVALID
    ctypedef struct dm_col:
        const uint8_t *validity
        const int32_t *off32
        const int64_t *off64
        const uint8_t *data
        int64_t data_len, width, offset, n
    int64_t dm_factorize_col(const dm_col *c, int64_t *codes64, int32_t *codes32, int64_t *first) nogil
    int64_t dm_first_bad_row(const dm_col *c, int *ascii) nogil
    int64_t dm_first_inconsistent(const uint8_t *vals, int64_t width, int64_t n, const int64_t *cons,
                                  int64_t n_cons, const int64_t *first) nogil
    int64_t dm_factorize_pair(const int32_t *a, const int32_t *b, const int32_t *bmap, int64_t n_bmap,
                              int64_t n, int64_t na, int64_t nb, int32_t *codes, int64_t *keys) nogil
    int64_t dm_gather_items(int64_t n, const int32_t *pair, int64_t n_pairs, const int32_t *measure_of,
                            const uint16_t *flags_of, const int32_t *flat_of, const int32_t *vkey,
                            int64_t n_vkeys, const int32_t *rate_of, const int32_t *reduced_of,
                            int32_t *measure, uint16_t *flags, int32_t *flat, int32_t *rate,
                            int32_t *reduced) nogil

#: the most rows factorize takes (codes fit int32; the table's codes fit 32 bits)
MAX_ROWS = 2**31 - 2
#: the largest dense table factorize_pair builds (na * nb entries of 4 bytes)
MAX_PAIR_TABLE = 2**26

cdef uint8_t _empty[8]


cdef const uint8_t* _bytes_of(object buf, int64_t need, str what) except? NULL:
    """Address of a buffer (pyarrow Buffer or numpy array) holding at least `need` bytes."""
    if buf is None:
        if need > 0:
            raise ValueError(f"factorize: the {what} buffer is missing")
        return _empty
    cdef const uint8_t[::1] v = memoryview(buf).cast("B") if not isinstance(buf, np.ndarray) else buf.view(np.uint8).reshape(-1)
    if v.shape[0] < need:
        raise ValueError(f"factorize: the {what} buffer holds {v.shape[0]} bytes, needs {need}")
    return &v[0] if v.shape[0] else _empty


def _arrow_kind(arr):
    """'var32', 'var64', a byte width for fixed-width types, or None (not handled here)."""
    import pyarrow as pa
    t = arr.type
    if pa.types.is_string(t) or pa.types.is_binary(t):
        return "var32"
    if pa.types.is_large_string(t) or pa.types.is_large_binary(t):
        return "var64"
    if (pa.types.is_integer(t) or pa.types.is_date(t) or pa.types.is_timestamp(t)
            or pa.types.is_fixed_size_binary(t)):
        return t.byte_width
    return None


def supports(arr) -> bool:
    """Whether factorize takes this array (else the caller takes a general path)."""
    if isinstance(arr, np.ndarray):
        return arr.ndim == 1 and arr.dtype.kind in "iubUS" and not arr.dtype.hasobject and len(arr) <= MAX_ROWS
    if type(arr).__module__.startswith("pyarrow") and hasattr(arr, "buffers"):
        return len(arr) <= MAX_ROWS and _arrow_kind(arr) is not None
    return False


cdef object _col_of(object arr, dm_col *c):
    """Fill c with the buffers of arr (a supported array); the object that owns them."""
    cdef int64_t n = len(arr)
    cdef int64_t need
    keep = arr
    c.validity = NULL
    c.off32 = NULL
    c.off64 = NULL
    c.n = n
    if isinstance(arr, np.ndarray):
        keep = np.ascontiguousarray(arr)
        c.width = keep.dtype.itemsize
        c.offset = 0
        c.data_len = n * c.width
        c.data = _bytes_of(keep, c.data_len, "data") if n else _empty
        return keep
    kind = _arrow_kind(arr)
    bufs = arr.buffers()
    c.offset = arr.offset
    if arr.null_count:
        c.validity = _bytes_of(bufs[0], (c.offset + n + 7) // 8, "validity")
    if kind in ("var32", "var64"):
        need = (c.offset + n + 1) * (4 if kind == "var32" else 8) if n else 0
        if kind == "var32":
            c.off32 = <const int32_t*>_bytes_of(bufs[1], need, "offsets")
        else:
            c.off64 = <const int64_t*>_bytes_of(bufs[1], need, "offsets")
        c.width = 0
        c.data_len = bufs[2].size if bufs[2] is not None else 0
        c.data = _bytes_of(bufs[2], c.data_len, "data")
    else:
        c.width = kind
        c.data_len = (c.offset + n) * c.width
        c.data = _bytes_of(bufs[1], c.data_len, "data")
    return keep


def first_bad_row(arr) -> tuple[int, bool]:
    """(row, ascii): the first row of a pyarrow string or binary array whose offsets run
    backwards or outside its data, -1 if none; then whether its bytes are all ASCII.

    Reads only the buffers, checking every offset: safe on a corrupt array, and
    run before any Arrow kernel reads one (csrc/encode.h, dm_first_bad_row).
    """
    if not supports(arr) or _arrow_kind(arr) not in ("var32", "var64"):
        raise TypeError("first_bad_row takes a pyarrow string or binary array")
    cdef dm_col c
    cdef int64_t row
    cdef int ascii = 0
    keep = _col_of(arr, &c)
    with nogil:
        row = dm_first_bad_row(&c, &ascii)
    return row, bool(ascii)


def factorize(arr, bint wide=False):
    """(codes, first) of a 1-d column: codes in order of first appearance, first[k] the first row of code k.

    arr: a pyarrow Array (string, binary and their large variants, integers,
    dates, timestamps, fixed-size binary: null is a value of its own) or a numpy
    array of integers, booleans or fixed-width strings.  codes are int64 when
    `wide`, else int32; first is int64.  Values compare by their bytes, as
    Arrow's and numpy's own hashing do for these types.
    """
    if not supports(arr):
        raise TypeError("factorize takes a pyarrow string/binary/integer/date/timestamp array "
                        "or a 1-d numpy array of integers, booleans or fixed-width strings")
    cdef dm_col c
    cdef int64_t n = len(arr)
    keep = _col_of(arr, &c)  # holds the memory c points into
    first = np.empty(max(n, 1), dtype=np.int64)
    codes = np.empty(n, dtype=np.int64 if wide else np.int32)
    cdef int64_t[::1] fv = first
    cdef int64_t[::1] c64
    cdef int32_t[::1] c32
    cdef int64_t *p64 = NULL
    cdef int32_t *p32 = NULL
    cdef int64_t distinct = 0
    if n == 0:
        return codes, first[:0]
    if wide:
        c64 = codes
        p64 = &c64[0]
    else:
        c32 = codes
        p32 = &c32[0]
    with nogil:
        distinct = dm_factorize_col(&c, p64, p32, &fv[0])
    if distinct == DM_ENC_NOMEM:
        raise MemoryError("factorize could not allocate its hash table")
    if distinct < 0:
        raise ValueError("factorize: the array's offsets point outside its data")
    # a small result should not pin n entries of memory
    return codes, (first[:distinct].copy() if distinct < n // 4 else first[:distinct])


def first_inconsistent(values, cons, first) -> int:
    """The first row whose value differs from its consignment's first row's; -1 if none.

    values: 1-d numpy array (any fixed-width dtype); cons: int64 consignment of
    each row; first: int64 first row of each consignment.
    """
    v = np.ascontiguousarray(values)
    if v.ndim != 1 or v.dtype.hasobject:
        raise TypeError("first_inconsistent needs a 1-d array of fixed-width values")
    cdef const int64_t[::1] cv = np.ascontiguousarray(cons, dtype=np.int64)
    cdef const int64_t[::1] fv = np.ascontiguousarray(first, dtype=np.int64)
    cdef int64_t n = v.shape[0]
    cdef int64_t width = v.dtype.itemsize
    cdef int64_t n_cons = fv.shape[0]
    cdef int64_t row = -1
    if cv.shape[0] != n:
        raise ValueError(f"first_inconsistent: {n} values but {cv.shape[0]} consignment codes")
    if n == 0:
        return -1
    cdef const uint8_t *p = _bytes_of(v, n * width, "values")
    with nogil:
        row = dm_first_inconsistent(p, width, n, &cv[0], n_cons, &fv[0] if n_cons else NULL)
    if row == DM_ENC_INVALID:
        raise ValueError("first_inconsistent: a consignment code or first row is out of range")
    return row


def factorize_pair(a, b, int64_t na, int64_t nb, bmap=None):
    """(codes int32, keys int64) of the pairs (a[i], bmap[b[i]] if bmap else b[i]) in first-appearance order.

    keys[k] = a * nb + b of pair k.  a and b must lie in [0, na) and [0, nb)
    (after bmap); na * nb must not exceed MAX_PAIR_TABLE.
    """
    cdef const int32_t[::1] av = np.ascontiguousarray(a, dtype=np.int32)
    cdef const int32_t[::1] bv = np.ascontiguousarray(b, dtype=np.int32)
    cdef const int32_t[::1] mv
    cdef const int32_t *mp = NULL
    cdef int64_t n_bmap = 0
    cdef int64_t n = av.shape[0]
    cdef int64_t distinct = 0
    if bv.shape[0] != n:
        raise ValueError("factorize_pair: a and b differ in length")
    if na <= 0 or nb <= 0 or na * nb > MAX_PAIR_TABLE:
        raise ValueError(f"factorize_pair: na * nb must be in [1, {MAX_PAIR_TABLE}]")
    if bmap is not None:
        mv = np.ascontiguousarray(bmap, dtype=np.int32)
        n_bmap = mv.shape[0]
        if n_bmap:
            mp = &mv[0]
        else:
            mp = <const int32_t*>_empty
    codes = np.empty(n, dtype=np.int32)
    keys = np.empty(max(min(n, na * nb), 1), dtype=np.int64)
    cdef int32_t[::1] cv = codes
    cdef int64_t[::1] kv = keys
    if n == 0:
        return codes, keys[:0]
    with nogil:
        distinct = dm_factorize_pair(&av[0], &bv[0], mp, n_bmap, n, na, nb, &cv[0], &kv[0])
    if distinct == DM_ENC_NOMEM:
        raise MemoryError("factorize_pair could not allocate its table")
    if distinct < 0:
        raise ValueError("factorize_pair: a value is out of range")
    return codes, keys[:distinct]


def gather_items(pair, measure_of, flags_of, flat_of, vkey, rate_of, reduced_of):
    """(measure, flags, flat_key, vat_rate, vat_rate_reduced) per item, in one pass.

    pair and vkey: each item's (code, origin) pair and (destination, VAT category)
    key; the *_of tables are indexed by them.  int32 columns, flags uint16.
    """
    cdef const int32_t[::1] pv = np.ascontiguousarray(pair, dtype=np.int32)
    cdef const int32_t[::1] vv = np.ascontiguousarray(vkey, dtype=np.int32)
    cdef const int32_t[::1] m_of = np.ascontiguousarray(measure_of, dtype=np.int32)
    cdef const uint16_t[::1] f_of = np.ascontiguousarray(flags_of, dtype=np.uint16)
    cdef const int32_t[::1] k_of = np.ascontiguousarray(flat_of, dtype=np.int32)
    cdef const int32_t[::1] r_of = np.ascontiguousarray(rate_of, dtype=np.int32)
    cdef const int32_t[::1] d_of = np.ascontiguousarray(reduced_of, dtype=np.int32)
    cdef int64_t n = pv.shape[0]
    cdef int64_t status = 0
    if vv.shape[0] != n:
        raise ValueError("gather_items: pair and vkey differ in length")
    if not (m_of.shape[0] == f_of.shape[0] == k_of.shape[0]) or r_of.shape[0] != d_of.shape[0]:
        raise ValueError("gather_items: tables of one index differ in length")
    measure = np.empty(n, dtype=np.int32)
    flags = np.empty(n, dtype=np.uint16)
    flat = np.empty(n, dtype=np.int32)
    rate = np.empty(n, dtype=np.int32)
    reduced = np.empty(n, dtype=np.int32)
    if n == 0:
        return measure, flags, flat, rate, reduced
    if m_of.shape[0] == 0 or r_of.shape[0] == 0:
        raise ValueError("gather_items: an index is out of range")
    cdef int32_t[::1] mo = measure
    cdef uint16_t[::1] fo = flags
    cdef int32_t[::1] ko = flat
    cdef int32_t[::1] ro = rate
    cdef int32_t[::1] do = reduced
    with nogil:
        status = dm_gather_items(n, &pv[0], m_of.shape[0], &m_of[0], &f_of[0], &k_of[0], &vv[0], r_of.shape[0],
                                 &r_of[0], &d_of[0], &mo[0], &fo[0], &ko[0], &ro[0], &do[0])
    if status < 0:
        raise ValueError("gather_items: an index is out of range")
    return measure, flags, flat, rate, reduced
