/*
 * The CPU backend's vectorised work besides its weight products (see vector_kernels.py):
 * the decoder's attention of new tokens over the audio and over the tokens before them, the
 * most likely tokens of each row of logits with the log of its softmax's normaliser, and the
 * encoder's exp of attention scores and its GELU; and the word aligner's dynamic time warping
 * (plain C, on any CPU).
 *
 * numpy runs these as many small calls (a batched product per (row, head) pair, a softmax,
 * a second product), and its exp runs at about 0.7 ns an element here: 30 beam rows of
 * tiny.en spent more time in call overhead and exp than in arithmetic. Here each is one
 * pass, with a vectorised exp.
 *
 * Built by setup.py as an optional extension module with no functions of its own: importing
 * it finds the file, ctypes calls in (and releases the GIL). AVX-512 only; elsewhere
 * vector_kernels_isa() says 0 and the caller keeps numpy.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_vector_kernels",
    "The CPU decoder's attention and token choice, called through ctypes (see vector_kernels.py).", -1,
    NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__vector_kernels(void) { return PyModule_Create(&module); }

#define KEY_TILE 32     /* frames per tile of an audio's keys: (tiles, d, KEY_TILE) */
#define HEAD_DIM 64     /* every Whisper model's attention head width, the only one taken */
#define MAX_ROWS 8      /* rows of one audio whose scores accumulate in registers together */
#define SUM_ROWS 6      /* rows whose weighted sums of values do (4 registers each) */
#define MAX_FRAMES 4096 /* frames of audio (Whisper: 1500) and tokens (448) a kernel takes */

int vector_kernels_key_tile(void) { return KEY_TILE; }

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,fma")))
#define INLINE static inline __attribute__((always_inline))

int vector_kernels_isa(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma") ? 2 : 0;
}

/* e^x in every lane, to about 1 ulp: e^x = 2^n e^r, |r| <= ln 2 / 2, e^r by its Taylor
 * polynomial to r^7 (Horner), 2^n applied by scalef (into the subnormals). Below -103 gives
 * e^-103 (~1.4e-45, the least float) rather than 0: lost in any sum next to e^0. */
AVX512 INLINE __m512 exp_512(__m512 x)
{
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-103.0f)), _mm512_set1_ps(88.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187e-06f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

INLINE __mmask16 tail_mask(ptrdiff_t left) { return left >= 16 ? 0xFFFF : (__mmask16)((1u << left) - 1); }

/* The largest of x[0..n). */
AVX512 INLINE float max_of(const float *x, ptrdiff_t n)
{
    __m512 m = _mm512_set1_ps(-INFINITY);
    for (ptrdiff_t i = 0; i < n; i += 16)
        m = _mm512_max_ps(m, _mm512_mask_loadu_ps(m, tail_mask(n - i), x + i));
    return _mm512_reduce_max_ps(m);
}

/* The sum of a row's lanes, added in double. */
AVX512 INLINE double lanes_sum(__m512 v)
{
    float lanes[16];
    _mm512_storeu_ps(lanes, v);
    double total = 0.0;
    for (int j = 0; j < 16; j++) total += lanes[j];
    return total;
}

/* x[i] = e^(x[i] - peak) for i < n; returns their sum. A row of attention scores (1,500) is
 * summed in fp32, in 32 lanes (about 50 terms each, then added in double): one chain of
 * double additions held the loop to half its speed. */
AVX512 INLINE double exp_in_place(float *x, ptrdiff_t n, float peak)
{
    __m512 shift = _mm512_set1_ps(peak);
    __m512 sum0 = _mm512_setzero_ps(), sum1 = _mm512_setzero_ps();
    ptrdiff_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 e0 = exp_512(_mm512_sub_ps(_mm512_loadu_ps(x + i), shift));
        __m512 e1 = exp_512(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16), shift));
        _mm512_storeu_ps(x + i, e0);
        _mm512_storeu_ps(x + i + 16, e1);
        sum0 = _mm512_add_ps(sum0, e0);
        sum1 = _mm512_add_ps(sum1, e1);
    }
    for (; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        __m512 e = _mm512_maskz_mov_ps(m, exp_512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), shift)));
        _mm512_mask_storeu_ps(x + i, m, e);
        sum0 = _mm512_add_ps(sum0, e);
    }
    return lanes_sum(sum0) + lanes_sum(sum1);
}

