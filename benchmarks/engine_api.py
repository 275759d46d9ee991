"""What the installed engine offers, detected rather than assumed.

The engine grows while this suite is written: ``n_threads``, caller-provided
output buffers (``out=``), separate encode/core timings and out-of-core
assessment each appear when they appear.  The suite asks this module, measures
what exists and reports what does not (``missing()``), so it never needs
editing when a feature lands and never fakes one that has not.

Encoding and core are timed separately through ``deminimis.engine.prepare``
and ``deminimis._core.assess``, the two halves ``deminimis.assess`` is made of.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

import numpy as np

import deminimis


def _params(f: Any) -> set[str]:
    try:
        return set(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        return set()


def _attr(path: str) -> Any:
    mod, _, name = path.rpartition(".")
    try:
        import importlib
        return getattr(importlib.import_module(mod), name)
    except (ImportError, AttributeError):
        return None


from deminimis import _core  # noqa: E402
from deminimis import engine as _engine  # noqa: E402

ASSESS = _params(deminimis.assess)
CORE = _params(getattr(_core, "assess", None))

FEATURES = {
    "n_threads": "n_threads" in ASSESS,
    "out": "out" in ASSESS and _attr("deminimis.engine.Buffers") is not None,
    "split": hasattr(_engine, "prepare") and hasattr(_core, "assess"),
    "core_threads": "n_threads" in CORE,
    "timings": None,  # known after the first call: does the Assessment carry .timings?
    "stream": _attr("deminimis.stream.assess_parquet") is not None,
}

#: what each missing feature is for (the report's list of engine changes)
NEEDS = {
    "n_threads": "deminimis.assess(..., n_threads=k): the two-thread target",
    "out": "deminimis.assess(..., out=Buffers): caller-provided outputs, no fresh pages per batch",
    "split": "engine.prepare + _core.assess (or any public encode/core split) to time them apart",
    "core_threads": "_core.assess(..., n_threads=k): threads in the core itself",
    "stream": "deminimis.stream.assess_parquet: out-of-core assessment of a Parquet file",
}


def missing() -> list[str]:
    return [f"{k}: {NEEDS[k]}" for k, v in FEATURES.items() if v is False and k in NEEDS]


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def assess(items: Any, kwargs: dict[str, Any], *, n_threads: int | None = 1, out: Any = None) -> Any:
    """deminimis.assess with the optional parameters the engine has."""
    extra: dict[str, Any] = {}
    if FEATURES["n_threads"]:
        extra["n_threads"] = n_threads
    elif n_threads not in (1, None):
        raise NotImplementedError(NEEDS["n_threads"])
    if out is not None:
        if not FEATURES["out"]:
            raise NotImplementedError(NEEDS["out"])
        extra["out"] = out
    result = deminimis.assess(items, **kwargs, **extra)
    FEATURES["timings"] = isinstance(getattr(result, "timings", None), dict)
    return result


def buffers(n_items: int, n_cons: int) -> Any:
    if not FEATURES["out"]:
        return None
    from deminimis.engine import Buffers
    return Buffers(n_items, n_cons)


# -- encode and core apart ---------------------------------------------------

def encode(items: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The engine's encoding of a batch (string ids and codes to integers, tariff resolution)."""
    from deminimis.engine import encode as engine_encode
    return engine_encode(items, regime=kwargs["regime"], tariff=kwargs["tariff"], on=kwargs.get("on"),
                         rates=kwargs.get("rates"), currency=kwargs.get("currency"),
                         amounts=kwargs.get("amounts", "decimal"))


def core_outputs(enc: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Fresh output arrays for the core, as deminimis.assess allocates them."""
    n, nc = enc["n"], enc["n_cons"]
    items = {k: np.empty(n, dtype=np.int64) for k in _core.ITEM_OUTPUTS}
    items["rule"] = np.empty(n, dtype=np.int32)
    cons = {k: np.empty(nc, dtype=np.int64) for k in _core.CONS_OUTPUTS}
    return items, cons


def core(enc: dict[str, Any], outputs: tuple[dict, dict] | None = None, *, n_threads: int = 1):
    """The native core alone on an encoded batch; fresh outputs unless given."""
    out_items, out_cons = outputs if outputs is not None else core_outputs(enc)
    extra = {}
    if n_threads != 1:
        if not FEATURES["core_threads"]:
            raise NotImplementedError(NEEDS["core_threads"])
        extra["n_threads"] = n_threads
    _core.assess(enc["items"], enc["cons"], enc["tables"], enc["params"], out_items, out_cons, **extra)
    return out_items, out_cons


def core_arrays(enc: dict[str, Any]) -> list[np.ndarray]:
    """Every array the core reads per item or per consignment (the floor streams these)."""
    arrays = []

    def walk(x: Any) -> None:
        if isinstance(x, np.ndarray):
            if x.dtype != object and len(x) in (enc["n"], enc["n_cons"]):
                arrays.append(x)
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)

    walk(enc["items"])
    walk(enc["cons"])
    return arrays


def versions() -> dict[str, str]:
    import platform
    import sys
    out = {"python": sys.version.split()[0], "deminimis": deminimis.__version__, "numpy": np.__version__}
    for mod in ("polars", "pyarrow", "pytest_benchmark"):
        try:
            out[mod] = __import__(mod).__version__
        except ImportError:
            out[mod] = "absent"
    out["machine"] = f"{platform.machine()}, {cpu_count()} CPUs ({_cpu_model()}), {_mem_gib():.0f} GiB"
    out["os"] = platform.platform()
    return out


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or "unknown CPU"


def _mem_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return 0.0


def git_revision() -> str:
    """The commit measured, and whether engine code (not regime data) differed from it."""
    import subprocess
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--", "../src", "../csrc", "../setup.py"],
                                 cwd=here, capture_output=True, text=True, timeout=10).stdout.splitlines()
        code = [line[3:] for line in changed if line[3:].endswith((".py", ".pyx", ".pxd", ".h", ".c"))
                and not line[3:].endswith("_core.c")]
        return rev + (f" + uncommitted changes to {', '.join(code)}" if code else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
