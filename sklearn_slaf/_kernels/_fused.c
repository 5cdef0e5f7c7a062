/* Fused training-mode SLAF kernels for the CPU: one call per layer for the forward pass and one for
 * the backward pass, whatever the degree k.
 *
 * The maths is that of _streaming.py (see its docstring): the elements g_1..g_k come from the
 * family's three-term recurrence g_(n+1) = ra[n] u g_n - rb[n] g_(n-1) (g_0 = 1, g_1 = u = x / r),
 * each is normalised with its biased batch mean and variance, and the output is
 * sum_i a_i g_i + (bias - sum_i a_i mu_i) with a_i = coef_i / sqrt(var_i + eps).
 *
 * Instead of one pass over an (N, U) tensor per operation, each pass here walks the rows once and
 * recomputes the elements of a row in a small (k, U) buffer that stays in cache:
 *   forward:  means; variances about the means (two passes, as accurate as torch.var_mean);
 *             output by Clenshaw's rule;
 *   backward: sum_n y and p_i = sum_n y (g_i - mu_i); then the input gradient from the elements
 *             and their derivatives g'_(n+1) = ra[n] (g_n + u g'_n) - rb[n] g'_(n-1).
 * Sums over rows accumulate in double. Rows are processed in order on one thread: the caller
 * uses these kernels where torch runs one intra-op thread. Inner loops run over units, which
 * are contiguous, so the compiler vectorises them.
 *
 * Layouts (row-major): x, out, gy, grad_x (N, U); coef, grad_coef (U, k); mean, var, scale (k, U);
 * r, bias, grad_bias (U); ra, rb (k + 1), index n holding the constants of recurrence(family, n).
 * r may be NULL (no input map). Every function returns 0, or -1 when out of memory.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DEFINE_KERNELS(T, SUF)                                                                        \
                                                                                                      \
static void make_u_##SUF(int64_t U, const T *restrict x, const T *restrict inv_r, T *restrict u) {                              \
    if (inv_r == NULL) {                                                                              \
        memcpy(u, x, (size_t)U * sizeof(T));                                                          \
    } else {                                                                                          \
        for (int64_t j = 0; j < U; j++) u[j] = x[j] * inv_r[j];                                       \
    }                                                                                                 \
}                                                                                                     \
                                                                                                      \
/* g[i * U + j] = g_(i+1)(u_j), i = 0 .. k-1 */                                                       \
static void elements_##SUF(int64_t U, int k, const T *restrict u, const double *ra, const double *rb, T *restrict g) { \
    memcpy(g, u, (size_t)U * sizeof(T));                                                              \
    if (k > 1) {                                                                                      \
        const T a = (T)ra[1], b = (T)rb[1];                                                           \
        T *g2 = g + U;                                                                                \
        for (int64_t j = 0; j < U; j++) g2[j] = u[j] * g[j] * a - b;                                  \
    }                                                                                                 \
    for (int i = 2; i < k; i++) {                                                                     \
        const T a = (T)ra[i], b = (T)rb[i];                                                           \
        T *gn = g + (int64_t)i * U;                                                                   \
        const T *gc = gn - U, *gp = gc - U;                                                           \
        for (int64_t j = 0; j < U; j++) gn[j] = u[j] * gc[j] * a - b * gp[j];                         \
    }                                                                                                 \
}                                                                                                     \
                                                                                                      \