/* The sum of e^(x[i] - peak), added in double (a row of 51,864 logits: float's sums would
 * drift by 1e-4), in four chains so that the additions overlap; x untouched. */
AVX512 INLINE double exp_sum(const float *x, ptrdiff_t n, float peak)
{
    __m512 shift = _mm512_set1_ps(peak);
    __m512d sum[4] = {_mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd()};
    ptrdiff_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 e0 = exp_512(_mm512_sub_ps(_mm512_loadu_ps(x + i), shift));
        __m512 e1 = exp_512(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16), shift));
        sum[0] = _mm512_add_pd(sum[0], _mm512_cvtps_pd(_mm512_castps512_ps256(e0)));
        sum[1] = _mm512_add_pd(sum[1], _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e0), 1))));
        sum[2] = _mm512_add_pd(sum[2], _mm512_cvtps_pd(_mm512_castps512_ps256(e1)));
        sum[3] = _mm512_add_pd(sum[3], _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e1), 1))));
    }
    for (; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        __m512 e = _mm512_maskz_mov_ps(m, exp_512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), shift)));
        sum[0] = _mm512_add_pd(sum[0], _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
        sum[1] = _mm512_add_pd(sum[1], _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(sum[0], sum[1]), _mm512_add_pd(sum[2], sum[3])));
}

/* ---- the most likely tokens ---------------------------------------------------------- */

/* Puts token `id` of value v into the k best so far (values descending, equal values in
 * the order met, so a lower id first), when it belongs there. */
static void keep_best(int64_t *ids, float *values, int *count, int k, int64_t id, float v)
{
    int at = *count < k ? *count : k - 1;
    if (*count == k && !(v > values[k - 1])) return;
    while (at > 0 && v > values[at - 1]) {
        values[at] = values[at - 1];
        ids[at] = ids[at - 1];
        at--;
    }
    values[at] = v;
    ids[at] = id;
    if (*count < k) (*count)++;
}

/*
 * For rows [start, stop) of logits (rows, n): the k largest logits in descending order
 * (equal ones by id), their ids, and log sum_j e^logit_j. Returns 0, or -1 for a k the
 * kernel does not take.
 */
AVX512 static int logits_top_512(const float *logits, ptrdiff_t n, int k, ptrdiff_t start, ptrdiff_t stop,
                                 int64_t *top_ids, float *top_values, float *log_totals)
{
    if (k < 1 || k > 64) return -1;
    for (ptrdiff_t row = start; row < stop; row++) {
        const float *x = logits + row * n;
        int64_t *ids = top_ids + row * k;
        float *values = top_values + row * k;
        int count = 0;
        /* a candidate must beat the k-th best: whole vectors below it are skipped */
        for (ptrdiff_t i = 0; i < n; i += 16) {
            __mmask16 m = tail_mask(n - i);
            __m512 v = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), m, x + i);
            __mmask16 hits = count < k ? m : _mm512_mask_cmp_ps_mask(m, v, _mm512_set1_ps(values[k - 1]), _CMP_GT_OQ);
            while (hits) {
                int lane = __builtin_ctz(hits);
                hits &= hits - 1;
                keep_best(ids, values, &count, k, i + lane, x[i + lane]);
            }
        }
        for (int j = count; j < k; j++) { ids[j] = -1; values[j] = -INFINITY; }
        float peak = values[0];
        log_totals[row] = isfinite(peak) ? peak + (float)log(exp_sum(x, n, peak)) : -INFINITY;
    }
    return 0;
}

/* ---- attention ----------------------------------------------------------------------- */

/* softmax of each of `rows` rows of scores (rows, n) in place. */
AVX512 INLINE void softmax_rows(float *scores, int rows, ptrdiff_t n)
{
    for (int g = 0; g < rows; g++) {
        float *s = scores + g * n;
        float inverse = (float)(1.0 / exp_in_place(s, n, max_of(s, n)));
        __m512 scale = _mm512_set1_ps(inverse);
        for (ptrdiff_t i = 0; i < n; i += 16) {
            __mmask16 m = tail_mask(n - i);
            _mm512_mask_storeu_ps(s + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, s + i), scale));
        }
    }
}

