/* Fused training-mode SLAF kernels for the CPU: one call per layer for the forward pass and one for
 * the backward pass, whatever the degree k.
 *
 * The maths is that of _streaming.py (see its docstring): the elements g_1..g_k come from the
 * family's three-term recurrence g_(n+1) = ra[n] u g_n - rb[n] g_(n-1) (g_0 = 1, g_1 = u = x / r),
 * each is normalised with its biased batch mean and variance, and the output is
 * sum_i a_i g_i + (bias - sum_i a_i mu_i) with a_i = coef_i / sqrt(var_i + eps).
 *
 * Each pass walks the rows once, and within a row a strip of LANES contiguous units at a time:
 * the strip's elements, derivatives and Clenshaw terms are GCC/Clang vector values (one register
 * of the widest vector unit compiled for: 16 floats on AVX-512, 8 on AVX2, 4 otherwise), so the
 * recurrence costs a few vector operations per degree and nothing of it goes through memory but the
 * per-(degree, unit) sums. The per-(degree, unit) buffers are laid out with a row stride P (U rounded up to LANES),
 * so every strip is a full one: the last strip of a row, when U is not a multiple of LANES, is
 * read into a zero-padded strip (and r into ones), and only its first U - j0 lanes are written
 * back. (Loops over a strip's lanes in plain arrays were not vectorised by GCC 12 and ran three
 * times slower than the previous element-buffer kernels; the vector types run 3-5 times faster
 * than those.)
 *   forward:  shifted sums of the elements and of their squares (one pass; the shift, the
 *             elements' mean over the first SHIFT_ROWS rows, lies near the batch mean, so the
 *             variance keeps float precision even for heavy-tailed high powers), then the output
 *             by Clenshaw's rule;
 *   backward: sum_n y and sum_n y g_i (p_i = that - mu_i sum_n y); then the input gradient from the
 *             elements and their derivatives g'_(n+1) = ra[n] (g_n + u g'_n) - rb[n] g'_(n-1).
 * Sums over rows accumulate in T over blocks of BLOCK rows and then in double, which keeps the
 * inner loops in the network's precision (twice the vector width of double in float32) and the
 * error of a sum that of a double sum of BLOCK-row partial sums. Rows are processed in order on one
 * thread: the caller uses these kernels where torch runs one intra-op thread.
 *
 * Layouts (row-major): x, out, gy, grad_x (N, U); mean, var, scale (k, U); r (U); coef, grad_coef
 * (G, k) and bias, grad_bias (G) for G = U / gs groups of gs consecutive units sharing coefficients
 * (gs = 1: one row per unit); run_mean, run_var (U, k); ra, rb (k + 1), index n holding the
 * constants of recurrence(family, n). r may be NULL (no input map), var NULL (not wanted),
 * run_mean/run_var NULL (no running statistics to update) and count NULL (momentum is then the
 * batch's weight). The training
 * engine's calls thus do a layer's whole step, its bookkeeping included: at a batch of 200 the
 * torch operations around a call cost more than the call. Every function returns 0, or -1 when
 * out of memory.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A strip is one register of the widest vector unit the compiler targets, LANES(T) values of type T:
 * on AVX2 a 16-float strip (two registers) ran 7x slower than an 8-float one, as every vector
 * value then went through the stack. */
#if defined(__AVX512F__)
#define VBYTES 64
#elif defined(__AVX__)
#define VBYTES 32
#else
#define VBYTES 16
#endif
#define LANES(T) ((int64_t)(VBYTES / sizeof(T)))
#define BLOCK 32
#define SHIFT_ROWS 64
#define INLINE static inline __attribute__((always_inline))
/* Run a body once per strip of a row of U units: full strips with full_ = 1, then the last,
 * partial one (if any) with full_ = 0, so that row_/put_ take their branch at compile time. */
#define STRIPS(T, U, ...)                                                                             \
    do {                                                                                              \
        int64_t j0 = 0;                                                                               \
        { const int full_ = 1; for (; j0 + LANES(T) <= (U); j0 += LANES(T)) { __VA_ARGS__; } }        \
        { const int full_ = 0; if (j0 < (U)) { __VA_ARGS__; } }                                       \
    } while (0)

