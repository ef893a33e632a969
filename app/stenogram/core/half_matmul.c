/*
 * x @ W for a few rows of fp32 x and an fp16 W, accumulated in fp32: the CPU decoder's
 * products, whose speed is the speed of reading W (see half_matrix.py).
 *
 * W (k, n) is stored in column tiles of TILE columns, each tile contiguous over k: one
 * sequential stream the prefetcher follows, and TILE columns of each row of x accumulate in
 * registers while the tile is read once. Callers split the tiles over threads.
 *
 * Built by setup.py as an optional extension module with no functions of its own: importing
 * it finds the file, ctypes calls in (and releases the GIL). x86-64 only: AVX-512 or AVX2
 * with F16C, chosen at run time; elsewhere half_matmul_isa() says 0 and the caller keeps
 * fp32 numpy.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_half_matmul",
    "fp16 products for the CPU decoder, called through ctypes (see half_matrix.py).", -1,
    NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__half_matmul(void) { return PyModule_Create(&module); }

#define TILE 32

int half_matmul_tile(void) { return TILE; }

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,fma,f16c")))
#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define INLINE static inline __attribute__((always_inline))

/* Stores a row's TILE sums, only the first `width` when the tile is the last, partial one. */
INLINE void store_row(float *out, const float *sums, int width)
{
    for (int j = 0; j < width; j++) out[j] = sums[j];
}

/* AVX-512: a row's 32 sums are two registers; up to 8 rows (16 registers) at a time. */
#define ROWS_512 8

AVX512 INLINE void rows_512(const float *x, ptrdiff_t k, const int rows, const uint16_t *tile,
                            float *out, ptrdiff_t n, int width)
{
    __m512 acc[ROWS_512][2];
    for (int r = 0; r < rows; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (ptrdiff_t i = 0; i < k; i++) {
        const __m256i *w = (const __m256i *)(tile + i * TILE);
        __m512 w0 = _mm512_cvtph_ps(_mm256_loadu_si256(w));
        __m512 w1 = _mm512_cvtph_ps(_mm256_loadu_si256(w + 1));
        for (int r = 0; r < rows; r++) {
            __m512 xr = _mm512_set1_ps(x[r * k + i]);
            acc[r][0] = _mm512_fmadd_ps(xr, w0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(xr, w1, acc[r][1]);
        }
    }
    for (int r = 0; r < rows; r++) {
        if (width == TILE) {
            _mm512_storeu_ps(out + r * n, acc[r][0]);
            _mm512_storeu_ps(out + r * n + 16, acc[r][1]);
        } else {
            float sums[TILE];
            _mm512_storeu_ps(sums, acc[r][0]);
            _mm512_storeu_ps(sums + 16, acc[r][1]);
            store_row(out + r * n, sums, width);
        }
    }
}

/* AVX2: a row's 32 sums are four registers; up to 3 rows (12 registers) at a time. */
#define ROWS_256 3

AVX2 INLINE void rows_256(const float *x, ptrdiff_t k, const int rows, const uint16_t *tile,
                          float *out, ptrdiff_t n, int width)
{
    __m256 acc[ROWS_256][4];
    for (int r = 0; r < rows; r++)
        for (int q = 0; q < 4; q++) acc[r][q] = _mm256_setzero_ps();
    for (ptrdiff_t i = 0; i < k; i++) {
        const __m128i *w = (const __m128i *)(tile + i * TILE);
        __m256 wq[4];
        for (int q = 0; q < 4; q++) wq[q] = _mm256_cvtph_ps(_mm_loadu_si128(w + q));
        for (int r = 0; r < rows; r++) {
            __m256 xr = _mm256_set1_ps(x[r * k + i]);
            for (int q = 0; q < 4; q++) acc[r][q] = _mm256_fmadd_ps(xr, wq[q], acc[r][q]);
        }
    }
    for (int r = 0; r < rows; r++) {
        float sums[TILE];
        for (int q = 0; q < 4; q++) _mm256_storeu_ps(sums + 8 * q, acc[r][q]);
        store_row(out + r * n, sums, width);
    }
}

/*
 * The loop over tiles and blocks of rows, for one instruction set's row kernel. Each case
 * calls it with a constant row count, so that the sums stay in registers.
 */
#define ROW_CASE(KERNEL, N) \
    case N: KERNEL(xr, k, N, tile, o, n, width); break;

#define TILE_LOOP(ATTRIBUTES, NAME, MAX_ROWS, CASES)                                             \
    ATTRIBUTES static void NAME(const float *x, ptrdiff_t rows, ptrdiff_t k,                     \
                                const uint16_t *tiles, ptrdiff_t n, ptrdiff_t start,             \
                                ptrdiff_t stop, float *out)                                      \
    {                                                                                            \
        for (ptrdiff_t t = start; t < stop; t++) {                                               \
            const uint16_t *tile = tiles + t * k * TILE;                                         \
            int width = (int)(n - t * TILE < TILE ? n - t * TILE : TILE);                        \
            for (ptrdiff_t r = 0; r < rows; r += MAX_ROWS) {                                     \
                const float *xr = x + r * k;                                                     \
                float *o = out + r * n + t * TILE;                                               \
                switch (rows - r < MAX_ROWS ? (int)(rows - r) : MAX_ROWS) { CASES }              \
            }                                                                                    \
        }                                                                                        \
    }

TILE_LOOP(AVX512, tiles_512, ROWS_512,
          ROW_CASE(rows_512, 1) ROW_CASE(rows_512, 2) ROW_CASE(rows_512, 3) ROW_CASE(rows_512, 4)
          ROW_CASE(rows_512, 5) ROW_CASE(rows_512, 6) ROW_CASE(rows_512, 7) ROW_CASE(rows_512, 8))

TILE_LOOP(AVX2, tiles_256, ROWS_256,
          ROW_CASE(rows_256, 1) ROW_CASE(rows_256, 2) ROW_CASE(rows_256, 3))

/* 2: AVX-512, 1: AVX2 + F16C + FMA, 0: neither (the caller keeps fp32). */
int half_matmul_isa(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma"))
        return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma"))
        return 1;
    return 0;
}

/*
 * out[:, start*TILE : stop*TILE] = x @ W for x (rows, k), W as tiles (n_tiles, k, TILE) of
 * (k, n) padded to whole tiles, out (rows, n); `isa` as half_matmul_isa() answers, or lower.
 * Returns 0, or -1 for an isa this build or CPU cannot run.
 */
int half_matmul(int isa, const float *x, ptrdiff_t rows, ptrdiff_t k, const uint16_t *tiles,
                ptrdiff_t n, ptrdiff_t start, ptrdiff_t stop, float *out)
{
    if (isa < 1 || isa > half_matmul_isa()) return -1;
    if (isa == 2)
        tiles_512(x, rows, k, tiles, n, start, stop, out);
    else
        tiles_256(x, rows, k, tiles, n, start, stop, out);
    return 0;
}

#else

int half_matmul_isa(void) { return 0; }

int half_matmul(int isa, const float *x, ptrdiff_t rows, ptrdiff_t k, const uint16_t *tiles,
                ptrdiff_t n, ptrdiff_t start, ptrdiff_t stop, float *out)
{
    (void)isa; (void)x; (void)rows; (void)k; (void)tiles; (void)n; (void)start; (void)stop; (void)out;
    return -1;
}

#endif