/* out[g] = sum_f p[g][f] values[f] for `rows` rows (at most SUM_ROWS) of HEAD_DIM sums. */
AVX512 INLINE void weighted_sum(const float *p, const int rows, ptrdiff_t n, const float *values,
                                float *out, ptrdiff_t out_stride)
{
    __m512 acc[SUM_ROWS][4];
    for (int g = 0; g < rows; g++)
        for (int q = 0; q < 4; q++) acc[g][q] = _mm512_setzero_ps();
    for (ptrdiff_t f = 0; f < n; f++) {
        const float *v = values + f * HEAD_DIM;
        __m512 vq[4];
        for (int q = 0; q < 4; q++) vq[q] = _mm512_loadu_ps(v + 16 * q);
        for (int g = 0; g < rows; g++) {
            __m512 w = _mm512_set1_ps(p[g * n + f]);
            for (int q = 0; q < 4; q++) acc[g][q] = _mm512_fmadd_ps(w, vq[q], acc[g][q]);
        }
    }
    for (int g = 0; g < rows; g++)
        for (int q = 0; q < 4; q++) _mm512_storeu_ps(out + g * out_stride + 16 * q, acc[g][q]);
}

#define SUM_CASE(N) case N: weighted_sum(p, N, n, values, out, out_stride); break;

/* weighted_sum for any number of rows, SUM_ROWS at a time. */
AVX512 INLINE void weighted_sums(const float *p, int rows, ptrdiff_t n, const float *values, float *out,
                                 ptrdiff_t out_stride)
{
    for (int g0 = 0; g0 < rows; g0 += SUM_ROWS, p += SUM_ROWS * n, out += SUM_ROWS * out_stride) {
        switch (rows - g0 < SUM_ROWS ? rows - g0 : SUM_ROWS) {
            SUM_CASE(1) SUM_CASE(2) SUM_CASE(3) SUM_CASE(4) SUM_CASE(5) SUM_CASE(6)
        }
    }
}

/* scores[g][f] = q[g] . keys[f] for `rows` query rows (row stride q_stride) over keys held
 * as tiles (tiles, d, KEY_TILE), frames [0, n). */
AVX512 INLINE void tiled_scores(const float *q, const int rows, ptrdiff_t q_stride, const float *tiles,
                                ptrdiff_t n, float *scores)
{
    for (ptrdiff_t t = 0; t * KEY_TILE < n; t++) {
        const float *tile = tiles + t * HEAD_DIM * KEY_TILE;
        __m512 acc[MAX_ROWS][2];
        for (int g = 0; g < rows; g++) acc[g][0] = acc[g][1] = _mm512_setzero_ps();
        for (ptrdiff_t i = 0; i < HEAD_DIM; i++) {
            __m512 k0 = _mm512_loadu_ps(tile + i * KEY_TILE), k1 = _mm512_loadu_ps(tile + i * KEY_TILE + 16);
            for (int g = 0; g < rows; g++) {
                __m512 w = _mm512_set1_ps(q[g * q_stride + i]);
                acc[g][0] = _mm512_fmadd_ps(w, k0, acc[g][0]);
                acc[g][1] = _mm512_fmadd_ps(w, k1, acc[g][1]);
            }
        }
        ptrdiff_t f = t * KEY_TILE;
        __mmask16 m0 = tail_mask(n - f), m1 = tail_mask(n - f - 16 < 0 ? 0 : n - f - 16);
        for (int g = 0; g < rows; g++) {
            _mm512_mask_storeu_ps(scores + g * n + f, m0, acc[g][0]);
            if (n - f > 16) _mm512_mask_storeu_ps(scores + g * n + f + 16, m1, acc[g][1]);
        }
    }
}

#define ROW_CASE(N) case N: tiled_scores(qg, N, q_stride, tiles, n_frames, s); break;

/*
 * Cross-attention of `group` query rows per audio over that audio's frames, for the
 * (audio, head) pairs [start, stop) of n_audio x heads.
 *   q        (n_audio, group, heads, d), already scaled
 *   keys     (n_keys, heads, tiles, d, KEY_TILE): each audio's keys, frames in tiles (zero padded)
 *   values   (n_keys, heads, n_frames, d)
 *   audio    (n_audio): which of the n_keys audios each audio of q reads
 *   out      (n_audio, group, heads, d)
 *   raw      NULL, or (n_audio, heads, group, n_frames): the scores before their softmax
 * Returns 0, or -1 for shapes it does not take (d other than HEAD_DIM, too many frames).
 */