/* Families whose recurrence constants are the same for every n: power (ra = 1, rb = 0) and Chebyshev
 * (ra = 2, rb = 1) get kernels with those constants folded in (a third fewer vector operations). */
enum { K_GENERIC, K_POWER, K_CHEBYSHEV };
static int kind_of(int k, const double *ra, const double *rb) {
    int power = 1, chebyshev = 1;
    for (int n = 1; n <= k; n++) {
        power = power && ra[n] == 1.0 && rb[n] == 0.0;
        chebyshev = chebyshev && ra[n] == 2.0 && rb[n] == 1.0;
    }
    return power ? K_POWER : chebyshev ? K_CHEBYSHEV : K_GENERIC;
}

#define DISPATCH(body, ...)                                                                           \
    switch (kind_of(k, ra, rb)) {                                                                     \
    case K_POWER: return body(K_POWER, __VA_ARGS__);                                                  \
    case K_CHEBYSHEV: return body(K_CHEBYSHEV, __VA_ARGS__);                                          \
    default: return body(K_GENERIC, __VA_ARGS__);                                                     \
    }

#define DEFINE_KERNELS(T, SUF)                                                                        \
                                                                                                      \
typedef T V_##SUF __attribute__((vector_size(VBYTES)));                                               \
INLINE V_##SUF ld_##SUF(const T *p) { V_##SUF v; memcpy(&v, p, sizeof v); return v; }                 \
INLINE void st_##SUF(T *p, V_##SUF v) { memcpy(p, &v, sizeof v); }                                    \
                                                                                                      \
/* LANES values of a row from unit j0 on (a full strip), zero past the row's U units. */              \
INLINE V_##SUF row_##SUF(int full, const T *row, int64_t j0, int64_t U) {                             \
    if (full) return ld_##SUF(row + j0);                                                              \
    T t[LANES(T)] = {0};                                                                              \
    memcpy(t, row + j0, (size_t)(U - j0) * sizeof(T));                                                \
    return ld_##SUF(t);                                                                               \
}                                                                                                     \
/* Store v at row + j0, only its first U - j0 lanes for the partial strip. */                         \
INLINE void put_##SUF(int full, T *row, int64_t j0, int64_t U, V_##SUF v) {                           \
    if (full) { st_##SUF(row + j0, v); return; }                                                      \
    T t[LANES(T)];                                                                                    \
    st_##SUF(t, v);                                                                                   \
    memcpy(row + j0, t, (size_t)(U - j0) * sizeof(T));                                                \
}                                                                                                     \
                                                                                                      \
/* torch's lerp: a + w (b - a), and b - (b - a) (1 - w) for w >= 1/2 (exact at w = 1). */             \
INLINE T lerp_##SUF(T a, T b, T w) { return w < (T)0.5 ? a + w * (b - a) : b - (b - a) * ((T)1 - w); } \
/* Add the block sums s (n entries) into the double sums d and clear them. */                         \
static void flush_##SUF(int64_t n, T *restrict s, double *restrict d) {                               \
    for (int64_t q = 0; q < n; q++) { d[q] += (double)s[q]; s[q] = 0; }                               \
}                                                                                                     \
                                                                                                      \
/* ra[i] v, and t - rb[i] v, with the constants of the power and Chebyshev families folded in. */     \
INLINE V_##SUF mul_a_##SUF(const int kind, int i, const double *ra, V_##SUF v) {                      \
    return kind == K_POWER ? v : kind == K_CHEBYSHEV ? v + v : (T)ra[i] * v;                          \
}                                                                                                     \
INLINE V_##SUF sub_b_##SUF(const int kind, int i, const double *rb, V_##SUF t, V_##SUF v) {           \
    return kind == K_POWER ? t : kind == K_CHEBYSHEV ? t - v : t - (T)rb[i] * v;                      \
}                                                                                                     \
/* The next element: g_(i+1) = ra[i] u g_i - rb[i] g_(i-1), with (gp, gc) = (g_(i-1), g_i). */        \
INLINE void next_##SUF(int i, const int kind, const double *ra, const double *rb, V_##SUF u,          \
                       V_##SUF *gp, V_##SUF *gc) {                                                    \
    const V_##SUF t = sub_b_##SUF(kind, i, rb, mul_a_##SUF(kind, i, ra, u) * *gc, *gp);               \
    *gp = *gc; *gc = t;                                                                               \
}                                                                                                     \
                                                                                                      \
