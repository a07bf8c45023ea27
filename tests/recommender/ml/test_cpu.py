"""Choosing MKL's code path from /proc/cpuinfo: AMD processors get the instruction sets they have, others MKL's."""

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
