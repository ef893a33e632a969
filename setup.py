"""The compiled parts: the CPU decoder's fp16 product (app/stenogram/core/half_matmul.c) and
the CPU backend's vectorised attention, token choice, exp and GELU (core/vector_kernels.c).

Optional: where they cannot be built the engine keeps numpy (half_matrix.py, vector_kernels.py).
Their modules have no functions: the Python side imports one to find it, then calls it with ctypes.
"""

from setuptools import Extension, setup


def _kernel(name: str) -> Extension:
    return Extension(
        f"stenogram.core._{name}",
        sources=[f"app/stenogram/core/{name}.c"],
        extra_compile_args=["-O3"],
        optional=True,
    )


setup(ext_modules=[_kernel("half_matmul"), _kernel("vector_kernels")])