/* The elements g_1..g_k of a strip, at stride P (the shift of the one-pass moments). */              \
INLINE void elements_##SUF(int k, int64_t P, V_##SUF u, const int kind, const double *ra, const double *rb, T *g) { \
    const V_##SUF zero = {0};                                                                         \
    V_##SUF gp = zero + 1, gc = u;                                                                    \
    for (int i = 0; i < k; i++) {                                                                     \
        if (i > 0) next_##SUF(i, kind, ra, rb, u, &gp, &gc);                                          \
        st_##SUF(g + (int64_t)i * P, gc);                                                             \
    }                                                                                                 \
}                                                                                                     \
/* Shifted sums: s1[i] += g_i - c_i, s2[i] += (g_i - c_i)^2. */                                       \
INLINE void moments_##SUF(int k, int64_t P, V_##SUF u, const int kind, const double *ra, const double *rb, \
                          const T *c, T *s1, T *s2) {                                                 \
    const V_##SUF zero = {0};                                                                         \
    V_##SUF gp = zero + 1, gc = u;                                                                    \
    for (int i = 0; i < k; i++) {                                                                     \
        const int64_t o = (int64_t)i * P;                                                             \
        if (i > 0) next_##SUF(i, kind, ra, rb, u, &gp, &gc);                                          \
        const V_##SUF d = gc - ld_##SUF(c + o);                                                       \
        st_##SUF(s1 + o, ld_##SUF(s1 + o) + d);                                                       \
        st_##SUF(s2 + o, ld_##SUF(s2 + o) + d * d);                                                   \
    }                                                                                                 \
}                                                                                                     \
/* Clenshaw: B_n = A_n + ra[n] u B_(n+1) - rb[n+1] B_(n+2); out = shift + u B_1 - rb[1] B_2. */       \
INLINE V_##SUF clenshaw_##SUF(int k, int64_t P, V_##SUF u, const int kind, const double *ra, const double *rb, \
                              const T *A, const T *shift) {                                           \
    const V_##SUF zero = {0};                                                                         \
    V_##SUF b1 = ld_##SUF(A + (int64_t)(k - 1) * P), b2 = zero;                                       \
    for (int i = k - 1; i >= 1; i--) {                                                                \
        const V_##SUF t = sub_b_##SUF(kind, i + 1, rb,                                                \
                                      ld_##SUF(A + (int64_t)(i - 1) * P) + mul_a_##SUF(kind, i, ra, u) * b1, b2); \
        b2 = b1; b1 = t;                                                                              \
    }                                                                                                 \
    return sub_b_##SUF(kind, 1, rb, ld_##SUF(shift) + u * b1, b2);                                    \
}                                                                                                     \
/* Backward sums: sy += y, sg[i] += y g_i. */                                                         \
INLINE void sums_##SUF(int k, int64_t P, V_##SUF u, V_##SUF y, const int kind, const double *ra, const double *rb, \
                       T *sy, T *sg) {                                                                \
    const V_##SUF zero = {0};                                                                         \
    V_##SUF gp = zero + 1, gc = u;                                                                    \
    st_##SUF(sy, ld_##SUF(sy) + y);                                                                   \
    for (int i = 0; i < k; i++) {                                                                     \
        const int64_t o = (int64_t)i * P;                                                             \
        if (i > 0) next_##SUF(i, kind, ra, rb, u, &gp, &gc);                                          \
        st_##SUF(sg + o, ld_##SUF(sg + o) + y * gc);                                                  \
    }                                                                                                 \
}                                                                                                     \
/* Input gradient: sum_i g'_i (a_i (y - ybar) - w_i (g_i - mu_i)), with                               \
   g'_(n+1) = ra[n] (g_n + u g'_n) - rb[n] g'_(n-1). */                                               \
