"""LEACE (Belrose et al., 2023): closed-form linear concept erasure on h, then the classifier re-fitted on erased h.

The eraser is the least-squares affine map after which no linear classifier can predict z better than a
constant on the data it was fitted on. It is fitted on the flattened train h with one-hot z (the joint value
for a composite attribute) by the `concept-erasure` package and inserted after the extractor, so the
attackers see erased h. Guardedness is a property of the fitting data: on held-out data, and against
non-linear attackers, the attackers measure what is left.

The classifier (the part after the split) is then trained for a few epochs from its current weights on
the erased train features, the extractor and eraser frozen.
"""

from __future__ import annotations

import logging
import time

import torch
from concept_erasure import LeaceFitter
from torch import nn

from attrunlearn_core.divergence import check_finite
from attrunlearn_core.errors import ConfigError
from attrunlearn_core.methods import register_method
from attrunlearn_core.methods.base import MethodResult, UnlearningContext, UnlearningMethod
from attrunlearn_core.models import SplitModel
from attrunlearn_core.training import batches, to_input
from attrunlearn_core.unlearning.params import require_bool, require_number


class AffineErasure(nn.Module):
    """x - ((x - bias) @ right.T) @ left.T on flattened h: LEACE's rank-r correction, stored as plain buffers so it pickles."""

    def __init__(self, bias: torch.Tensor, proj_left: torch.Tensor, proj_right: torch.Tensor):
        super().__init__()
        self.register_buffer("bias", bias.float().contiguous())
        self.register_buffer("proj_left", proj_left.float().contiguous())  # [d, r]
        self.register_buffer("proj_right", proj_right.float().contiguous())  # [r, d]

    @property
    def rank(self) -> int:
        return self.proj_left.shape[1]

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        flat = h.flatten(1)
        erased = flat - ((flat - self.bias) @ self.proj_right.T) @ self.proj_left.T
        return erased.view_as(h)


def fit_affine_erasure(features: torch.Tensor, z: torch.Tensor, num_classes: int, shrinkage: bool = True, svd_tol: float = 0.01) -> AffineErasure:
    """Fit LEACE on [N, ...] features and integer z (float64 for a stable eigendecomposition); the result is float32 on the features' device."""
    flat = features.flatten(1).double()
    one_hot = nn.functional.one_hot(z, num_classes).double()
    fitter = LeaceFitter(flat.shape[1], num_classes, device=flat.device, dtype=torch.float64, shrinkage=shrinkage, svd_tol=svd_tol)
    eraser = fitter.update(flat, one_hot).eraser
    # The eraser stores I - P as left @ right, the trace-constrained variant as a full d x d factorisation:
    # keep only the directions that contribute (a non-zero column of left and row of right).
    left, right = eraser.proj_left, eraser.proj_right
    strength = left.norm(dim=0) * right.norm(dim=1)
    keep = strength > strength.max() * 1e-8 if strength.numel() and strength.max() > 0 else torch.zeros_like(strength, dtype=torch.bool)
    left, right = left[:, keep], right[keep]
    return AffineErasure(eraser.bias, left, right)


log = logging.getLogger(__name__)

CALIBRATION_DIM = 1024  # the eigendecomposition timed to estimate the real one (O(d^3))


def _eigh_seconds(dim: int, device: torch.device) -> float:
    """This machine's time for a float64 eigendecomposition of d x d, scaled from one of CALIBRATION_DIM."""
    size = min(dim, CALIBRATION_DIM)
    generator = torch.Generator(device=device).manual_seed(0)  # never the global stream: the run stays as seeded
    matrix = torch.randn(size, size, dtype=torch.float64, device=device, generator=generator)
    matrix = matrix @ matrix.T
    start = time.perf_counter()
    torch.linalg.eigh(matrix)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) * (dim / size) ** 3


