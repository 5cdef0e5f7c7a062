"""Dense graded multivariate polynomial algebra.

A polynomial of degree ``<= D`` in ``n`` variables is a dense coefficient vector over
the monomials of degree ``<= D``, in the order of
:class:`sklearn.preprocessing.PolynomialFeatures`: graded by degree, and within a degree
lexicographic in the sorted variable tuples (``x0^2, x0 x1, ..., x1^2, ...``). Because
the index is graded, a polynomial of degree ``a <= D`` is simply the first
``n_monomials(n, a)`` entries of such a vector, so polynomials of different degrees
share one index and truncation is slicing.

Every monomial of degree ``d + 1`` is generated from its *parent* of degree ``d`` (its
sorted variable tuple without the last entry) times its *last* variable; that tree gives,
without any hashing or searching,

- the table ``mul[v, m]``: index of ``x_v * m``;
- pair maps ``M[j, i]``: index of ``m_i * m_j``, built row by row from the parent's row;
- evaluation of all monomials at data points, one multiplication per monomial.

Products of polynomials are scatter-adds through the pair maps: within one row ``j``
the map ``i -> M[j, i]`` is injective, so plain fancy-index ``+=`` is exact.
"""

from __future__ import annotations

from math import comb

import numpy as np

__all__ = ["n_monomials", "MonomialIndex"]


def n_monomials(n_features: int, degree: int) -> int:
    """Number of monomials of degree ``<= degree`` in ``n_features`` variables, ``C(n + D, D)``.

    Parameters
    ----------
    n_features : int
        Number of variables ``n``.
    degree : int
        Largest total degree ``D``.

    Returns
    -------
    int
        ``C(n + D, D)``, the constant monomial included.

    Examples
    --------
    >>> from sklearn_slaf.polynomial import n_monomials
    >>> n_monomials(3, 2)  # 1, x0, x1, x2, x0^2, x0 x1, ...
    10
    >>> n_monomials(13, 8)  # the paper's Boston network: 13 inputs, degree 4 * 2
    203490
    """
    return comb(n_features + degree, degree)


