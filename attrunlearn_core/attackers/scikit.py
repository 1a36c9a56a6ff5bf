"""Shared fitting for the scikit-learn attackers: standardise, PCA where h is wide, pick hyper-parameters by
stratified cross-validation on the whole pool (never on attacker-test), refit on the pool.

The scaler and PCA are fitted once on the pool, before cross-validation: they see no labels, and refitting
them per fold and grid point cost 10-30 s per attacker on a 2,000 x 2,048 pool for the same final model.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from attrunlearn_core.attackers.base import Attacker, FitData


class ScikitAttacker(Attacker):
    grid: dict[str, list] = {}

    def estimator(self):
        raise NotImplementedError

    def fit(self, data: FitData) -> ScikitAttacker:
        x, z = data.all_x().flatten(1).float().numpy(), data.all_z().numpy()
        steps = [StandardScaler()]
        components = min(self.recipe.max_components, len(x) - 1)  # PCA keeps at most n_samples - 1 useful directions
        if x.shape[1] > components:
            steps.append(PCA(n_components=components, svd_solver="randomized", random_state=self.seed))
        self.features = make_pipeline(*steps).fit(x)
        counts = np.bincount(z)
        smallest = int(counts[counts > 0].min())
        folds = (
            StratifiedKFold(min(self.recipe.cv_folds, smallest), shuffle=True, random_state=self.seed)
            if smallest >= 2
            else KFold(self.recipe.cv_folds, shuffle=True, random_state=self.seed)
        )
        self.search = GridSearchCV(
            self.estimator(), self.usable_grid(len(x) - len(x) // folds.get_n_splits()), cv=folds, scoring="accuracy", n_jobs=1
        )
        self.search.fit(self.features.transform(x), z)
        self.validation_accuracy = float(self.search.best_score_)
        return self

    def usable_grid(self, fold_size: int) -> dict[str, list]:
        """The grid without points a cross-validation fold of `fold_size` pairs cannot fit (e.g. more neighbours)."""
        return self.grid

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.search.predict(self.features.transform(x.flatten(1).float().numpy()))).long()

    def chosen(self) -> dict:
        return dict(self.search.best_params_)
