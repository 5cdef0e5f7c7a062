"""The main job: fit an SLNN on scikit-learn's diabetes data and compare it with baselines."""

from __future__ import annotations

import time

import numpy as np
import torch
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import train_test_split

from .network import SLNN


def _fit_module(X, y, seed, epochs=300, batch=64, lr=3e-3):
    gen = torch.Generator().manual_seed(seed)
    Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)[:, None]
    net = SLNN(X.shape[1], (32,), degree=3, generator=gen)
    net.set_scaling(Xt.mean(0), Xt.std(0), yt.mean(0), yt.std(0))
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=1e-4)
    for _ in range(epochs):
        perm = torch.randperm(len(Xt), generator=gen)
        for i in range(0, len(Xt), batch):
            idx = perm[i : i + batch]
            opt.zero_grad()
            loss = ((net(Xt[idx]) - yt[idx]) / net.output_scale).square().mean()
            loss.backward()
            opt.step()
    net.eval()
    return lambda A: net(torch.as_tensor(A, dtype=torch.float32)).detach().numpy()[:, 0]


def run(seed: int = 0) -> None:
    """Print train/test RMSE of an SLNN beside linear regression."""
    torch.set_num_threads(min(2, torch.get_num_threads()))
    X, y = load_diabetes(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed)
    rows = []
    for name, fit in (
        ("SLNN (32 units, degree 3)", lambda: _fit_module(Xtr, ytr, seed)),
        ("LinearRegression", lambda: LinearRegression().fit(Xtr, ytr).predict),
    ):
        t = time.perf_counter()
        predict = fit()
        dt = time.perf_counter() - t
        rows.append((name, root_mean_squared_error(ytr, predict(Xtr)), root_mean_squared_error(yte, predict(Xte)), dt))
    print(f"diabetes: {len(Xtr)} train / {len(Xte)} test samples, {X.shape[1]} features")
    print(f"{'model':<28}{'train RMSE':>12}{'test RMSE':>12}{'fit s':>9}")
    for name, tr, te, dt in rows:
        print(f"{name:<28}{tr:>12.2f}{te:>12.2f}{dt:>9.2f}")
    assert np.isfinite([r[2] for r in rows]).all()
