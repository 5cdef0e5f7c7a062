/* Fused training-mode SLAF kernels for the CPU: one call per layer for the forward pass and one for
 * the backward pass, whatever the degree k.
 *
 * The maths is that of _streaming.py (see its docstring): the elements g_1..g_k come from the
 * family's three-term recurrence g_(n+1) = ra[n] u g_n - rb[n] g_(n-1) (g_0 = 1, g_1 = u = x / r),
 * each is normalised with its biased batch mean and variance, and the output is
 * sum_i a_i g_i + (bias - sum_i a_i mu_i) with a_i = coef_i / sqrt(var_i + eps).
 *
 * Each pass walks the rows once, and within a row a strip of LANES contiguous units at a time:
 * the strip's elements, derivatives and Clenshaw terms are GCC/Clang vector values (LANES wide;
 * the compiler maps them onto the widest registers the CPU has), so the recurrence costs a few
 * vector operations per degree and nothing of it goes through memory but the per-(degree, unit)
 * sums. The last strip of a row, when U is not a multiple of LANES, runs the same steps on
 * scalar loops. (Loops over a strip's lanes in plain arrays were not vectorised by GCC 12 and ran
 * three times slower than the previous element-buffer kernels; the vector types run 3-5 times
 * faster than those.)
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
 * Layouts (row-major): x, out, gy, grad_x (N, U); coef, grad_coef (U, k); mean, var, scale (k, U);
 * r, bias, grad_bias (U); ra, rb (k + 1), index n holding the constants of recurrence(family, n).
 * r may be NULL (no input map). Every function returns 0, or -1 when out of memory.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LANES 16
#define BLOCK 32
#define SHIFT_ROWS 64
#define INLINE static inline __attribute__((always_inline))

#define DEFINE_KERNELS(T, SUF)                                                                        \
                                                                                                      \
/* Add the block sums s (n entries) into the double sums d and clear them. */                        \
static void flush_##SUF(int64_t n, T *restrict s, double *restrict d) {                              \
    for (int64_t q = 0; q < n; q++) { d[q] += (double)s[q]; s[q] = 0; }                               \
}                                                                                                     \
                                                                                                      \
/* The strip's inputs u = x / r, for w <= LANES units from unit j0 of a row. */                      \
INLINE void strip_u_##SUF(int w, const T *restrict x, const T *restrict inv_r, T *restrict u) {      \
    if (inv_r == NULL) { for (int l = 0; l < w; l++) u[l] = x[l]; }                                   \
    else { for (int l = 0; l < w; l++) u[l] = x[l] * inv_r[l]; }                                      \
}                                                                                                     \
                                                                                                      \
/* Shifted sums of one strip: s1[i] += g_i - c_i, s2[i] += (g_i - c_i)^2, i = 1..k (stride U). */    \
INLINE void strip_moments_##SUF(int w, int k, int64_t U, const T *restrict u, const double *ra,      \
                                const double *rb, const T *restrict c, T *restrict s1,               \
                                T *restrict s2) {                                                     \
    T gp[LANES], gc[LANES];                                                                           \
    for (int l = 0; l < w; l++) { gp[l] = 1; gc[l] = u[l]; }                                          \
    for (int i = 0; i < k; i++) {                                                                     \
        const int64_t o = (int64_t)i * U;                                                             \
        if (i > 0) {                                                                                  \
            const T a = (T)ra[i], b = (T)rb[i];                                                       \
            for (int l = 0; l < w; l++) { const T t = a * u[l] * gc[l] - b * gp[l]; gp[l] = gc[l]; gc[l] = t; } \
        }                                                                                             \
        for (int l = 0; l < w; l++) {                                                                 \
            const T d = gc[l] - c[o + l];                                                             \
            s1[o + l] += d;                                                                           \
            s2[o + l] += d * d;                                                                       \
        }                                                                                             \
    }                                                                                                 \
}                                                                                                     \
                                                                                                      \
/* The elements of one strip, written at stride U (the shift of the one-pass moments). */            \
INLINE void strip_elements_##SUF(int w, int k, int64_t U, const T *restrict u, const double *ra,     \
                                 const double *rb, T *restrict g) {                                   \
    T gp[LANES], gc[LANES];                                                                           \
    for (int l = 0; l < w; l++) { gp[l] = 1; gc[l] = u[l]; }                                          \
    for (int i = 0; i < k; i++) {                                                                     \
        if (i > 0) {                                                                                  \
            const T a = (T)ra[i], b = (T)rb[i];                                                       \
            for (int l = 0; l < w; l++) { const T t = a * u[l] * gc[l] - b * gp[l]; gp[l] = gc[l]; gc[l] = t; } \
        }                                                                                             \
        for (int l = 0; l < w; l++) g[(int64_t)i * U + l] = gc[l];                                    \
    }                                                                                                 \
}                                                                                                     \
                                                                                                      \