AVX512 static int cross_attend_512(const float *q, ptrdiff_t group, ptrdiff_t heads, ptrdiff_t d,
                                   const float *keys, const float *values, const int64_t *audio,
                                   ptrdiff_t n_frames, ptrdiff_t start, ptrdiff_t stop, float *out, float *raw)
{
    if (d != HEAD_DIM || n_frames > MAX_FRAMES || n_frames < 1) return -1;
    ptrdiff_t n_tiles = (n_frames + KEY_TILE - 1) / KEY_TILE;
    static __thread float scratch[MAX_ROWS * MAX_FRAMES];
    ptrdiff_t q_stride = heads * d;
    for (ptrdiff_t pair = start; pair < stop; pair++) {
        ptrdiff_t a = pair / heads, h = pair % heads;
        const float *tiles = keys + (audio[a] * heads + h) * n_tiles * d * KEY_TILE;
        const float *vals = values + (audio[a] * heads + h) * n_frames * d;
        for (ptrdiff_t g0 = 0; g0 < group; g0 += MAX_ROWS) {
            int rows = (int)(group - g0 < MAX_ROWS ? group - g0 : MAX_ROWS);
            const float *qg = q + ((a * group + g0) * heads + h) * d;
            float *s = scratch;
            switch (rows) { ROW_CASE(1) ROW_CASE(2) ROW_CASE(3) ROW_CASE(4)
                            ROW_CASE(5) ROW_CASE(6) ROW_CASE(7) ROW_CASE(8) }
            if (raw)
                memcpy(raw + ((a * heads + h) * group + g0) * n_frames, s, sizeof(float) * rows * n_frames);
            softmax_rows(s, rows, n_frames);
            weighted_sums(s, rows, n_frames, vals, out + ((a * group + g0) * heads + h) * d, q_stride);
        }
    }
    return 0;
}

/* scores[j] = q . keys[j] for j in [0, n), keys (n, d). */
AVX512 INLINE void row_scores(const __m512 qv[4], const float *keys, ptrdiff_t n, float *scores)
{
    for (ptrdiff_t j = 0; j < n; j++) {
        __m512 acc = _mm512_mul_ps(qv[0], _mm512_loadu_ps(keys + j * HEAD_DIM));
        for (int i = 1; i < 4; i++) acc = _mm512_fmadd_ps(qv[i], _mm512_loadu_ps(keys + j * HEAD_DIM + 16 * i), acc);
        scores[j] = _mm512_reduce_add_ps(acc);
    }
}

/*
 * Self-attention of one new token per row over what it has read: its audio's prompt (the
 * prefix, shared by the audio's `group` rows; from position firsts[row] on, the rest being
 * left padding) and then its own first `length` cached tokens (the new one's already
 * written). The prefix's keys are tiled as the audio's are for cross-attention, and an
 * audio's rows score them together, up to MAX_ROWS at a time (a beam step reads an audio's
 * prompt once). Pairs [start, stop) of audios x heads.
 *   q (audios * group, heads, d) scaled; out likewise; keys, values (rows, heads, capacity, d);
 *   prefix_keys (any audios, heads, tiles, d, KEY_TILE), prefix_values (any audios, heads,
 *   prefix_capacity, d), audio[a] the one audio a reads; prefix_len 0: no prefix (the prefix
 *   arrays may then be NULL).
 */
