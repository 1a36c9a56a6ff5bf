"""The `sweep:` block (the paper's Fig. 6): expansion to grid methods, the DAG it builds, and the AUM heat map."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
from helpers import TINY_CONFIG, write_config
from PIL import Image

from attrunlearn_core.config import expand_sweep, grid_cells, sweep_method_name, sweep_point, sweeps_all_lambdas, validate_config
from attrunlearn_core.errors import ConfigError
from attrunlearn_core.figures.sweep_heatmap import sweep_frame, write_sweep_heatmap

from workflow import job_counts, snakemake

SWEEP = {"base": "detachment_local", "params": {"lambda_x": [0.1, 1.0], "lambda_y": [1.0], "lambda_z": [0.01, 1e-5]}}


def sweep_config() -> dict:
    config = copy.deepcopy(TINY_CONFIG)
    config["methods"]["detachment_local"] = {"method": "detachment", "params": {"mode": "local", "epochs": 1}}
    config["sweep"] = copy.deepcopy(SWEEP)
    return config


def test_a_sweep_expands_to_named_grid_methods_over_the_base_params():
    config = validate_config(sweep_config(), "sweep.yaml")
    names = [m for m in config["grid"]["methods"] if m != "original"]
    assert names == [
        "detachment_local__lambda_x=0.1__lambda_y=1__lambda_z=0.01",
        "detachment_local__lambda_x=0.1__lambda_y=1__lambda_z=1e-05",
        "detachment_local__lambda_x=1__lambda_y=1__lambda_z=0.01",
        "detachment_local__lambda_x=1__lambda_y=1__lambda_z=1e-05",
    ]
    assert config["methods"][names[1]] == {
        "method": "detachment",
        "params": {"mode": "local", "epochs": 1, "lambda_x": 0.1, "lambda_y": 1.0, "lambda_z": 1e-5},
    }
    assert len(grid_cells(config)) == 5 * 2  # original + 4 sweep points, two attributes
    before = copy.deepcopy(config)
    expand_sweep(config)
    assert config == before  # idempotent: Snakemake and the library may both validate the same dict


def test_a_sweep_name_gives_back_its_values():
    name = sweep_method_name("detachment_local", {"lambda_x": 0.1, "lambda_z": 1e-5, "concurrent": False, "epochs": 3})
    assert sweep_point(name) == ("detachment_local", {"lambda_x": 0.1, "lambda_z": 1e-5, "concurrent": False, "epochs": 3})
    assert sweep_point("leace") == ("leace", {})


@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (lambda c: c["sweep"].update(base="nope"), "sweep.base"),
        (lambda c: c["sweep"]["params"].update(lambda_x=0.1), "sweep.params.lambda_x"),
        (lambda c: c["sweep"]["params"].update(lambda_q=[1.0]), "lambda_q"),
    ],
)
def test_a_bad_sweep_is_one_line_naming_the_key(mutate, fragment):
    config = sweep_config()
    mutate(config)
    with pytest.raises(ConfigError) as error:
        validate_config(config, "sweep.yaml")
    assert fragment in str(error.value) and "\n" not in str(error.value)


def test_a_list_of_sweeps_expands_each_base_for_one_front_per_method():
    config = sweep_config()
    config["methods"]["adversarial"] = {"method": "adversarial", "params": {"epochs": 1}}
    config["sweep"] = [
        {"base": "detachment_local", "params": {"lambda_z": [0.1, 1.0]}},
        {"base": "adversarial", "params": {"adversary_weight": [1.0, 3.0]}},
    ]
    config = validate_config(config, "fronts.yaml")
    assert config["grid"]["methods"][1:] == [
        "detachment_local__lambda_z=0.1",
        "detachment_local__lambda_z=1",
        "adversarial__adversary_weight=1",
        "adversarial__adversary_weight=3",
    ]
    assert config["methods"]["adversarial__adversary_weight=3"] == {"method": "adversarial", "params": {"epochs": 1, "adversary_weight": 3.0}}
    assert not sweeps_all_lambdas(config) and sweeps_all_lambdas(sweep_config())


@pytest.mark.parametrize(
    "second, fragment",
    [
        ({"base": "nope", "params": {"lambda_z": [1.0]}}, "fronts.yaml: sweep.1.base: 'nope' is not defined under methods"),
        ({"base": "detachment_local", "params": {"lambda_z": 1.0}}, "fronts.yaml: sweep.1.params.lambda_z: 1.0 is not of type 'array'"),
        ({"base": "detachment_local"}, "fronts.yaml: sweep.1: 'params' is a required property"),
    ],
)
def test_a_bad_block_in_a_list_of_sweeps_is_named_by_its_position(second, fragment):
    config = sweep_config()
    config["sweep"] = [copy.deepcopy(SWEEP), second]
    with pytest.raises(ConfigError) as error:
        validate_config(config, "fronts.yaml")
    assert str(error.value).startswith(fragment) and "\n" not in str(error.value)


def test_the_dag_treats_sweep_points_as_ordinary_methods(tmp_path):
    result = snakemake(tmp_path, write_config(sweep_config(), tmp_path / "sweep.yaml"), "-n")
    assert result.returncode == 0, result.stderr[-2000:]
    counts = job_counts(result.stdout)
    assert counts["unlearn"] == 5 * 2 and counts["image_recovery"] == 4 * 2 and counts["train_baseline"] == 1
    assert "detachment_local__lambda_x=1__lambda_y=1__lambda_z=1e-05" in result.stdout
    assert counts["sweep_heatmap"] == 1 and "results/default/figures/sweep_heatmap.png" in result.stdout


def test_only_a_sweep_over_all_three_lambdas_draws_the_heat_map(tmp_path):
    config = sweep_config()
    del config["sweep"]["params"]["lambda_y"]
    result = snakemake(tmp_path, write_config(config, tmp_path / "sweep.yaml"), "-n")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "sweep_heatmap" not in job_counts(result.stdout)


def synthetic_summary() -> pd.DataFrame:
    rows = []
    for lx in (0.1, 1.0):
        for ly in (0.1, 1.0, 10.0):
            for lz in (0.01, 0.1):
                rows.append(
                    {
                        "method": sweep_method_name("detachment_local", {"lambda_x": lx, "lambda_y": ly, "lambda_z": lz}),
                        "aum_mean": round(0.1 * lx + 0.01 * ly + lz, 4),
                    }
                )
    rows.append({"method": "leace", "aum_mean": 0.5})
    frame = pd.DataFrame(rows)
    return frame.assign(dataset="embedded", model="resnet18", attribute="color", method_name="detachment", n_seeds=3, aum_std=0.01)


def test_heat_map_of_a_synthetic_summary_has_one_panel_per_lambda_1(tmp_path):
    output = tmp_path / "sweep.png"
    frame = write_sweep_heatmap(synthetic_summary(), output)
    assert len(frame) == 12 and sorted(frame["lambda_x"].unique()) == [0.1, 1.0]
    point = frame[(frame.lambda_x == 1.0) & (frame.lambda_y == 10.0) & (frame.lambda_z == 0.1)]
    assert point["aum_mean"].item() == pytest.approx(0.1 + 0.1 + 0.1)
    with Image.open(output) as image:
        assert image.format == "PNG" and image.size[0] > image.size[1]  # two panels side by side
    assert list(tmp_path.iterdir()) == [output]  # written atomically, nothing else left behind


def test_heat_map_takes_a_mapping_when_names_carry_no_values(tmp_path):
    summary = pd.DataFrame({"dataset": "d", "model": "m", "attribute": "a", "method": ["s1", "s2", "other"], "aum_mean": [0.2, 0.4, 0.9]})
    points = {"s1": {"lambda_x": 1, "lambda_y": 1, "lambda_z": 0.1}, "s2": {"lambda_x": 1, "lambda_y": 1, "lambda_z": 1}}
    frame = write_sweep_heatmap(summary, tmp_path / "s.png", points)
    assert frame["aum_mean"].tolist() == [0.2, 0.4]
    assert sweep_frame(summary).empty


def test_heat_map_without_sweep_rows_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no sweep methods"):
        write_sweep_heatmap(
            pd.DataFrame({"dataset": ["d"], "model": ["m"], "attribute": ["a"], "method": ["leace"], "aum_mean": [0.5]}), tmp_path / "s.png"
        )
    assert not (tmp_path / "s.png").exists()