int slaf_forward_##SUF(int64_t N, int64_t U, int k, const T *x, const T *r, const T *coef,           \
                       const T *bias, double eps, const double *ra, const double *rb,                \
                       T *out, T *mean, T *var, T *scale) {                                           \
    const int64_t KU = (int64_t)k * U;                                                                \
    T *buf = (T *)malloc((size_t)(KU + 5 * U) * sizeof(T));                                           \
    double *acc = (double *)calloc((size_t)KU, sizeof(double));                                       \
    if (buf == NULL || acc == NULL) { free(buf); free(acc); return -1; }                              \
    T *g = buf, *u = buf + KU, *inv_r = r == NULL ? NULL : u + U, *b1 = u + 2 * U, *b2 = u + 3 * U;  \
    T *shift = u + 4 * U;                                                                             \
    if (inv_r != NULL) for (int64_t j = 0; j < U; j++) inv_r[j] = (T)1 / r[j];                        \
    for (int64_t n = 0; n < N; n++) {                                                                 \
        make_u_##SUF(U, x + n * U, inv_r, u);                                                         \
        elements_##SUF(U, k, u, ra, rb, g);                                                           \
        for (int64_t q = 0; q < KU; q++) acc[q] += g[q];                                              \
    }                                                                                                 \
    for (int64_t q = 0; q < KU; q++) { mean[q] = (T)(acc[q] / (double)N); acc[q] = 0.0; }             \
    for (int64_t n = 0; n < N; n++) {                                                                 \
        make_u_##SUF(U, x + n * U, inv_r, u);                                                         \
        elements_##SUF(U, k, u, ra, rb, g);                                                           \
        for (int64_t q = 0; q < KU; q++) { const T d = g[q] - mean[q]; acc[q] += (double)d * d; }     \
    }                                                                                                 \
    for (int i = 0; i < k; i++) {                                                                     \
        for (int64_t j = 0; j < U; j++) {                                                             \
            const int64_t q = (int64_t)i * U + j;                                                     \
            var[q] = (T)(acc[q] / (double)N);                                                         \
            scale[q] = (T)(1.0 / sqrt((double)var[q] + eps));                                         \
        }                                                                                             \
    }                                                                                                 \
    /* A_i = coef_i scale_i (in the element buffer, free from here on) and the constant term */      \
    T *A = g;                                                                                         \
    for (int64_t j = 0; j < U; j++) shift[j] = bias[j];                                               \
    for (int i = 0; i < k; i++) {                                                                     \
        for (int64_t j = 0; j < U; j++) {                                                             \
            const int64_t q = (int64_t)i * U + j;                                                     \
            A[q] = coef[j * k + i] * scale[q];                                                        \
            shift[j] -= A[q] * mean[q];                                                               \
        }                                                                                             \
    }                                                                                                 \
    /* Clenshaw: B_n = A_n + ra[n] u B_(n+1) - rb[n+1] B_(n+2), out = shift + u B_1 - rb[1] B_2 */   \
    for (int64_t n = 0; n < N; n++) {                                                                 \
        make_u_##SUF(U, x + n * U, inv_r, u);                                                         \
        T *o = out + n * U;                                                                           \
        const T *Ak = A + (int64_t)(k - 1) * U;                                                       \
        for (int64_t j = 0; j < U; j++) { b1[j] = Ak[j]; b2[j] = 0; }                                 \
        for (int i = k - 1; i >= 1; i--) {                                                            \
            const T an = (T)ra[i], bn = (T)rb[i + 1];                                                 \
            const T *Ai = A + (int64_t)(i - 1) * U;                                                   \
            for (int64_t j = 0; j < U; j++) {                                                         \
                const T t = Ai[j] + an * u[j] * b1[j] - bn * b2[j];                                   \
                b2[j] = b1[j];                                                                        \
                b1[j] = t;                                                                            \
            }                                                                                         \
        }                                                                                             \
        const T b = (T)rb[1];                                                                         \
        for (int64_t j = 0; j < U; j++) o[j] = shift[j] + u[j] * b1[j] - b * b2[j];                   \
    }                                                                                                 \
    free(buf); free(acc);                                                                             \
    return 0;                                                                                         \
}                                                                                                     \
                                                                                                      \
