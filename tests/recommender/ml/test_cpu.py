"""Choosing MKL's code path from /proc/cpuinfo (AMD processors get the instruction sets they have, others MKL's),
and glibc keeping freed memory for the next training step."""

import platform
import subprocess
import sys
from pathlib import Path

import pytest

from recommender.ml.cpu import VARIABLE, mkl_code_path, tune_math_library

ZEN4 = "fpu sse2 avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16"
ZEN2 = "fpu sse2 avx avx2 fma"


def cpuinfo(vendor: str, flags: str, processors: int = 2) -> str:
    block = f"processor\t: {{}}\nvendor_id\t: {vendor}\nmodel name\t: some cpu\nflags\t\t: {flags}\n"
    return "\n".join(block.format(i) for i in range(processors))


def test_amd_with_avx512_gets_the_avx512_path():
    assert mkl_code_path(cpuinfo("AuthenticAMD", ZEN4)) == "7"


def test_amd_without_avx512_gets_avx2():
    assert mkl_code_path(cpuinfo("AuthenticAMD", ZEN2)) == "5"
    assert mkl_code_path(cpuinfo("AuthenticAMD", "fpu sse2 avx2 fma avx512f")) == "5"  # AVX-512 foundation only


def test_intel_and_old_or_unknown_processors_are_left_to_mkl():
    assert mkl_code_path(cpuinfo("GenuineIntel", ZEN4)) is None
    assert mkl_code_path(cpuinfo("AuthenticAMD", "fpu sse2 avx")) is None
    assert mkl_code_path("") is None  # an ARM cpuinfo has neither field


def test_sets_the_variable_for_this_processor(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(cpuinfo("AuthenticAMD", ZEN4))
    environ = {}
    assert tune_math_library(environ, str(path)) == "7"
    assert environ == {VARIABLE: "7"}


def test_keeps_a_value_the_user_set(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(cpuinfo("AuthenticAMD", ZEN4))
    environ = {VARIABLE: "5"}
    assert tune_math_library(environ, str(path)) == "5"
    assert environ == {VARIABLE: "5"}


def test_no_cpuinfo_sets_nothing(tmp_path):
    environ = {}
    assert tune_math_library(environ, str(tmp_path / "missing")) is None
    assert environ == {}


MAPPED_BLOCK = """
import ctypes, sys
from recommender.ml.cpu import keep_freed_memory, keeps_freed_memory
if sys.argv[1] == "kept":
    keep_freed_memory()
elif sys.argv[1] == "after training":
    keeps_freed_memory(lambda: None)()  # as train() and refit() end: glibc's defaults again
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
block = libc.malloc(64 << 20)  # above glibc's largest mmap threshold (32 MB)
for line in open("/proc/self/maps"):
    low, high = (int(x, 16) for x in line.split()[0].split("-"))
    if low <= block < high:
        print(line.split()[5] if len(line.split()) > 5 else "own mapping")
"""


@pytest.mark.skipif(not Path("/proc/self/maps").exists() or platform.libc_ver()[0] != "glibc", reason="glibc on Linux")
@pytest.mark.parametrize(
    "mode, region", [("default", "own mapping"), ("kept", "[heap]"), ("after training", "own mapping")]
)
def test_after_keep_freed_memory_a_large_block_comes_from_the_heap_not_its_own_mapping(mode, region):
    """A block glibc maps on its own is unmapped on free and faulted in again on the next step's allocation."""
    done = subprocess.run([sys.executable, "-c", MAPPED_BLOCK, mode], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[3], check=True)  # fmt: skip
    assert done.stdout.strip() == region
