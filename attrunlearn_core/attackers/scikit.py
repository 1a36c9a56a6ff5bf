"""Shared fitting for the scikit-learn attackers: standardise, PCA where h is wide, pick hyper-parameters by
stratified cross-validation on the whole pool (never on attacker-test), refit on the pool."""
from __future__ import annotations

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from attrunlearn_core.attackers.base import Attacker, FitData


class ScikitAttacker(Attacker):
    step_name = ""  # the estimator's step name in the pipeline (make_pipeline's lower-cased class name)
    grid: dict[str, list] = {}

    def estimator(self):
        raise NotImplementedError

    def fit(self, data: FitData) -> "ScikitAttacker":
        x, z = data.all_x().flatten(1).float().numpy(), data.all_z().numpy()
        steps = [StandardScaler()]
        if x.shape[1] > self.recipe.max_components:
            steps.append(PCA(n_components=self.recipe.max_components, random_state=self.seed))
        pipeline = make_pipeline(*steps, self.estimator())
        counts = np.bincount(z)
        smallest = int(counts[counts > 0].min())
        folds = StratifiedKFold(min(self.recipe.cv_folds, smallest), shuffle=True, random_state=self.seed) if smallest >= 2 \
            else KFold(self.recipe.cv_folds, shuffle=True, random_state=self.seed)
        grid = {f"{self.step_name}__{key}": values for key, values in self.grid.items()}
        self.search = GridSearchCV(pipeline, grid, cv=folds, scoring="accuracy", n_jobs=1).fit(x, z)
        self.validation_accuracy = float(self.search.best_score_)
        return self

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.search.predict(x.flatten(1).float().numpy())).long()

    def chosen(self) -> dict:
        return {key.split("__", 1)[1]: value for key, value in self.search.best_params_.items()}
