"""k-nearest neighbours, k chosen by cross-validation on the pool."""

from __future__ import annotations

from sklearn.neighbors import KNeighborsClassifier

from attrunlearn_core.attackers import register_attacker
from attrunlearn_core.attackers.scikit import ScikitAttacker


@register_attacker
class NearestNeighboursAttacker(ScikitAttacker):
    name = "knn"
    grid = {"n_neighbors": [1, 5, 15, 45]}

    def estimator(self):
        return KNeighborsClassifier()

    def usable_grid(self, fold_size: int) -> dict[str, list]:
        # a small pool (a learning curve's first points) cannot offer 45 neighbours to every fold
        return {"n_neighbors": [k for k in self.grid["n_neighbors"] if k <= fold_size] or [1]}