AVX512 static int self_attend_512(const float *q, ptrdiff_t d, ptrdiff_t heads, ptrdiff_t group,
                                  const float *prefix_keys, const float *prefix_values,
                                  ptrdiff_t prefix_capacity, ptrdiff_t prefix_len, const int64_t *audio,
                                  const int64_t *firsts, const float *keys, const float *values,
                                  ptrdiff_t capacity, ptrdiff_t length, ptrdiff_t start, ptrdiff_t stop,
                                  float *out)
{
    if (d != HEAD_DIM || heads < 1 || group < 1 || length < 1 || length > capacity
        || prefix_len < 0 || prefix_len > prefix_capacity || prefix_len + length > MAX_FRAMES)
        return -1;
    static __thread float shared[MAX_ROWS * MAX_FRAMES];
    float scores[MAX_FRAMES], from_prefix[HEAD_DIM];
    ptrdiff_t n_tiles = (prefix_len + KEY_TILE - 1) / KEY_TILE, q_stride = heads * d;
    for (ptrdiff_t pair = start; pair < stop; pair++) {
        ptrdiff_t a = pair / heads, h = pair % heads;
        const float *tiles = NULL, *shared_values = NULL;
        if (prefix_len) {
            tiles = prefix_keys + (audio[a] * heads + h) * n_tiles * d * KEY_TILE;
            shared_values = prefix_values + (audio[a] * heads + h) * prefix_capacity * d;
        }
        for (ptrdiff_t g0 = 0; g0 < group; g0 += MAX_ROWS) {
            int rows = (int)(group - g0 < MAX_ROWS ? group - g0 : MAX_ROWS);
            if (prefix_len) {
                const float *qg = q + ((a * group + g0) * heads + h) * d;
                float *s = shared;
                ptrdiff_t n_frames = prefix_len;
                switch (rows) { ROW_CASE(1) ROW_CASE(2) ROW_CASE(3) ROW_CASE(4)
                                ROW_CASE(5) ROW_CASE(6) ROW_CASE(7) ROW_CASE(8) }
            }
            for (int g = 0; g < rows; g++) {
                ptrdiff_t row = a * group + g0 + g;
                ptrdiff_t first = prefix_len && firsts ? (ptrdiff_t)firsts[row] : 0;
                if (first < 0 || (prefix_len && first >= prefix_len)) return -1;
                ptrdiff_t n_prefix = prefix_len - first;
                const float *qp = q + (row * heads + h) * d;
                float *op = out + (row * heads + h) * d;
                __m512 qv[4];
                for (int i = 0; i < 4; i++) qv[i] = _mm512_loadu_ps(qp + 16 * i);
                if (n_prefix) memcpy(scores, shared + g * prefix_len + first, sizeof(float) * n_prefix);
                row_scores(qv, keys + (row * heads + h) * capacity * d, length, scores + n_prefix);
                softmax_rows(scores, 1, n_prefix + length);
                weighted_sum(scores + n_prefix, 1, length, values + (row * heads + h) * capacity * d, op, d);
                if (n_prefix) {
                    weighted_sum(scores, 1, n_prefix, shared_values + first * d, from_prefix, d);
                    for (int i = 0; i < 4; i++)
                        _mm512_storeu_ps(op + 16 * i, _mm512_add_ps(_mm512_loadu_ps(op + 16 * i),
                                                                     _mm512_loadu_ps(from_prefix + 16 * i)));
                }
            }
        }
    }
    return 0;
}

/* ---- the encoder ----------------------------------------------------------------------- */

/* Rows [start, stop) of x (rows, n): x = e^(x - shift) with shift the row's largest value, or
 * 0 when `shifted` is 0 (the caller knows no value can overflow), and sums[row] their sum. */
AVX512 static void exp_rows_512(float *x, ptrdiff_t n, int shifted, ptrdiff_t start, ptrdiff_t stop, float *sums)
{
    for (ptrdiff_t row = start; row < stop; row++) {
        float *r = x + row * n;
        sums[row] = (float)exp_in_place(r, n, shifted ? max_of(r, n) : 0.0f);
    }
}

/* GELU's tail, |x| P(X > |x|) for a standard normal X, as cpu_encoder.py computes it: a fit
 * in t = 1 / (1 + p|x|) times e^(-x^2/2). */
static const float TAIL_P = 0.25550914263154223f;
static const float TAIL_C[7] = {
    0.10125075110163022f, 0.11085527070270948f, 0.046155796098905105f, 0.22893688269264217f,
    -0.1914733568453606f, 0.2883799462032807f, -0.08410536419896963f,
};

/* x[start:stop] = GELU(x) = max(x, 0) - |x| P(X > |x|), in place. */
AVX512 static void gelu_512(float *x, ptrdiff_t start, ptrdiff_t stop)
{
    for (ptrdiff_t i = start; i < stop; i += 16) {
        __mmask16 m = tail_mask(stop - i);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        __m512 a = _mm512_abs_ps(v);
        __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(a, _mm512_set1_ps(TAIL_P), _mm512_set1_ps(1.0f)));
        __m512 tail = _mm512_mul_ps(t, _mm512_set1_ps(TAIL_C[6]));
        for (int c = 5; c >= 0; c--) tail = _mm512_mul_ps(_mm512_add_ps(tail, _mm512_set1_ps(TAIL_C[c])), t);
        __m512 e = exp_512(_mm512_mul_ps(_mm512_mul_ps(a, _mm512_set1_ps(-0.5f)), a));
        tail = _mm512_mul_ps(_mm512_mul_ps(tail, e), a);
        _mm512_mask_storeu_ps(x + i, m, _mm512_sub_ps(_mm512_max_ps(v, _mm512_setzero_ps()), tail));
    }
}