int slaf_backward_##SUF(int64_t N, int64_t U, int k, const T *gy, const T *x, const T *r,            \
                        const T *coef, const T *mean, const T *scale, const double *ra,              \
                        const double *rb, int need_x, T *grad_x, T *grad_coef, T *grad_bias) {       \
    const int64_t KU = (int64_t)k * U;                                                                \
    T *buf = (T *)malloc((size_t)(3 * KU + 6 * U) * sizeof(T));                                       \
    double *acc = (double *)calloc((size_t)(KU + U), sizeof(double));                                 \
    if (buf == NULL || acc == NULL) { free(buf); free(acc); return -1; }                              \
    T *g = buf, *ar = buf + KU, *w = buf + 2 * KU, *u = buf + 3 * KU;                                 \
    T *inv_r = r == NULL ? NULL : u + U, *ybar = u + 2 * U;                                           \
    T *gp = u + 3 * U, *dp = u + 4 * U, *dc = u + 5 * U;                                              \
    double *sum_y = acc + KU;                                                                         \
    if (inv_r != NULL) for (int64_t j = 0; j < U; j++) inv_r[j] = (T)1 / r[j];                        \
    for (int64_t n = 0; n < N; n++) {                                                                 \
        const T *y = gy + n * U;                                                                      \
        make_u_##SUF(U, x + n * U, inv_r, u);                                                         \
        elements_##SUF(U, k, u, ra, rb, g);                                                           \
        for (int64_t j = 0; j < U; j++) sum_y[j] += y[j];                                             \
        for (int i = 0; i < k; i++) {                                                                 \
            const T *gi = g + (int64_t)i * U, *mi = mean + (int64_t)i * U;                            \
            double *pi = acc + (int64_t)i * U;                                                        \
            for (int64_t j = 0; j < U; j++) pi[j] += (double)y[j] * (gi[j] - mi[j]);                  \
        }                                                                                             \
    }                                                                                                 \
    for (int i = 0; i < k; i++)                                                                       \
        for (int64_t j = 0; j < U; j++)                                                               \
            grad_coef[j * k + i] = (T)acc[(int64_t)i * U + j] * scale[(int64_t)i * U + j];            \
    for (int64_t j = 0; j < U; j++) grad_bias[j] = (T)sum_y[j];                                       \
    if (need_x) {                                                                                     \
        for (int64_t j = 0; j < U; j++) ybar[j] = (T)(sum_y[j] / (double)N);                          \
        for (int i = 0; i < k; i++) {                                                                 \
            for (int64_t j = 0; j < U; j++) {                                                         \
                const int64_t q = (int64_t)i * U + j;                                                 \
                const T s = scale[q];                                                                 \
                ar[q] = inv_r == NULL ? coef[j * k + i] * s : coef[j * k + i] * s * inv_r[j];        \
                w[q] = ar[q] * (s * s) * (T)acc[q] * (T)(1.0 / (double)N);                            \
            }                                                                                         \
        }                                                                                             \
        for (int64_t n = 0; n < N; n++) {                                                             \
            const T *y = gy + n * U;                                                                  \
            T *gx = grad_x + n * U;                                                                   \
            make_u_##SUF(U, x + n * U, inv_r, u);                                                     \
            elements_##SUF(U, k, u, ra, rb, g);                                                       \
            /* g'_1 = 1; dp = g'_(i-1), dc = g'_i as i runs; gp = g_(i-1) */                          \
            for (int64_t j = 0; j < U; j++) { dp[j] = 0; dc[j] = 1; gp[j] = 1; }                      \
            for (int i = 0; i < k; i++) {                                                             \
                const int64_t o = (int64_t)i * U;                                                     \
                if (i > 0) {                                                                          \
                    const T a = (T)ra[i], b = (T)rb[i];                                               \
                    for (int64_t j = 0; j < U; j++) {                                                 \
                        const T d = a * (gp[j] + u[j] * dc[j]) - b * dp[j];                           \
                        dp[j] = dc[j];                                                                \
                        dc[j] = d;                                                                    \
                    }                                                                                 \
                }                                                                                     \
                const T *gi = g + o, *mi = mean + o, *ai = ar + o, *wi = w + o;                       \
                if (i == 0) {                                                                         \
                    for (int64_t j = 0; j < U; j++)                                                   \
                        gx[j] = ai[j] * (y[j] - ybar[j]) - wi[j] * (gi[j] - mi[j]);                   \
                } else {                                                                              \
                    for (int64_t j = 0; j < U; j++)                                                   \
                        gx[j] += dc[j] * (ai[j] * (y[j] - ybar[j]) - wi[j] * (gi[j] - mi[j]));        \
                }                                                                                     \
                for (int64_t j = 0; j < U; j++) gp[j] = gi[j];                                        \
            }                                                                                         \
        }                                                                                             \
    }                                                                                                 \
    free(buf); free(acc);                                                                             \
    return 0;                                                                                         \
}

DEFINE_KERNELS(float, f32)
DEFINE_KERNELS(double, f64)