/* Clenshaw for one strip: B_n = A_n + ra[n] u B_(n+1) - rb[n+1] B_(n+2), out = shift + u B_1 - rb[1] B_2 */ \
INLINE void strip_clenshaw_##SUF(int w, int k, int64_t U, const T *restrict u, const double *ra,     \
                                 const double *rb, const T *restrict A, const T *restrict shift,     \
                                 T *restrict o) {                                                     \
    T b1[LANES], b2[LANES];                                                                           \
    const T *Ak = A + (int64_t)(k - 1) * U;                                                           \
    for (int l = 0; l < w; l++) { b1[l] = Ak[l]; b2[l] = 0; }                                         \
    for (int i = k - 1; i >= 1; i--) {                                                                \
        const T an = (T)ra[i], bn = (T)rb[i + 1];                                                     \
        const T *Ai = A + (int64_t)(i - 1) * U;                                                       \
        for (int l = 0; l < w; l++) { const T t = Ai[l] + an * u[l] * b1[l] - bn * b2[l]; b2[l] = b1[l]; b1[l] = t; } \
    }                                                                                                 \
    const T b = (T)rb[1];                                                                             \
    for (int l = 0; l < w; l++) o[l] = shift[l] + u[l] * b1[l] - b * b2[l];                           \
}                                                                                                     \
                                                                                                      \
/* Backward sums of one strip: sy += y, sg[i] += y g_i. */                                           \
INLINE void strip_sums_##SUF(int w, int k, int64_t U, const T *restrict u, const T *restrict y,      \
                             const double *ra, const double *rb, T *restrict sy, T *restrict sg) {   \
    T gp[LANES], gc[LANES];                                                                           \
    for (int l = 0; l < w; l++) { gp[l] = 1; gc[l] = u[l]; sy[l] += y[l]; }                           \
    for (int i = 0; i < k; i++) {                                                                     \
        const int64_t o = (int64_t)i * U;                                                             \
        if (i > 0) {                                                                                  \
            const T a = (T)ra[i], b = (T)rb[i];                                                       \
            for (int l = 0; l < w; l++) { const T t = a * u[l] * gc[l] - b * gp[l]; gp[l] = gc[l]; gc[l] = t; } \
        }                                                                                             \
        for (int l = 0; l < w; l++) sg[o + l] += y[l] * gc[l];                                        \
    }                                                                                                 \
}                                                                                                     \
                                                                                                      \
/* Input gradient of one strip: gx = sum_i g'_i (a_i (y - ybar) - w_i (g_i - mu_i)). */              \
INLINE void strip_grad_##SUF(int w, int k, int64_t U, const T *restrict u, const T *restrict y,      \
                             const double *ra, const double *rb, const T *restrict ybar,             \
                             const T *restrict mean, const T *restrict ar, const T *restrict wt,     \
                             T *restrict gx) {                                                        \
    T gp[LANES], gc[LANES], dp[LANES], dc[LANES], yc[LANES], acc[LANES];                              \
    for (int l = 0; l < w; l++) { gp[l] = 1; gc[l] = u[l]; dp[l] = 0; dc[l] = 1; yc[l] = y[l] - ybar[l]; acc[l] = 0; } \
    for (int i = 0; i < k; i++) {                                                                     \
        const int64_t o = (int64_t)i * U;                                                             \
        if (i > 0) {                                                                                  \
            const T a = (T)ra[i], b = (T)rb[i];                                                       \
            for (int l = 0; l < w; l++) {                                                             \
                const T d = a * (gc[l] + u[l] * dc[l]) - b * dp[l];                                   \
                const T g = a * u[l] * gc[l] - b * gp[l];                                             \
                dp[l] = dc[l]; dc[l] = d; gp[l] = gc[l]; gc[l] = g;                                   \
            }                                                                                         \
        }                                                                                             \
        for (int l = 0; l < w; l++) acc[l] += dc[l] * (ar[o + l] * yc[l] - wt[o + l] * (gc[l] - mean[o + l])); \
    }                                                                                                 \
    for (int l = 0; l < w; l++) gx[l] = acc[l];                                                       \
}                                                                                                     \
                                                                                                      \
/* Full strips in GCC/Clang vector types: LANES values in one or more vector registers (the      \
 * compiler picks the widest the CPU has); scalars broadcast.                                    */ \
