"""A tiny grid through the whole workflow: Parquet tables, MLflow runs, idempotent re-aggregation (grid `a` of
tests/tiny_grids.py: baseline-1 and detachment, two attributes, every attacker on both sites)."""

import pyarrow.parquet as pq
import pytest
from helpers import write_config
from mlflow.tracking import MlflowClient

from attrunlearn_core.attackers import get_attacker_class
from attrunlearn_core.config import grid_cells, validate_config
from attrunlearn_core.results_table import ATTACK_SUMMARY_SCHEMA, ATTACKS_SCHEMA, CELLS_SCHEMA, SUMMARY_SCHEMA

from workflow import snakemake


@pytest.fixture
def grid(tiny_grids):
    return tiny_grids.results("a"), tiny_grids.settings["a"]


def _runs(workdir):
    client = MlflowClient(tracking_uri=f"sqlite:///{workdir}/results/mlflow.db")
    experiment = client.get_experiment_by_name("attrunlearn-a")
    return client.search_runs([experiment.experiment_id], filter_string="tags.kind = 'cell'")


def test_tables_have_the_documented_schema_and_one_row_per_cell(grid):
    results, config = grid
    cells = pq.read_table(results / "tables/cells.parquet")
    attacks = pq.read_table(results / "tables/attacks.parquet")
    assert cells.schema.equals(CELLS_SCHEMA)
    assert attacks.schema.equals(ATTACKS_SCHEMA)
    expected = {c.path for c in grid_cells(validate_config(config))}
    assert set(cells.column("cell_id").to_pylist()) == expected and cells.num_rows == len(expected)
    rows = cells.to_pylist()
    attack_rows = attacks.to_pylist()
    for row in rows:
        assert 0.0 <= row["fidelity"] <= 1.0 and 0.0 < row["chance"] <= row["chance_given_task"] <= 1.0
        on_h = [a for a in attack_rows if (a["method"], a["attribute"]) == (row["method"], row["attribute"]) and a["site"] == "split"]
        assert row["efficacy"] == max(a["accuracy"] for a in on_h if a["pool_fraction"] == 1.0)
        assert row["efficacy_half_pool"] == max(a["accuracy"] for a in on_h if a["pool_fraction"] == 0.5)
        assert row["efficacy_still_climbing"] == (row["efficacy"] - row["efficacy_half_pool"] > 0.02)
    # color has 4 values, color+background 8: chance must reflect the joint attribute.
    by_attribute = {row["attribute"]: row for row in rows}
    assert by_attribute["color+background"]["chance"] < by_attribute["color"]["chance"]
    # every attacker on h, the vector attackers on penultimate features, each on the full and the half pool.
    names = config["attackers"]["names"]
    on_vectors = [name for name in names if not get_attacker_class(name).needs_map]
    assert attacks.num_rows == (len(names) + len(on_vectors)) * 2 * len(expected)
    for a in attack_rows:
        assert a["wilson_low"] <= a["accuracy"] <= a["wilson_high"] and a["num_correct"] == round(a["accuracy"] * a["num_test"])
    # the pool is attacker-train plus train, attacker-test never in it
    splits = config["datasets"]["embedded"]["splits"]
    assert {a["num_train"] for a in attack_rows if a["pool_fraction"] == 1.0} == {splits["attacker_train"] + splits["train"]}


def test_summary_has_one_row_per_method_and_attribute_over_seeds(grid):
    results, config = grid
    summary = pq.read_table(results / "tables/summary.parquet")
    attack_summary = pq.read_table(results / "tables/attack_summary.parquet")
    assert summary.schema.equals(SUMMARY_SCHEMA) and attack_summary.schema.equals(ATTACK_SUMMARY_SCHEMA)
    cells = pq.read_table(results / "tables/cells.parquet").to_pandas().set_index(["method", "attribute"])
    assert summary.num_rows == len(cells)  # one seed
    for row in summary.to_pylist():
        assert row["n_seeds"] == len(config["grid"]["seeds"])
        assert row["efficacy_mean"] == cells.loc[(row["method"], row["attribute"]), "efficacy"]
    assert attack_summary.num_rows == pq.read_table(results / "tables/attacks.parquet").num_rows


def test_one_mlflow_run_per_cell_with_axes_as_tags(tiny_grids):
    runs = _runs(tiny_grids.workdir)
    methods = tiny_grids.settings["a"]["methods"]
    assert sorted(run.data.tags["cell_id"] for run in runs) == sorted(c.path for c in grid_cells(validate_config(tiny_grids.settings["a"])))
    for run in runs:
        assert {"dataset", "model", "attribute", "method", "seed"} <= set(run.data.tags)
        assert {"fidelity", "efficacy", "chance", "aum"} <= set(run.data.metrics)
        assert run.data.params["method.name"] == methods[run.data.tags["method"]]["method"]


def test_rerunning_aggregate_does_not_duplicate_runs(tiny_grids):
    workdir, configfile = tiny_grids.workdir, tiny_grids.configs["a"]
    before = {r.info.run_id for r in _runs(workdir)}
    result = snakemake(workdir, configfile, "--cores", "1", "--forcerun", "aggregate")
    assert result.returncode == 0, result.stderr[-2000:]
    assert {r.info.run_id for r in _runs(workdir)} == before


def test_a_finished_grid_has_nothing_left_to_do(tiny_grids):
    result = snakemake(tiny_grids.workdir, tiny_grids.configs["a"], "-n")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def test_missing_data_stops_prepare_with_one_line_and_no_output(tmp_path, tiny_config):
    tiny_config["datasets"]["embedded"].update(loader="cifar10", root=str(tmp_path / "no-such-cifar"), task="living", attributes=["class"])
    configfile = write_config(tiny_config, tmp_path / "missing.yaml")
    result = snakemake(tmp_path, configfile, "--cores", "1")
    assert result.returncode != 0
    log = (tmp_path / "results/default/logs/prepare/embedded.log").read_text().strip().splitlines()
    assert len(log) == 1 and "no-such-cifar" in log[0] and "ERROR" in log[0] and "Traceback" not in log[0]
    assert not list((tmp_path / "results/default").glob("prepared/*"))
