"""Let Paddle's math library use the vector instructions an AMD processor has, and keep freed memory for reuse.

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

import ctypes
import functools
import os
from collections.abc import Callable, MutableMapping

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


M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD, M_MMAP_MAX = -1, -2, -3, -4  # mallopt(3) parameters
GLIBC_DEFAULTS = {M_TRIM_THRESHOLD: 128 << 10, M_TOP_PAD: 128 << 10, M_MMAP_THRESHOLD: 128 << 10, M_MMAP_MAX: 65536}
KEPT = {
    M_MMAP_THRESHOLD: 32 << 20,  # the largest value glibc accepts
    M_MMAP_MAX: 0,  # and no mapping above it: freed large blocks stay in the heap for the next step
    M_TRIM_THRESHOLD: (1 << 31) - 1,
    M_TOP_PAD: 256 << 20,
}


def _mallopt(values: dict[int, int]) -> ctypes.CDLL | None:
    """Set glibc's malloc parameters; the C library, or None where it is not glibc (nothing to tune)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    for option, value in values.items():
        libc.mallopt(option, value)
    return libc


def keep_freed_memory() -> None:
    """Ask glibc to keep freed blocks instead of returning them to the OS: Paddle's CPU allocator frees every
    activation after use, and re-faulting fresh pages made large ops several times slower on this machine.

    No block is mapped on its own either (M_MMAP_MAX 0): glibc maps every block above 32 MB separately and unmaps it
    on free, and a step's logits are such blocks ([6,400 x 3,883] at ML-1M, [3,600 x 4,000] at 62k movies), so
    each step faulted them in afresh: an ML-25M-shaped step took 12% longer (benchmarks/bench_step_cost)."""
    _mallopt(KEPT)


def release_freed_memory() -> None:
    """Undo keep_freed_memory once training is over: glibc's documented defaults again (mallopt(3); the mmap
    threshold then stays at 128 KiB instead of adapting), and the free heap handed back to the OS (malloc_trim), so a
    long-lived process (a Celery training worker, an eager web process) does not keep a training run's peak."""
    libc = _mallopt(GLIBC_DEFAULTS)
    if libc is not None:
        libc.malloc_trim(0)


def keeps_freed_memory(fn: Callable) -> Callable:
    """Decorator: ``fn`` runs with keep_freed_memory, and release_freed_memory follows it, however it ends."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        keep_freed_memory()
        try:
            return fn(*args, **kwargs)
        finally:
            release_freed_memory()

    return wrapper
