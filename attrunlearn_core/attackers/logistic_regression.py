"""Multinomial logistic regression trained to convergence, its regularisation C chosen by cross-validation on the pool."""

from __future__ import annotations

from sklearn.linear_model import LogisticRegression

from attrunlearn_core.attackers import register_attacker
from attrunlearn_core.attackers.scikit import ScikitAttacker


@register_attacker
class LogisticRegressionAttacker(ScikitAttacker):
    name = "logreg"
    grid = {"C": [0.001, 0.01, 0.1, 1.0]}

    def estimator(self):
        return LogisticRegression(max_iter=5000, tol=1e-4)