/* Rows [start, stop) of out (rows, d) = layer norm of x's rows: centred, divided by the root
 * of their mean square plus eps, times weight, plus bias; d a multiple of 16. */
AVX512 static void layer_norm_512(const float *x, ptrdiff_t d, const float *weight, const float *bias,
                                  float eps, ptrdiff_t start, ptrdiff_t stop, float *out)
{
    for (ptrdiff_t row = start; row < stop; row++) {
        const float *r = x + row * d;
        float *o = out + row * d;
        __m512 sum = _mm512_setzero_ps();
        for (ptrdiff_t i = 0; i < d; i += 16) sum = _mm512_add_ps(sum, _mm512_loadu_ps(r + i));
        __m512 mean = _mm512_set1_ps((float)(lanes_sum(sum) / (double)d));
        __m512 squares = _mm512_setzero_ps();
        for (ptrdiff_t i = 0; i < d; i += 16) {
            __m512 c = _mm512_sub_ps(_mm512_loadu_ps(r + i), mean);
            squares = _mm512_fmadd_ps(c, c, squares);
        }
        float scale = (float)(1.0 / sqrt(lanes_sum(squares) / (double)d + (double)eps));
        __m512 s = _mm512_set1_ps(scale);
        for (ptrdiff_t i = 0; i < d; i += 16) {
            __m512 c = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(r + i), mean), s);
            _mm512_storeu_ps(o + i, _mm512_fmadd_ps(c, _mm512_loadu_ps(weight + i), _mm512_loadu_ps(bias + i)));
        }
    }
}

int layer_norm(const float *x, ptrdiff_t d, const float *weight, const float *bias, float eps,
               ptrdiff_t start, ptrdiff_t stop, float *out)
{
    if (!vector_kernels_isa() || d % 16) return -1;
    layer_norm_512(x, d, weight, bias, eps, start, stop, out);
    return 0;
}

int exp_rows(float *x, ptrdiff_t n, int shifted, ptrdiff_t start, ptrdiff_t stop, float *sums)
{
    if (!vector_kernels_isa()) return -1;
    exp_rows_512(x, n, shifted, start, stop, sums);
    return 0;
}

int gelu(float *x, ptrdiff_t start, ptrdiff_t stop)
{
    if (!vector_kernels_isa()) return -1;
    gelu_512(x, start, stop);
    return 0;
}

int logits_top(const float *logits, ptrdiff_t n, int k, ptrdiff_t start, ptrdiff_t stop,
               int64_t *top_ids, float *top_values, float *log_totals)
{
    if (!vector_kernels_isa()) return -1;
    return logits_top_512(logits, n, k, start, stop, top_ids, top_values, log_totals);
}

int cross_attend(const float *q, ptrdiff_t group, ptrdiff_t heads, ptrdiff_t d, const float *keys,
                 const float *values, const int64_t *audio, ptrdiff_t n_frames, ptrdiff_t start,
                 ptrdiff_t stop, float *out, float *raw)
{
    if (!vector_kernels_isa()) return -1;
    return cross_attend_512(q, group, heads, d, keys, values, audio, n_frames, start, stop, out, raw);
}

int self_attend(const float *q, ptrdiff_t d, ptrdiff_t heads, ptrdiff_t group, const float *prefix_keys,
                const float *prefix_values, ptrdiff_t prefix_capacity, ptrdiff_t prefix_len,
                const int64_t *audio, const int64_t *firsts, const float *keys, const float *values,
                ptrdiff_t capacity, ptrdiff_t length, ptrdiff_t start, ptrdiff_t stop, float *out)
{
    if (!vector_kernels_isa()) return -1;
    return self_attend_512(q, d, heads, group, prefix_keys, prefix_values, prefix_capacity, prefix_len,
                           audio, firsts, keys, values, capacity, length, start, stop, out);
}

#else

int vector_kernels_isa(void) { return 0; }

int layer_norm(const float *x, ptrdiff_t d, const float *weight, const float *bias, float eps,
               ptrdiff_t start, ptrdiff_t stop, float *out)
{
    (void)x; (void)d; (void)weight; (void)bias; (void)eps; (void)start; (void)stop; (void)out;
    return -1;
}

int exp_rows(float *x, ptrdiff_t n, int shifted, ptrdiff_t start, ptrdiff_t stop, float *sums)
{
    (void)x; (void)n; (void)shifted; (void)start; (void)stop; (void)sums;
    return -1;
}

