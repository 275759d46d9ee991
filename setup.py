"""Only the extension list lives here; metadata is in pyproject.toml."""

import os

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

# DEMINIMIS_DEBUG=1 turns bounds checking back on for debugging the Cython skin.
debug = os.environ.get("DEMINIMIS_DEBUG", "") == "1"

_flags = dict(
    include_dirs=["csrc", numpy.get_include()],
    define_macros=[
        ("NPY_NO_DEPRECATED_API", "NPY_1_25_API_VERSION"),
        ("NPY_TARGET_VERSION", "NPY_1_25_API_VERSION"),
    ],
    extra_compile_args=[] if os.name == "nt" else ["-O3", "-std=c11", "-pthread"],
    extra_link_args=[] if os.name == "nt" else ["-pthread"],
)

extensions = [
    Extension("deminimis._core", ["src/deminimis/_core.pyx"], **_flags),
    # the encoder's hashing and checking passes (csrc/encode.h), apart from the core
    Extension("deminimis._encode", ["src/deminimis/_encode.pyx"], **_flags),
]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        compiler_directives={
            "boundscheck": debug,
            "wraparound": debug,
            "initializedcheck": debug,
            # Never cdivision: C truncates toward zero; rounding is explicit in csrc/.
        },
    )
)
