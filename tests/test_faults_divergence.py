"""Divergence: every training loop stops on a non-finite loss with the job, epoch and step, writing nothing.

Each case asserts the exit (an error or a non-zero exit code), one line naming the file or config key, and that
nothing half-written appears while earlier results stay intact; `pytest -s` prints each line, prefixed `[battery]`.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from helpers import TINY_CONFIG, nothing_half_written, one_line, tiny_embedded_prepared

from attrunlearn_core.config import training_recipe, validate_config
from attrunlearn_core.errors import DivergenceError
from attrunlearn_core.jobs.train_baseline import train_baseline
from attrunlearn_core.methods import UnlearningContext, get_method_class
from attrunlearn_core.models import build_split_model
from attrunlearn_core.training import TrainingRecipe

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


# ================================================================ divergence: every training loop stops on a non-finite loss


def _context(prepared, lr: float = 1e-3) -> UnlearningContext:
    generator = torch.Generator().manual_seed(0)
    return UnlearningContext(
        prepared=prepared,
        task="shape",
        attribute="color",
        recipe=TrainingRecipe(epochs=1, batch_size=32, lr=lr),
        device=torch.device("cpu"),
        generator=generator,
        seed=0,
    )


def test_baseline_diverging_writes_nothing(tmp_path):
    prepared_path = tmp_path / "embedded.pt"
    tiny_embedded_prepared(0).save(prepared_path)
    config = validate_config(copy.deepcopy(TINY_CONFIG))
    config["training"]["lr"] = 1e6
    config["training"]["epochs"] = 3
    output = tmp_path / "models" / "baseline.pt"
    with pytest.raises(DivergenceError) as error:
        train_baseline(
            "embedded",
            "resnet18",
            0,
            prepared_path,
            output,
            task="shape",
            model_spec=config["models"]["resnet18"],
            recipe=training_recipe(config, "embedded"),
            device="cpu",
        )
    one_line(str(error.value), "training diverged", "epoch", "step", "lower the learning rate")
    assert not output.exists() and not Path(str(output) + ".inprogress").exists()
    nothing_half_written(tmp_path)


@pytest.mark.parametrize(
    "method, params, where",
    [
        ("adversarial", {"lr": 1e30, "epochs": 2}, "adversarial epoch"),
        ("leace", {"lr": 1e30, "classifier_epochs": 3}, "leace classifier refit epoch"),
        (
            "instance_unlearning",
            {"lr": 1e12, "max_steps": 30, "forget_set": "random", "forget_size": 16, "target_forget_accuracy": 0.0},
            "instance_unlearning step",
        ),
        ("detachment", {"lr": 1e30, "epochs": 2, "mode": "end_to_end"}, "detachment"),
    ],
    ids=["adversarial", "leace", "instance_unlearning", "detachment"],
)
def test_method_diverging_stops_with_the_step(method, params, where):
    prepared = tiny_embedded_prepared(0)
    model = build_split_model("resnet18", 4, "layer2")
    method_object = get_method_class(method)(params)
    with pytest.raises(DivergenceError) as error:
        method_object.unlearn(model, _context(prepared))
    one_line(str(error.value), "training diverged", where)


def test_recovery_decoder_diverging():
    from attrunlearn_core.jobs.image_recovery import RecoveryRecipe, fit_recovery_decoder

    h = torch.randn(64, 8, 4, 4)
    images = torch.randint(0, 256, (64, 3, 16, 16), dtype=torch.uint8)
    recipe = RecoveryRecipe(**{**{"epochs": 3, "batch_size": 16}, "lr": 1e9})
    with pytest.raises(DivergenceError) as error:
        fit_recovery_decoder(h, images, recipe, torch.Generator().manual_seed(0), torch.device("cpu"))
    one_line(str(error.value), "training diverged", "recovery decoder epoch")
