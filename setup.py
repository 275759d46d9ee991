"""Only the extension list lives here; metadata is in pyproject.toml.

Environment switches, read at build time:
  DEMINIMIS_DEBUG=1         bounds checking back on, for debugging the Cython skin;
  DEMINIMIS_PORTABLE128=1   the portable 128-bit arithmetic of csrc/checked.h (two 64-bit words,
                            as MSVC builds use) in place of the compiler's __int128, so that it is
                            tested on Linux and macOS (.ci/run's stage "portable 128-bit path");
                            deminimis._core.INT128_PATH says which one a build has.
"""

import os

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

debug = os.environ.get("DEMINIMIS_DEBUG", "") == "1"
portable128 = os.environ.get("DEMINIMIS_PORTABLE128", "") == "1"
msvc = os.name == "nt"  # cibuildwheel's Windows builds use MSVC

_flags = dict(
    include_dirs=["csrc", numpy.get_include()],
    define_macros=[
        ("NPY_NO_DEPRECATED_API", "NPY_1_25_API_VERSION"),
        ("NPY_TARGET_VERSION", "NPY_1_25_API_VERSION"),
    ]
    + ([("DM_FORCE_PORTABLE128", "1")] if portable128 else []),
    # MSVC: setuptools already passes /O2, and its default C dialect has all the C99 csrc/ uses
    # (threads come from csrc/threads.h's Win32 branch, no -pthread).
    extra_compile_args=[] if msvc else ["-O3", "-std=c11", "-pthread"],
    extra_link_args=[] if msvc else ["-pthread"],
    depends=[os.path.join("csrc", name) for name in sorted(os.listdir("csrc")) if name.endswith(".h")],
)

extensions = [
    # the kernel (csrc/assess.h is its contract, src/deminimis/_native.pxd declares it for Cython)
    Extension("deminimis._core", ["src/deminimis/_core.pyx", "csrc/assess.c", "csrc/allocate.c"], **_flags),
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
    ),
    # a build directory of its own for the portable variant: setuptools reuses a built
    # extension that is newer than its sources, whatever macros built it
    options={"build": {"build_base": "build/portable128"}} if portable128 else {},
)