int gelu(float *x, ptrdiff_t start, ptrdiff_t stop)
{
    (void)x; (void)start; (void)stop;
    return -1;
}

int logits_top(const float *logits, ptrdiff_t n, int k, ptrdiff_t start, ptrdiff_t stop,
               int64_t *top_ids, float *top_values, float *log_totals)
{
    (void)logits; (void)n; (void)k; (void)start; (void)stop; (void)top_ids; (void)top_values; (void)log_totals;
    return -1;
}

int cross_attend(const float *q, ptrdiff_t group, ptrdiff_t heads, ptrdiff_t d, const float *keys,
                 const float *values, const int64_t *audio, ptrdiff_t n_frames, ptrdiff_t start,
                 ptrdiff_t stop, float *out, float *raw)
{
    (void)q; (void)group; (void)heads; (void)d; (void)keys; (void)values; (void)audio; (void)n_frames;
    (void)start; (void)stop; (void)out; (void)raw;
    return -1;
}

int self_attend(const float *q, ptrdiff_t d, ptrdiff_t heads, ptrdiff_t group, const float *prefix_keys,
                const float *prefix_values, ptrdiff_t prefix_capacity, ptrdiff_t prefix_len,
                const int64_t *audio, const int64_t *firsts, const float *keys, const float *values,
                ptrdiff_t capacity, ptrdiff_t length, ptrdiff_t start, ptrdiff_t stop, float *out)
{
    (void)q; (void)d; (void)heads; (void)group; (void)prefix_keys; (void)prefix_values;
    (void)prefix_capacity; (void)prefix_len; (void)audio; (void)firsts; (void)keys; (void)values;
    (void)capacity; (void)length; (void)start; (void)stop; (void)out;
    return -1;
}

#endif

/* ---- word alignment (any CPU) ----------------------------------------------------------- */

/*
 * The cheapest monotonic path through cost x (n text tokens, m frames), as mlx_whisper's
 * dtw_cpu finds it (the same float32 sums and the same choice among equal costs: diagonal,
 * then from the token above, then from the frame before), written as (token, frame) pairs
 * from the start into path_i, path_j (room for n + m). Returns the path's length, or -1 when
 * its work space cannot be had.
 */
ptrdiff_t dtw_path(const float *x, ptrdiff_t n, ptrdiff_t m, int64_t *path_i, int64_t *path_j)
{
    ptrdiff_t width = m + 1;
    float *cost = malloc(sizeof(float) * (size_t)((n + 1) * width));
    unsigned char *trace = malloc((size_t)((n + 1) * width));
    if (!cost || !trace) {
        free(cost);
        free(trace);
        return -1;
    }
    for (ptrdiff_t k = 0; k < (n + 1) * width; k++) cost[k] = INFINITY;
    cost[0] = 0.0f;
    for (ptrdiff_t j = 1; j <= m; j++) {
        for (ptrdiff_t i = 1; i <= n; i++) {
            float c0 = cost[(i - 1) * width + j - 1], c1 = cost[(i - 1) * width + j], c2 = cost[i * width + j - 1];
            float c;
            unsigned char t;
            if (c0 < c1 && c0 < c2) { c = c0; t = 0; }
            else if (c1 < c0 && c1 < c2) { c = c1; t = 1; }
            else { c = c2; t = 2; }
            cost[i * width + j] = x[(i - 1) * m + j - 1] + c;
            trace[i * width + j] = t;
        }
    }
    for (ptrdiff_t j = 0; j <= m; j++) trace[j] = 2;           /* along the first row: frames */
    for (ptrdiff_t i = 0; i <= n; i++) trace[i * width] = 1;   /* down the first column: tokens */
    ptrdiff_t i = n, j = m, length = 0;
    while (i > 0 || j > 0) {
        path_i[length] = i - 1;
        path_j[length] = j - 1;
        length++;
        unsigned char t = trace[i * width + j];
        if (t == 0) { i--; j--; }
        else if (t == 1) i--;
        else j--;
    }
    for (ptrdiff_t a = 0, b = length - 1; a < b; a++, b--) {  /* from the start */
        int64_t ti = path_i[a], tj = path_j[a];
        path_i[a] = path_i[b]; path_j[a] = path_j[b];
        path_i[b] = ti; path_j[b] = tj;
    }
    free(cost);
    free(trace);
    return length;
}
