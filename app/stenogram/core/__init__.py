"""The Qt-free core of Stenogram: media, models, engine, documents, library, voice.

Importing it loads OpenBLAS on Linux (a dlopen, no MLX import): MLX must find it already
loaded when it is first imported, whoever imports it first (see ``mlx_runtime``).
"""

from stenogram.core.mlx_runtime import preload_blas

preload_blas()
