"""`base:` configs: a study grid states how it differs from the grid it studies, and is merged over it when loaded."""

from __future__ import annotations

import pytest
import yaml
from helpers import REPO

from attrunlearn_core.config import load_config, read_config_file, validate_config
from attrunlearn_core.config_base import merge_over
from attrunlearn_core.errors import ConfigError

from workflow import job_counts, snakemake

BASED = sorted(path for path in (REPO / "configs").glob("*.yaml") if "base" in read_config_file(path))


def test_mappings_merge_key_by_key_methods_are_replaced_whole_and_null_removes():
    base = {"methods": {"a": {"method": "x", "params": {"p": 1, "q": 2}}, "b": {"method": "y"}}, "training": {"epochs": 20, "lr": 1}, "recovery": {}}
    overlay = {"methods": {"a": {"method": "x", "params": {"p": 5}}, "b": None}, "training": {"lr": 2}, "recovery": None, "seed": 1}
    assert merge_over(base, overlay) == {"methods": {"a": {"method": "x", "params": {"p": 5}}}, "training": {"epochs": 20, "lr": 2}, "seed": 1}
    assert base["training"] == {"epochs": 20, "lr": 1}  # the base itself is untouched


def test_the_study_grids_are_overlays_on_the_default_grid():
    assert {path.name for path in BASED} >= {"levers.yaml", "adversarial.yaml", "sweep.yaml", "hsic.yaml", "fronts.yaml", "learning_curve.yaml"}


@pytest.mark.parametrize("path", BASED, ids=lambda p: p.name)
def test_a_based_config_is_its_base_plus_its_overlay_and_states_only_differences(path):
    overlay = read_config_file(path)
    base_path = (path.parent / overlay["base"]).resolve()
    base = read_config_file(base_path)
    expected = validate_config(merge_over(base, {k: v for k, v in overlay.items() if k != "base"}), str(path))
    assert load_config(path) == expected
    for key, value in overlay.items():  # no copied block: what the overlay states differs from the base
        if key not in ("base", "methods", "grid") and isinstance(value, dict) and isinstance(base.get(key), dict):
            assert all(base[key].get(sub) != sub_value for sub, sub_value in value.items()), f"{path.name}: {key} repeats its base"
        elif key not in ("base", "methods", "grid"):
            assert base.get(key) != value, f"{path.name}: {key} repeats its base"


def _overlay(tmp_path, **keys) -> object:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({"base": str(REPO / "config.yaml"), **keys}))
    return path


def test_snakemake_merges_the_base_and_keeps_command_line_overrides(tmp_path):
    grid = {"datasets": ["embedded"], "models": ["resnet18"], "methods": ["original", "leace"], "seeds": [0]}
    path = _overlay(tmp_path, name="study", seed=1, efficiency=None, grid=grid)
    result = snakemake(tmp_path, path, "-n", "--config", "name=renamed")
    assert result.returncode == 0, result.stderr[-2000:]
    counts = job_counts(result.stdout)
    assert counts["unlearn"] == 2 and counts["train_baseline"] == 1 and "measure_efficiency" not in counts
    assert "results/renamed/" in result.stdout and "results/study/" not in result.stdout


@pytest.mark.parametrize(
    "base, fragment",
    [
        ("missing.yaml", "base: missing.yaml is not a file"),
        ("study.yaml", "base: study.yaml leads back to study.yaml"),
        (7, "base: 7 must be the path of another config file"),
    ],
)
def test_a_bad_base_is_one_line(tmp_path, base, fragment):
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({"base": base, "name": "study"}))
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert fragment in str(error.value) and str(error.value).startswith(str(path)) and "\n" not in str(error.value)
    result = snakemake(tmp_path, path, "-n")
    assert result.returncode != 0 and [line for line in result.stderr.splitlines() if line.startswith("attrunlearn:")] == [
        f"attrunlearn: {error.value}"
    ]
