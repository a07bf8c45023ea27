"""Let Paddle's math library use the vector instructions an AMD processor has.

Paddle's CPU wheel ships Intel's MKLML (MKL 2019-2020), which picks its matrix-product code by CPU vendor: on an AMD
EPYC with AVX-512 it runs a generic path at a third of the speed of its own AVX-512 path on the same cores
([6,400 × 256] @ [256 × 3,883], 2 threads: 76 against 225 GFLOP/s; an ML-1M-size training epoch 118 s against
43 s; benchmarks/bench_training_profile). That MKL honours MKL_DEBUG_CPU_TYPE, read at its first product, so this
sets it before any Paddle work when the processor is AMD and has every instruction set the chosen path uses. Intel
processors are left to MKL's own choice, a value the user set is kept, and newer MKL releases ignore the variable.

Limits: a value already in the environment is kept whoever set it (a parent process on another machine's
processor included), and it takes effect only if no MKL product ran in the process before recommender.ml was
imported (this package is where Paddle is used, so it is imported first).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

VARIABLE = "MKL_DEBUG_CPU_TYPE"
PATHS = (  # (MKL_DEBUG_CPU_TYPE, cpuinfo flags that code path needs), best first
    ("7", {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"}),  # AVX-512 (Xeon server kernels)
    ("5", {"avx2", "fma"}),  # AVX2
)


def mkl_code_path(cpuinfo: str) -> str | None:
    """The MKL_DEBUG_CPU_TYPE value for the processor /proc/cpuinfo describes, or None to leave MKL's choice."""
    vendor, flags = "", set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "vendor_id" and not vendor:
            vendor = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
    if vendor != "AuthenticAMD":
        return None
    return next((value for value, needed in PATHS if needed <= flags), None)


def tune_math_library(environ: MutableMapping[str, str] = os.environ, cpuinfo: str = "/proc/cpuinfo") -> str | None:
    """Set MKL_DEBUG_CPU_TYPE in ``environ`` for this processor unless already set; the value in effect, or None."""
    if VARIABLE not in environ:
        try:
            with open(cpuinfo, encoding="utf-8", errors="replace") as f:
                value = mkl_code_path(f.read())
        except OSError:  # not Linux: nothing to read, nothing to tune
            value = None
        if value is not None:
            environ[VARIABLE] = value
    return environ.get(VARIABLE)