def announce_fit(name: str, dim: int, samples: int, max_dim: int, device: torch.device) -> None:
    """Logs what the closed-form fit costs before it starts, and refuses one past `max_dim` with one line."""
    gigabytes = dim * dim * 8 / 1e9
    if dim > max_dim:
        raise ConfigError(
            f"{name}: h has d = {dim} values at this split, past max_dim {max_dim}: its d x d float64 covariance takes "
            f"{gigabytes:.1f} GB and its eigendecomposition O(d^3) time; split earlier, or raise params.max_dim to fit it anyway"
        )
    estimate = _eigh_seconds(dim, device) if dim > CALIBRATION_DIM else 0.0
    log.info("%s: fitting on %d images, h of d = %d values (covariance %.2f GB); about %.0f s on %s", name, samples, dim, gigabytes, estimate, device)


@torch.no_grad()
def _features(extractor: nn.Module, images: torch.Tensor, device: torch.device, batch_size: int = 256) -> torch.Tensor:
    extractor.eval()
    return torch.cat([extractor(to_input(images[i : i + batch_size], device)).cpu() for i in range(0, len(images), batch_size)])


@register_method
class Leace(UnlearningMethod):
    name = "leace"
    DEFAULTS = {
        "classifier_epochs": 4,  # re-fitting the classifier on erased h; 0 keeps it unchanged
        "lr": 5e-4,
        "batch_size": 128,
        "shrinkage": True,  # shrinkage estimate of h's covariance (h has as many dimensions as samples, or more)
        "svd_tol": 0.01,
        "max_dim": 16384,  # refuse h larger than this (d^3 fit: ~13,000 values took ~20 min on a CPU core); split earlier instead
    }

    @classmethod
    def resolve_params(cls, params: dict) -> dict:
        p = super().resolve_params(params)
        require_number(cls.name, p, "classifier_epochs", minimum=0, integer=True)
        require_number(cls.name, p, "batch_size", minimum=1, integer=True)
        require_number(cls.name, p, "lr", minimum=0.0, strict=True)
        require_number(cls.name, p, "svd_tol", minimum=0.0, strict=True)
        require_number(cls.name, p, "max_dim", minimum=1, integer=True)
        require_bool(cls.name, p, "shrinkage")
        return p

    def unlearn(self, model: SplitModel, context: UnlearningContext) -> MethodResult:
        p, device = self.params, context.device
        model.to(device)
        z, classes = context.train_attribute_labels()
        h = _features(model.extractor, context.train_images(), device)
        # O(d^3) in d = h's size (2048 at 32x32 inputs, 8192 at 64x64): fitted on the run's device.
        announce_fit(self.name, h[0].numel(), len(h), p["max_dim"], device)
        erasure = fit_affine_erasure(h.to(device), z.to(device), classes, p["shrinkage"], p["svd_tol"])
        with torch.no_grad():
            erased = torch.cat([erasure(h[i : i + 512].to(device)).cpu() for i in range(0, len(h), 512)])
        loss = self._refit_classifier(model.classifier, erased, context.train_task_labels(), context)
        result = SplitModel(nn.Sequential(model.extractor, erasure), model.classifier).eval()
        return MethodResult(result, {"erased_rank": float(erasure.rank), "feature_dim": float(h[0].numel()), "classifier_loss": loss})

    def _refit_classifier(self, classifier: nn.Module, features: torch.Tensor, targets: torch.Tensor, context: UnlearningContext) -> float:
        p = self.params
        optimizer = torch.optim.AdamW(classifier.parameters(), lr=p["lr"], weight_decay=context.recipe.weight_decay)
        classifier.train()
        total, count = float("nan"), 0
        for epoch in range(p["classifier_epochs"]):
            total, count = 0.0, 0
            for index in batches(len(features), p["batch_size"], context.generator):
                loss = nn.functional.cross_entropy(classifier(features[index].to(context.device)), targets[index].to(context.device))
                check_finite(loss, f"leace classifier refit epoch {epoch + 1} step {count // p['batch_size'] + 1}")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total, count = total + loss.item() * len(index), count + len(index)
        classifier.eval()
        return total / count if count else float("nan")