INLINE V_##SUF grad_##SUF(int k, int64_t P, V_##SUF u, V_##SUF yc, const int kind, const double *ra, const double *rb, \
                          const T *mean, const T *ar, const T *wt) {                                  \
    const V_##SUF zero = {0};                                                                         \
    V_##SUF gp = zero + 1, gc = u, dp = zero, dc = zero + 1, acc = zero;                              \
    for (int i = 0; i < k; i++) {                                                                     \
        const int64_t o = (int64_t)i * P;                                                             \
        if (i > 0) {                                                                                  \
            const V_##SUF d = sub_b_##SUF(kind, i, rb, mul_a_##SUF(kind, i, ra, gc + u * dc), dp);    \
            dp = dc; dc = d;                                                                          \
            next_##SUF(i, kind, ra, rb, u, &gp, &gc);                                                 \
        }                                                                                             \
        acc += dc * (ld_##SUF(ar + o) * yc - ld_##SUF(wt + o) * (gc - ld_##SUF(mean + o)));           \
    }                                                                                                 \
    return acc;                                                                                       \
}                                                                                                     \
                                                                                                      \
/* 1 / r at stride P (ones past U, and everywhere without an input map): u = x * inv_r. */            \
static void inverse_range_##SUF(int64_t U, int64_t P, const T *r, T *inv_r) {                         \
    for (int64_t j = 0; j < P; j++) inv_r[j] = (r == NULL || j >= U) ? (T)1 : (T)1 / r[j];            \
}                                                                                                     \
/* A (k, U) array into the stride-P layout, and back. */                                              \
static void to_padded_##SUF(int k, int64_t U, int64_t P, const T *src, T *dst) {                      \
    for (int i = 0; i < k; i++) memcpy(dst + (int64_t)i * P, src + (int64_t)i * U, (size_t)U * sizeof(T)); \
}                                                                                                     \
                                                                                                      \
