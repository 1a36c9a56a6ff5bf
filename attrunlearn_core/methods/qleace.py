"""Quadratic LEACE (Belrose et al., 2023, `concept-erasure`'s QuadraticEraser) on h, then the classifier re-fitted.

LEACE (methods/leace.py) equalises the class means of z; the quadratic eraser also equalises the
class-conditional covariances, transporting each z value's distribution to their Wasserstein barycenter,
so no quadratic classifier beats chance on the fitting data. Two limits shape this file:
- The eraser needs z at inference ("oracle" labels); inside a model there is none, so z is predicted by the
  Gaussian quadratic classifier (QDA) that the same class means and covariances define. A wrong prediction
  transports a sample with the wrong map: the attackers measure what is left.
- Its fit is O(k d^3) with a fixed-point barycenter (24 s at d = 256 on a 2-core CPU), too slow for all of h
  (d = 2048 on the default grid). So h is first LEACE-erased in full (linear guardedness everywhere), then the
  quadratic eraser works in the top `components` principal directions of the erased train h, where most of
  its variance (and of any remaining covariance difference) lies.
The classifier is then re-fitted on erased train h, the extractor frozen, as for LEACE.
"""

from __future__ import annotations

import torch
from concept_erasure import QuadraticFitter
from torch import nn

from attrunlearn_core.methods import register_method
from attrunlearn_core.methods.base import MethodResult, UnlearningContext
from attrunlearn_core.methods.leace import AffineErasure, Leace, _features, announce_fit, fit_affine_erasure
from attrunlearn_core.models import SplitModel
from attrunlearn_core.unlearning.params import require_number


class QuadraticErasure(nn.Module):
    """LEACE on flattened h, then, in a principal subspace, each sample transported from its QDA-predicted z's distribution to the barycenter."""

    def __init__(
        self,
        linear: AffineErasure,
        center: torch.Tensor,
        basis: torch.Tensor,
        class_means: torch.Tensor,
        global_mean: torch.Tensor,
        ot_maps: torch.Tensor,
        precisions: torch.Tensor,
        log_normalisers: torch.Tensor,
    ):
        super().__init__()
        self.linear = linear
        for name, value in (
            ("center", center),
            ("basis", basis),
            ("class_means", class_means),
            ("global_mean", global_mean),
            ("ot_maps", ot_maps),
            ("precisions", precisions),
            ("log_normalisers", log_normalisers),
        ):
            self.register_buffer(name, value.float().contiguous())

    def predict_z(self, coords: torch.Tensor) -> torch.Tensor:
        centred = coords[:, None, :] - self.class_means[None]  # [n, k, r]
        mahalanobis = torch.einsum("nkr,krs,nks->nk", centred, self.precisions, centred)
        return (self.log_normalisers[None] - 0.5 * mahalanobis).argmax(1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        flat = self.linear(h).flatten(1)
        coords = (flat - self.center) @ self.basis  # [n, r]
        z = self.predict_z(coords)
        transported = torch.einsum("nr,nsr->ns", coords - self.class_means[z], self.ot_maps[z]) + self.global_mean
        return (flat + (transported - coords) @ self.basis.T).view_as(h)


def fit_quadratic_erasure(
    features: torch.Tensor, z: torch.Tensor, num_classes: int, components: int, shrinkage: bool = True, svd_tol: float = 0.01
) -> QuadraticErasure:
    linear = fit_affine_erasure(features, z, num_classes, shrinkage, svd_tol)
    with torch.no_grad():
        flat = linear(features.float()).flatten(1).double()
    center = flat.mean(0)
    rank = max(1, min(components, flat.shape[1], len(flat) - 1))
    basis = torch.linalg.svd(flat - center, full_matrices=False).Vh[:rank].T  # [d, r]
    coords = (flat - center) @ basis
    present = torch.bincount(z, minlength=num_classes) > 1
    if not present.all():  # the fitter needs two samples of every value it is told about
        remap = torch.cumsum(present.long(), 0) - 1
        coords, z, num_classes = coords[present[z]], remap[z[present[z]]], int(present.sum())
    fitter = QuadraticFitter(rank, num_classes, device=coords.device, dtype=torch.float64, shrinkage=shrinkage).update(coords, z)
    eraser, covariances = fitter.eraser, fitter.sigma_xx
    priors = torch.bincount(z, minlength=num_classes).double() / len(z)
    log_normalisers = priors.log() - 0.5 * torch.linalg.slogdet(covariances).logabsdet
    return QuadraticErasure(
        linear, center, basis, eraser.class_means, eraser.global_mean, eraser.ot_maps, torch.linalg.inv(covariances), log_normalisers
    )


@register_method
class QuadraticLeace(Leace):
    name = "qleace"
    DEFAULTS = {**Leace.DEFAULTS, "components": 64}  # principal directions the quadratic eraser works in (O(k d^3) fit)

    @classmethod
    def resolve_params(cls, params: dict) -> dict:
        p = super().resolve_params(params)
        require_number(cls.name, p, "components", minimum=1, integer=True)
        return p

    def unlearn(self, model: SplitModel, context: UnlearningContext) -> MethodResult:
        p, device = self.params, context.device
        model.to(device)
        z, classes = context.train_attribute_labels()
        h = _features(model.extractor, context.train_images(), device)
        announce_fit(self.name, h[0].numel(), len(h), p["max_dim"], device)
        erasure = fit_quadratic_erasure(h.to(device), z.to(device), classes, p["components"], p["shrinkage"], p["svd_tol"])
        with torch.no_grad():
            erased = torch.cat([erasure(h[i : i + 512].to(device)).cpu() for i in range(0, len(h), 512)])
            qda_accuracy = (
                (erasure.predict_z((erasure.linear(h.to(device)).flatten(1) - erasure.center) @ erasure.basis).cpu() == z).float().mean().item()
            )
        loss = self._refit_classifier(model.classifier, erased, context.train_task_labels(), context)
        result = SplitModel(nn.Sequential(model.extractor, erasure), model.classifier).eval()
        return MethodResult(
            result,
            {
                "erased_rank": float(erasure.linear.rank),
                "components": float(erasure.basis.shape[1]),
                "feature_dim": float(h[0].numel()),
                "qda_train_accuracy": qda_accuracy,
                "classifier_loss": loss,
            },
        )
