"""
Out-of-core training with partial_fit
=====================================

Data too large for memory can be streamed: ``partial_fit`` runs one epoch over each chunk
it is given and keeps the optimiser's state (Adam's moments, the step count, the
normalisation's running statistics) between calls, so a loop over the chunks of a
memory-mapped array trains one model as ``fit`` would on the whole array. The same call
is what :class:`dask_ml.wrappers.Incremental` makes on each block of a Dask array.

This example writes 20,000 rows to a memory-mapped file, streams them in chunks of 4,000
for 10 passes, and draws the held-out accuracy after each pass against a ``fit`` on the
whole array in memory.
"""

import tempfile
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from sklearn_slaf import SLNNClassifier  # noqa: E402

X, y = make_classification(n_samples=30_000, n_features=20, n_informative=10, n_classes=3,
                           class_sep=0.8, random_state=0)
X_test, y_test = X[20_000:], y[20_000:]
folder = tempfile.TemporaryDirectory()
path = Path(folder.name) / "X.dat"
X_disk = np.memmap(path, dtype=np.float32, mode="w+", shape=(20_000, 20))
X_disk[:] = X[:20_000]
X_disk.flush()
X_disk = np.memmap(path, dtype=np.float32, mode="r", shape=(20_000, 20))  # read-only, as a large file would be
y_train = y[:20_000]

classes = np.unique(y)
stream = SLNNClassifier(random_state=0)
scores = []
for _ in range(10):
    for start in range(0, 20_000, 4_000):
        rows = slice(start, start + 4_000)
        stream.partial_fit(X_disk[rows], y_train[rows], classes=classes)
    scores.append(stream.score(X_test, y_test))
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    in_memory = SLNNClassifier(max_iter=10, random_state=0).fit(np.asarray(X_disk), y_train)
in_memory_score = in_memory.score(X_test, y_test)
print(f"streamed, 10 passes: {scores[-1]:.3f}; in memory, fit with max_iter=10: {in_memory_score:.3f}")

fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
ax.plot(range(1, 11), scores, "o-", label="partial_fit over 5 chunks of 4,000 rows")
ax.axhline(in_memory_score, color="k", ls="--", label="fit on all 20,000 rows (10 epochs)")
ax.set(xlabel="pass over the file", ylabel="held-out accuracy", xticks=range(1, 11),
       title="3 classes, 20 inputs")
ax.legend(loc="lower right")
plt.show()
folder.cleanup()