class MonomialIndex:
    """All monomials of degree ``<= degree`` in ``n_features`` variables, graded.

    Parameters
    ----------
    n_features : int
        Number of variables ``n >= 1``.
    degree : int
        Largest total degree ``D >= 0``.

    Attributes
    ----------
    offsets : ndarray of shape (degree + 2,)
        ``offsets[d]`` is the index of the first monomial of degree ``d``;
        ``offsets[d + 1]`` is the number of monomials of degree ``<= d``.
    powers : ndarray of shape (n_monomials, n_features), uint8 or uint16
        Exponents, row 0 the constant monomial.
    parent, last : ndarray of shape (n_monomials,)
        ``monomial[m] = monomial[parent[m]] * x_{last[m]}`` (``parent[0] = -1``).

    Examples
    --------
    >>> from sklearn_slaf.polynomial._algebra import MonomialIndex
    >>> idx = MonomialIndex(2, 2)
    >>> idx.powers.tolist()
    [[0, 0], [1, 0], [0, 1], [2, 0], [1, 1], [0, 2]]
    >>> idx.pair_map(1, 1)[1].tolist()  # x0 * (1, x0, x1)
    [1, 3, 4]
    """

    def __init__(self, n_features: int, degree: int) -> None:
        n, D = int(n_features), int(degree)
        self.n_features, self.degree = n, D
        self.offsets = np.array([0] + [comb(n + d - 1, d - 1) for d in range(1, D + 2)], dtype=np.int64)
        N = int(self.offsets[-1])
        self.itype = np.int32 if N < 2**31 - 1 else np.int64
        self.powers = np.zeros((N, n), dtype=np.uint8 if D < 256 else np.uint16)
        self.last = np.zeros(N, dtype=self.itype)
        self.parent = np.full(N, -1, dtype=self.itype)
        # index of the first child (x_{last} * m) of every monomial of degree < D
        self.child_start = np.zeros(int(self.offsets[D]), dtype=self.itype)
        for d in range(D):
            lo, hi, end = (int(v) for v in self.offsets[d : d + 3])
            counts = n - self.last[lo:hi]  # children x_v * m for v >= last(m), in lexicographic order
            starts = hi + np.concatenate(([0], np.cumsum(counts[:-1], dtype=np.int64)))
            self.child_start[lo:hi] = starts
            par = np.repeat(np.arange(lo, hi, dtype=self.itype), counts)
            var = np.arange(hi, end) - np.repeat(starts, counts) + np.repeat(self.last[lo:hi], counts)
            self.parent[hi:end] = par
            self.last[hi:end] = var
            self.powers[hi:end] = self.powers[par]
            self.powers[np.arange(hi, end), var] += 1
        self._mul: np.ndarray | None = None

    def size(self, degree: int) -> int:
        """Number of monomials of degree ``<= degree``."""
        return int(self.offsets[degree + 1])

    def mul_table(self, max_degree: int) -> np.ndarray:
        """``mul[v, m]``: index of ``x_v * m`` for every monomial ``m`` of degree ``<= max_degree``.

        Shape ``(n_features, size(max_degree))``; needs ``max_degree < degree``.
        """
        if not 0 <= max_degree < self.degree:
            raise ValueError(f"max_degree must be in [0, {self.degree}); got {max_degree}.")
        if self._mul is not None and self._mul.shape[1] >= self.size(max_degree):
            return self._mul
        n, off = self.n_features, self.offsets
        mul = np.empty((n, self.size(max_degree)), dtype=self.itype)
        v = np.arange(n, dtype=self.itype)[:, None]
        mul[:, 0] = 1 + v[:, 0]
        for d in range(1, max_degree + 1):
            blk = slice(int(off[d]), int(off[d + 1]))
            lm = self.last[blk]
            # v >= last(m): x_v * m is a child of m. v < last(m): x_v * m = (x_v * parent(m)) * x_last(m),
            # and x_last(m) is a child step of q = x_v * parent(m) because last(q) <= last(m).
            q = mul[:, self.parent[blk]]
            via_parent = self.child_start[q] + lm - self.last[q]
            direct = self.child_start[blk] + v - lm
            mul[:, blk] = np.where(v >= lm, direct, via_parent)
        self._mul = mul
        return mul

    def pair_rows(self, a: int, b: int, block: int = 1 << 18):
        """Stream the pair map ``M[j, i]`` (index of ``m_i * m_j``, ``deg m_i <= a``, ``deg m_j <= b``).

        Yields ``(j0, rows)`` with ``rows = M[j0 : j0 + len(rows)]`` of shape
        ``(len(rows), size(a))``, blocks of about ``block`` entries, ``j`` ascending. Row ``j``
        is ``mul[last(j), M[parent(j)]]``, so only the rows of the previous degree are
        kept: memory is ``size(a) * (monomials of degree b - 1)`` indices, not the whole map.
        """
        if a + b > self.degree:
            raise ValueError(f"a + b = {a + b} exceeds the index degree {self.degree}.")
        Na, off = self.size(a), self.offsets
        prev = np.arange(Na, dtype=self.itype)[None]
        yield 0, prev
        if b == 0:
            return
        mul = self.mul_table(a + b - 1)
        step = max(1, block // Na)
        for d in range(1, b + 1):
            lo, hi = int(off[d]), int(off[d + 1])
            cur = np.empty((hi - lo, Na), dtype=self.itype) if d < b else None
            for r0 in range(lo, hi, step):
                r1 = min(hi, r0 + step)
                rows = mul[self.last[r0:r1, None], prev[self.parent[r0:r1] - off[d - 1]]]
                if cur is not None:
                    cur[r0 - lo : r1 - lo] = rows
                yield r0, rows
            prev = cur

    def pair_map(self, a: int, b: int) -> np.ndarray:
        """The whole pair map ``M`` of :meth:`pair_rows`, shape ``(size(b), size(a))``."""
        return np.concatenate([rows for _, rows in self.pair_rows(a, b)])

    def clear(self) -> None:
        """Drop the cached multiplication table."""
        self._mul = None

    # ----------------------------------------------------------------- arithmetic
    def rowmul(self, A: np.ndarray, a: int, B: np.ndarray, b: int) -> np.ndarray:
        """Row-wise products ``C[u] = A[u] * B[u]`` of polynomials of degrees ``a`` and ``b``.

        ``A`` has shape ``(U, size(a))``, ``B`` ``(U, size(b))``; returns ``(U, size(a + b))``.
        """
        if self.size(b) > self.size(a):
            A, a, B, b = B, b, A, a
        C = np.zeros((A.shape[0], self.size(a + b)))
        # loop over the smaller factor's monomials: each row of the pair map is injective, so += is exact
        for j0, rows in self.pair_rows(a, b):
            for r, targets in enumerate(rows):
                bj = B[:, j0 + r]
                if bj.any():
                    C[:, targets] += A * bj[:, None]
        return C

    def gram_scatter(
        self, A: np.ndarray, a: int, B: np.ndarray, b: int, c: np.ndarray, out: np.ndarray, block: int = 1 << 18
    ) -> None:
        """Add ``sum_u c[u] * A[u] * B[u]`` (a polynomial of degree ``a + b``) to ``out``.

        The sum over units is a matrix product: ``G = B.T @ diag(c) @ A`` holds the
        coefficient of ``m_i * m_j`` at ``G[j, i]``, and a bincount through the pair map
        collects it. ``G`` is formed in row blocks of about ``block`` entries, so memory
        stays bounded whatever the number of units.
        """
        Ac = A * c[:, None]
        Bt = np.ascontiguousarray(B.T)
        n_out = self.size(a + b)
        for j0, rows in self.pair_rows(a, b, block):
            G = Bt[j0 : j0 + rows.shape[0]] @ Ac
            out[:n_out] += np.bincount(rows.ravel(), weights=G.ravel(), minlength=n_out)

    def substitute_affine(self, coef: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
        """Coefficients in ``x`` of the polynomial ``coef`` in ``t``, where ``t_j = alpha_j x_j + beta_j``.

        ``coef`` has shape ``(n_outputs, n_monomials)``. Each variable is substituted in
        turn by the binomial expansion ``t^e = sum_s C(e, s) alpha^(e-s) beta^s x^(e-s)``.
        """
        n, D = self.n_features, self.degree
        N = self.size(D)
        coef = np.array(coef, dtype=np.float64, copy=True)
        if D == 0:
            return coef
        mul = self.mul_table(D - 1)
        div = np.full((n, N), -1, dtype=self.itype)  # div[v, m]: index of m / x_v
        src_all = np.arange(mul.shape[1], dtype=self.itype)
        for v in range(n):
            div[v, mul[v]] = src_all
        binom = np.array([[comb(e, s) for s in range(D + 1)] for e in range(D + 1)], dtype=np.float64)
        for j in range(n):
            e = self.powers[:, j].astype(np.int64)
            new = coef * (float(alpha[j]) ** e)  # s = 0: x^e keeps its exponent
            if beta[j] != 0:
                src = np.arange(N)
                dst = src
                for s in range(1, D + 1):
                    keep = e[src] >= s
                    src, dst = src[keep], div[j, dst[keep]]
                    if src.size == 0:
                        break
                    es = e[src]
                    factor = binom[es, s] * float(alpha[j]) ** (es - s) * float(beta[j]) ** s
                    new[:, dst] += coef[:, src] * factor  # dst is injective for fixed (j, s)
            coef = new
        return coef

    def evaluate(self, T: np.ndarray, columns: np.ndarray | None = None, chunk: int = 1 << 22) -> np.ndarray:
        """All monomials (or those in ``columns``) at the rows of ``T`` (shape ``(n_samples, n_features)``)."""
        N = self.size(self.degree)
        rows = max(1, chunk // N)
        if columns is None and T.shape[0] <= rows:
            return self._evaluate_all(T)  # one chunk: no copy into an output array
        cols = np.arange(N) if columns is None else np.asarray(columns)
        out = np.empty((T.shape[0], cols.size))
        for r0 in range(0, T.shape[0], rows):
            F = self._evaluate_all(T[r0 : r0 + rows])
            out[r0 : r0 + rows] = F if columns is None else F[:, cols]
        return out

    def _evaluate_all(self, t: np.ndarray) -> np.ndarray:
        F = np.empty((t.shape[0], self.size(self.degree)))
        F[:, 0] = 1.0
        for d in range(self.degree):
            lo, hi = int(self.offsets[d + 1]), int(self.offsets[d + 2])
            F[:, lo:hi] = F[:, self.parent[lo:hi]] * t[:, self.last[lo:hi]]
        return F