typedef T V_##SUF __attribute__((vector_size(LANES * sizeof(T))));                                   \
INLINE V_##SUF ld_##SUF(const T *p) { V_##SUF v; memcpy(&v, p, sizeof v); return v; }               \
INLINE void st_##SUF(T *p, V_##SUF v) { memcpy(p, &v, sizeof v); }                                   \
INLINE V_##SUF vu_##SUF(const T *x, const T *inv_r) {                                                \
    return inv_r == NULL ? ld_##SUF(x) : ld_##SUF(x) * ld_##SUF(inv_r);                               \
}                                                                                                     \
INLINE void vmoments_##SUF(int k, int64_t U, V_##SUF u, const double *ra, const double *rb,          \
                           const T *c, T *s1, T *s2) {                                                \
    const V_##SUF zero = {0};                                                                   \
    V_##SUF gp = zero + 1, gc = u;                                                                   \
    for (int i = 0; i < k; i++) {                                                                     \
        const int64_t o = (int64_t)i * U;                                                             \
        if (i > 0) { const V_##SUF t = (T)ra[i] * u * gc - (T)rb[i] * gp; gp = gc; gc = t; }         \
        const V_##SUF d = gc - ld_##SUF(c + o);                                                       \
        st_##SUF(s1 + o, ld_##SUF(s1 + o) + d);                                                       \
        st_##SUF(s2 + o, ld_##SUF(s2 + o) + d * d);                                                   \
    }                                                                                                 \
}                                                                                                     \
INLINE void vclenshaw_##SUF(int k, int64_t U, V_##SUF u, const double *ra, const double *rb,         \
                            const T *A, const T *shift, T *o) {                                       \
    const V_##SUF zero = {0};                                                                   \
    V_##SUF b1 = ld_##SUF(A + (int64_t)(k - 1) * U), b2 = zero;                                     \
    for (int i = k - 1; i >= 1; i--) {                                                                \
        const V_##SUF t = ld_##SUF(A + (int64_t)(i - 1) * U) + (T)ra[i] * u * b1 - (T)rb[i + 1] * b2; \
        b2 = b1; b1 = t;                                                                              \
    }                                                                                                 \
    st_##SUF(o, ld_##SUF(shift) + u * b1 - (T)rb[1] * b2);                                            \
}                                                                                                     \
INLINE void vsums_##SUF(int k, int64_t U, V_##SUF u, V_##SUF y, const double *ra, const double *rb,  \
                        T *sy, T *sg) {                                                               \
    const V_##SUF zero = {0};                                                                   \
    V_##SUF gp = zero + 1, gc = u;                                                                   \
    st_##SUF(sy, ld_##SUF(sy) + y);                                                                   \
    for (int i = 0; i < k; i++) {                                                                     \
        const int64_t o = (int64_t)i * U;                                                             \
        if (i > 0) { const V_##SUF t = (T)ra[i] * u * gc - (T)rb[i] * gp; gp = gc; gc = t; }         \
        st_##SUF(sg + o, ld_##SUF(sg + o) + y * gc);                                                  \
    }                                                                                                 \
}                                                                                                     \
INLINE void vgrad_##SUF(int k, int64_t U, V_##SUF u, V_##SUF yc, const double *ra, const double *rb, \
                        const T *mean, const T *ar, const T *wt, T *gx) {                             \
    const V_##SUF zero = {0};                                                                   \
    V_##SUF gp = zero + 1, gc = u, dp = zero, dc = zero + 1, acc = zero;                                \
    for (int i = 0; i < k; i++) {                                                                     \
        const int64_t o = (int64_t)i * U;                                                             \
        if (i > 0) {                                                                                  \
            const T a = (T)ra[i], b = (T)rb[i];                                                       \
            const V_##SUF d = a * (gc + u * dc) - b * dp, g = a * u * gc - b * gp;                    \
            dp = dc; dc = d; gp = gc; gc = g;                                                         \
        }                                                                                             \
        acc += dc * (ld_##SUF(ar + o) * yc - ld_##SUF(wt + o) * (gc - ld_##SUF(mean + o)));           \
    }                                                                                                 \
    st_##SUF(gx, acc);                                                                                \
}                                                                                                     \
                                                                                                      \
int slaf_forward_##SUF(int64_t N, int64_t U, int k, const T *x, const T *r, const T *coef,           \
                       const T *bias, double eps, const double *ra, const double *rb,                \
                       T *out, T *mean, T *var, T *scale) {                                           \
    const int64_t KU = (int64_t)k * U;                                                                \
    T *buf = (T *)calloc((size_t)(4 * KU + 2 * U + LANES), sizeof(T));                                \
    double *acc = (double *)calloc((size_t)(2 * KU), sizeof(double));                                 \
    if (buf == NULL || acc == NULL) { free(buf); free(acc); return -1; }                              \
    T *c = buf, *s1 = buf + KU, *s2 = buf + 2 * KU, *A = buf + 3 * KU, *shift = buf + 4 * KU;        \
    T *inv_r = r == NULL ? NULL : shift + U, *u = shift + 2 * U;                                      \
    double *d1 = acc, *d2 = acc + KU;                                                                 \
    if (inv_r != NULL) for (int64_t j = 0; j < U; j++) inv_r[j] = (T)1 / r[j];                        \
    /* the shift: the elements' mean over the first rows (the moments are exact for any shift; one  \
       near the mean keeps E[d^2] - E[d]^2 from cancelling for heavy-tailed high powers) */          \
    const int64_t S = N < SHIFT_ROWS ? N : SHIFT_ROWS;                                                \
    for (int64_t n = 0; n < S; n++) {                                                                 \
        for (int64_t j0 = 0; j0 < U; j0 += LANES) {                                                   \
            const int w = U - j0 < LANES ? (int)(U - j0) : LANES;                                     \
            strip_u_##SUF(w, x + n * U + j0, inv_r == NULL ? NULL : inv_r + j0, u);                   \
            strip_elements_##SUF(w, k, U, u, ra, rb, A + j0);                                         \
        }                                                                                             \
        for (int64_t q = 0; q < KU; q++) d1[q] += (double)A[q];                                       \
    }                                                                                                 \
    for (int64_t q = 0; q < KU; q++) { c[q] = (T)(d1[q] / (double)S); d1[q] = 0.0; }                  \
    for (int64_t n = 0; n < N; n++) {                                                                 \
        const T *xn = x + n * U;                                                                      \
        int64_t j0 = 0;                                                                               \
        for (; j0 + LANES <= U; j0 += LANES) {                                                        \
            vmoments_##SUF(k, U, vu_##SUF(xn + j0, inv_r == NULL ? NULL : inv_r + j0), ra, rb, c + j0, s1 + j0, s2 + j0); \
        }                                                                                             \
        if (j0 < U) {                                                                                 \
            strip_u_##SUF((int)(U - j0), xn + j0, inv_r == NULL ? NULL : inv_r + j0, u);              \
            strip_moments_##SUF((int)(U - j0), k, U, u, ra, rb, c + j0, s1 + j0, s2 + j0);            \
        }                                                                                             \
        if ((n + 1) % BLOCK == 0 || n + 1 == N) { flush_##SUF(KU, s1, d1); flush_##SUF(KU, s2, d2); } \
    }                                                                                                 \
    for (int64_t q = 0; q < KU; q++) {                                                                \
        const double m1 = d1[q] / (double)N, v = d2[q] / (double)N - m1 * m1;                         \
        mean[q] = (T)((double)c[q] + m1);                                                             \
        var[q] = (T)(v > 0 ? v : 0);                                                                  \
        scale[q] = (T)(1.0 / sqrt((double)var[q] + eps));                                             \
    }                                                                                                 \
    /* A_i = coef_i scale_i and the constant term */                                                 \
    for (int64_t j = 0; j < U; j++) shift[j] = bias[j];                                               \
    for (int i = 0; i < k; i++) {                                                                     \
        for (int64_t j = 0; j < U; j++) {                                                             \
            const int64_t q = (int64_t)i * U + j;                                                     \
            A[q] = coef[j * k + i] * scale[q];                                                        \
            shift[j] -= A[q] * mean[q];                                                               \
        }                                                                                             \
    }                                                                                                 \
    for (int64_t n = 0; n < N; n++) {                                                                 \
        const T *xn = x + n * U;                                                                      \
        T *o = out + n * U;                                                                           \
        int64_t j0 = 0;                                                                               \
        for (; j0 + LANES <= U; j0 += LANES) {                                                        \
            vclenshaw_##SUF(k, U, vu_##SUF(xn + j0, inv_r == NULL ? NULL : inv_r + j0), ra, rb, A + j0, shift + j0, o + j0); \
        }                                                                                             \
        if (j0 < U) {                                                                                 \
            strip_u_##SUF((int)(U - j0), xn + j0, inv_r == NULL ? NULL : inv_r + j0, u);              \
            strip_clenshaw_##SUF((int)(U - j0), k, U, u, ra, rb, A + j0, shift + j0, o + j0);         \
        }                                                                                             \
    }                                                                                                 \
    free(buf); free(acc);                                                                             \
    return 0;                                                                                         \
}                                                                                                     \
                                                                                                      \
int slaf_backward_##SUF(int64_t N, int64_t U, int k, const T *gy, const T *x, const T *r,            \
                        const T *coef, const T *mean, const T *scale, const double *ra,              \
                        const double *rb, int need_x, T *grad_x, T *grad_coef, T *grad_bias) {       \
    const int64_t KU = (int64_t)k * U;                                                                \
    T *buf = (T *)calloc((size_t)(3 * KU + 4 * U + LANES), sizeof(T));                                \
    double *acc = (double *)calloc((size_t)(KU + U), sizeof(double));                                 \
    if (buf == NULL || acc == NULL) { free(buf); free(acc); return -1; }                              \
    T *sg = buf, *ar = buf + KU, *wt = buf + 2 * KU, *sy = buf + 3 * KU, *ybar = sy + U;              \
    T *inv_r = r == NULL ? NULL : ybar + U, *u = ybar + 2 * U;                                        \
    double *dg = acc, *dy = acc + KU;                                                                 \
    if (inv_r != NULL) for (int64_t j = 0; j < U; j++) inv_r[j] = (T)1 / r[j];                        \
    for (int64_t n = 0; n < N; n++) {                                                                 \
        const T *xn = x + n * U, *yn = gy + n * U;                                                    \
        int64_t j0 = 0;                                                                               \
        for (; j0 + LANES <= U; j0 += LANES) {                                                        \
            vsums_##SUF(k, U, vu_##SUF(xn + j0, inv_r == NULL ? NULL : inv_r + j0), ld_##SUF(yn + j0), ra, rb, sy + j0, sg + j0); \
        }                                                                                             \
        if (j0 < U) {                                                                                 \
            strip_u_##SUF((int)(U - j0), xn + j0, inv_r == NULL ? NULL : inv_r + j0, u);              \
            strip_sums_##SUF((int)(U - j0), k, U, u, yn + j0, ra, rb, sy + j0, sg + j0);              \
        }                                                                                             \
        if ((n + 1) % BLOCK == 0 || n + 1 == N) { flush_##SUF(KU, sg, dg); flush_##SUF(U, sy, dy); }  \
    }                                                                                                 \
    /* p_i = sum_n y (g_i - mu_i) = sum_n y g_i - mu_i sum_n y, in double */                          \
    for (int i = 0; i < k; i++) {                                                                     \
        for (int64_t j = 0; j < U; j++) {                                                             \
            const int64_t q = (int64_t)i * U + j;                                                     \
            dg[q] -= (double)mean[q] * dy[j];                                                         \
            grad_coef[j * k + i] = (T)(dg[q] * (double)scale[q]);                                     \
        }                                                                                             \
    }                                                                                                 \
    for (int64_t j = 0; j < U; j++) grad_bias[j] = (T)dy[j];                                          \
    if (need_x) {                                                                                     \
        for (int64_t j = 0; j < U; j++) ybar[j] = (T)(dy[j] / (double)N);                             \
        for (int i = 0; i < k; i++) {                                                                 \
            for (int64_t j = 0; j < U; j++) {                                                         \
                const int64_t q = (int64_t)i * U + j;                                                 \
                const T s = scale[q];                                                                 \
                ar[q] = inv_r == NULL ? coef[j * k + i] * s : coef[j * k + i] * s * inv_r[j];        \
                wt[q] = ar[q] * (s * s) * (T)dg[q] * (T)(1.0 / (double)N);                            \
            }                                                                                         \
        }                                                                                             \
        for (int64_t n = 0; n < N; n++) {                                                             \
            const T *xn = x + n * U, *yn = gy + n * U;                                                \
            T *gx = grad_x + n * U;                                                                   \
            int64_t j0 = 0;                                                                           \
            for (; j0 + LANES <= U; j0 += LANES) {                                                    \
                vgrad_##SUF(k, U, vu_##SUF(xn + j0, inv_r == NULL ? NULL : inv_r + j0), ld_##SUF(yn + j0) - ld_##SUF(ybar + j0), ra, rb, mean + j0, ar + j0, wt + j0, gx + j0); \
            }                                                                                         \
            if (j0 < U) {                                                                             \
                strip_u_##SUF((int)(U - j0), xn + j0, inv_r == NULL ? NULL : inv_r + j0, u);          \
                strip_grad_##SUF((int)(U - j0), k, U, u, yn + j0, ra, rb, ybar + j0, mean + j0, ar + j0, wt + j0, gx + j0); \
            }                                                                                         \
        }                                                                                             \
    }                                                                                                 \
    free(buf); free(acc);                                                                             \
    return 0;                                                                                         \
}

DEFINE_KERNELS(float, f32)
DEFINE_KERNELS(double, f64)
