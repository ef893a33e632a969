"""The one compiled part: the CPU decoder's fp16 product (app/stenogram/core/half_matmul.c).

Optional: where it cannot be built the engine keeps fp32 numpy products (half_matrix.py).
Its module has no functions: half_matrix.py imports it to find it, then calls it with ctypes.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "stenogram.core._half_matmul",
            sources=["app/stenogram/core/half_matmul.c"],
            extra_compile_args=["-O3"],
            optional=True,
        )
    ]
)