INLINE int forward_##SUF(const int kind, int64_t N, int64_t U, int k, const T *x, const T *r,         \
                         const T *coef, const T *bias, double eps, const double *ra, const double *rb, \
                         T *out, T *mean, T *var, T *scale, int64_t gs, T *run_mean, T *run_var,      \
                         int64_t *count, double momentum) {                                           \
    const int64_t P = (U + LANES(T) - 1) / LANES(T) * LANES(T), KP = (int64_t)k * P;                  \
    T *buf = (T *)calloc((size_t)(5 * KP + 2 * P), sizeof(T));                                        \
    double *acc = (double *)calloc((size_t)(2 * KP), sizeof(double));                                 \
    if (buf == NULL || acc == NULL) { free(buf); free(acc); return -1; }                              \
    T *c = buf, *s1 = buf + KP, *s2 = buf + 2 * KP, *A = buf + 3 * KP, *mp = buf + 4 * KP;            \
    T *shift = buf + 5 * KP, *inv_r = shift + P;                                                      \
    double *d1 = acc, *d2 = acc + KP;                                                                 \
    inverse_range_##SUF(U, P, r, inv_r);                                                              \
    /* the shift: the elements' mean over the first rows (the moments are exact for any shift; one    \
       near the mean keeps E[d^2] - E[d]^2 from cancelling for heavy-tailed high powers) */           \
    const int64_t S = N < SHIFT_ROWS ? N : SHIFT_ROWS;                                                \
    for (int64_t n = 0; n < S; n++) {                                                                 \
        STRIPS(T, U, elements_##SUF(k, P, row_##SUF(full_, x + n * U, j0, U) * ld_##SUF(inv_r + j0), kind, ra, rb, A + j0)); \
        for (int64_t q = 0; q < KP; q++) d1[q] += (double)A[q];                                       \
    }                                                                                                 \
    for (int64_t q = 0; q < KP; q++) { c[q] = (T)(d1[q] / (double)S); d1[q] = 0.0; }                  \
    for (int64_t n = 0; n < N; n++) {                                                                 \
        STRIPS(T, U, moments_##SUF(k, P, row_##SUF(full_, x + n * U, j0, U) * ld_##SUF(inv_r + j0), kind, ra, rb, c + j0, \
                                s1 + j0, s2 + j0));                                                   \
        if ((n + 1) % BLOCK == 0 || n + 1 == N) { flush_##SUF(KP, s1, d1); flush_##SUF(KP, s2, d2); } \
    }                                                                                                 \
    /* with the batch counter: count the batch, weight 1 / count (momentum < 0) or momentum;          \
       without: momentum is the batch's weight */                                                     \
    if (run_mean != NULL && count != NULL) *count += 1;                                               \
    const T w = (T)(count != NULL && momentum < 0 ? 1.0 / (double)*count : momentum);                 \
    /* statistics (var may be NULL), the layer's running ones ((U, k) rows, as its _blend does),      \
       A_i = coef_i scale_i and the constant term (padded lanes: zero coefficients) */                \
    for (int64_t j = 0; j < U; j++) shift[j] = bias[j / gs];                                          \
    for (int i = 0; i < k; i++) {                                                                     \
        for (int64_t j = 0; j < U; j++) {                                                             \
            const int64_t q = (int64_t)i * P + j, e = (int64_t)i * U + j;                             \
            const double m1 = d1[q] / (double)N, v = d2[q] / (double)N - m1 * m1;                     \
            const T ve = (T)(v > 0 ? v : 0);                                                          \
            mp[q] = mean[e] = (T)((double)c[q] + m1);                                                 \
            if (var != NULL) var[e] = ve;                                                             \
            if (run_mean != NULL) {                                                                   \
                run_mean[j * k + i] = lerp_##SUF(run_mean[j * k + i], mp[q], w);                      \
                run_var[j * k + i] = lerp_##SUF(run_var[j * k + i], ve, w);                           \
            }                                                                                         \
            scale[e] = (T)(1.0 / sqrt((double)ve + eps));                                             \
            A[q] = coef[j / gs * k + i] * scale[e];                                                   \
            shift[j] -= A[q] * mp[q];                                                                 \
        }                                                                                             \
        for (int64_t j = U; j < P; j++) A[(int64_t)i * P + j] = 0;                                    \
    }                                                                                                 \
    for (int64_t n = 0; n < N; n++)                                                                   \
        STRIPS(T, U, put_##SUF(full_, out + n * U, j0, U,                                             \
                            clenshaw_##SUF(k, P, row_##SUF(full_, x + n * U, j0, U) * ld_##SUF(inv_r + j0), \
                                           kind, ra, rb, A + j0, shift + j0)));                       \
    free(buf); free(acc);                                                                             \
    return 0;                                                                                         \
}                                                                                                     \
                                                                                                      \
INLINE int backward_##SUF(const int kind, int64_t N, int64_t U, int k, const T *gy, const T *x,       \
                          const T *r, const T *coef, const T *mean, const T *scale, const double *ra, \
                          const double *rb, int need_x, T *grad_x, int64_t gs, int accumulate,        \
                          T *grad_coef, T *grad_bias) {                                               \
    const int64_t P = (U + LANES(T) - 1) / LANES(T) * LANES(T), KP = (int64_t)k * P, G = U / gs;      \
    T *buf = (T *)calloc((size_t)(4 * KP + 3 * P), sizeof(T));                                        \
    double *acc = (double *)calloc((size_t)(KP + P + G * (k + 1)), sizeof(double));                   \
    if (buf == NULL || acc == NULL) { free(buf); free(acc); return -1; }                              \
    T *sg = buf, *ar = buf + KP, *wt = buf + 2 * KP, *mp = buf + 3 * KP, *sy = buf + 4 * KP;          \
    T *ybar = sy + P, *inv_r = ybar + P;                                                              \
    double *dg = acc, *dy = acc + KP, *gc = dy + P, *gb = gc + G * k;                                 \
    inverse_range_##SUF(U, P, r, inv_r);                                                              \
    to_padded_##SUF(k, U, P, mean, mp);                                                               \
    for (int64_t n = 0; n < N; n++) {                                                                 \
        STRIPS(T, U, sums_##SUF(k, P, row_##SUF(full_, x + n * U, j0, U) * ld_##SUF(inv_r + j0),      \
                             row_##SUF(full_, gy + n * U, j0, U), kind, ra, rb, sy + j0, sg + j0));   \
        if ((n + 1) % BLOCK == 0 || n + 1 == N) { flush_##SUF(KP, sg, dg); flush_##SUF(P, sy, dy); }  \
    }                                                                                                 \
    /* p_i = sum_n y (g_i - mu_i) = sum_n y g_i - mu_i sum_n y, in double */                          \
    for (int i = 0; i < k; i++) {                                                                     \
        for (int64_t j = 0; j < U; j++) {                                                             \
            const int64_t q = (int64_t)i * P + j;                                                     \
            dg[q] -= (double)mp[q] * dy[j];                                                           \
            gc[j / gs * k + i] += dg[q] * (double)scale[(int64_t)i * U + j];                          \
        }                                                                                             \
    }                                                                                                 \
    for (int64_t j = 0; j < U; j++) gb[j / gs] += dy[j];                                              \
    /* per group (the adjoint of the layer's per_unit), written or added into the gradients */        \
    for (int64_t q = 0; q < G * k; q++) grad_coef[q] = (T)(accumulate ? grad_coef[q] + gc[q] : gc[q]); \
    for (int64_t q = 0; q < G; q++) grad_bias[q] = (T)(accumulate ? grad_bias[q] + gb[q] : gb[q]);    \
    if (need_x) {                                                                                     \
        for (int64_t j = 0; j < U; j++) ybar[j] = (T)(dy[j] / (double)N);                             \
        for (int i = 0; i < k; i++) {                                                                 \
            for (int64_t j = 0; j < U; j++) {                                                         \
                const int64_t q = (int64_t)i * P + j;                                                 \
                const T s = scale[(int64_t)i * U + j];                                                \
                ar[q] = coef[j / gs * k + i] * s * inv_r[j];                                          \
                wt[q] = ar[q] * (s * s) * (T)dg[q] * (T)(1.0 / (double)N);                            \
            }                                                                                         \
        }                                                                                             \
        for (int64_t n = 0; n < N; n++)                                                               \
            STRIPS(T, U, put_##SUF(full_, grad_x + n * U, j0, U,                                      \
                                grad_##SUF(k, P, row_##SUF(full_, x + n * U, j0, U) * ld_##SUF(inv_r + j0), \
                                           row_##SUF(full_, gy + n * U, j0, U) - ld_##SUF(ybar + j0), \
                                           kind, ra, rb, mp + j0, ar + j0, wt + j0)));                \
    }                                                                                                 \
    free(buf); free(acc);                                                                             \
    return 0;                                                                                         \
}                                                                                                     \
                                                                                                      \
/* One copy of each pass per family kind, its constants folded at compile time. */                    \
int slaf_forward_##SUF(int64_t N, int64_t U, int k, const T *x, const T *r, const T *coef,            \
                       const T *bias, double eps, const double *ra, const double *rb,                 \
                       T *out, T *mean, T *var, T *scale, int64_t gs, T *run_mean, T *run_var,        \
                       int64_t *count, double momentum) {                                             \
    DISPATCH(forward_##SUF, N, U, k, x, r, coef, bias, eps, ra, rb, out, mean, var, scale, gs,        \
             run_mean, run_var, count, momentum);                                                     \
}                                                                                                     \
int slaf_backward_##SUF(int64_t N, int64_t U, int k, const T *gy, const T *x, const T *r,             \
                        const T *coef, const T *mean, const T *scale, const double *ra,               \
                        const double *rb, int need_x, T *grad_x, int64_t gs, int accumulate,          \
                        T *grad_coef, T *grad_bias) {                                                 \
    DISPATCH(backward_##SUF, N, U, k, gy, x, r, coef, mean, scale, ra, rb, need_x, grad_x, gs,        \
             accumulate, grad_coef, grad_bias);                                                       \
}

DEFINE_KERNELS(float, f32)
DEFINE_KERNELS(double, f64)
