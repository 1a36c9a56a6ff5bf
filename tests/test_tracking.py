"""MLflow tracking: a parent run per grid with nested cells, provenance tags, tables on the parent, no duplicates."""

from __future__ import annotations

import hashlib
import subprocess

import pandas as pd
import pytest
from helpers import REPO
from mlflow.tracking import MlflowClient

from attrunlearn_core.errors import ConfigError
from attrunlearn_core.tracking import GIT_COMMIT_TAG, PARENT_ID_TAG, GridInfo, file_digest, git_commit, grid_info, log_cell_runs, log_grid_tables
from attrunlearn_core.tracking_links import grid_runs_pages
from attrunlearn_core.tracking_links import main as tracking_links_main


def cell(cell_id: str, fidelity: float) -> dict:
    dataset, model, attribute, method, seed = cell_id.split("/")
    row = {
        "dataset": dataset,
        "model": model,
        "attribute": attribute,
        "method": method,
        "seed": int(seed[4:]),
        "cell_id": cell_id,
        "fidelity": fidelity,
        "efficacy": 0.5,
        "method_name": method,
    }
    return {"row": row, "params": {"method.name": method}, "artifacts": []}


CELLS = ["embedded/resnet18/color/original/seed0", "embedded/resnet18/color/leace/seed0"]
GRID = GridInfo("default", "0123abc", {"embedded": "feedbeef"})


@pytest.fixture
def store(tmp_path):
    return f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "default" / "mlflow-artifacts"


def runs(uri: str, experiment: str, kind: str) -> list:
    client = MlflowClient(tracking_uri=uri)
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    return client.search_runs([experiment_id], filter_string=f"tags.kind = '{kind}'")


def test_cells_are_nested_under_one_parent_run_with_commit_and_data_digest(store):
    uri, root = store
    counts = log_cell_runs(uri, "exp", root, [cell(c, 0.9) for c in CELLS], grid=GRID)
    (parent,) = runs(uri, "exp", "grid")
    assert counts == {"created": 2, "kept": 0, "parent_run_id": parent.info.run_id}
    assert parent.data.tags["grid"] == "default" and parent.data.tags[GIT_COMMIT_TAG] == "0123abc"
    assert parent.data.tags["data_digest.embedded"] == "feedbeef"
    children = runs(uri, "exp", "cell")
    assert sorted(r.data.tags["cell_id"] for r in children) == sorted(CELLS)
    assert {r.data.tags[PARENT_ID_TAG] for r in children} == {parent.info.run_id}
    assert {r.data.tags["data_digest"] for r in children} == {"feedbeef"}
    assert parent.info.artifact_uri.startswith(root.resolve().as_uri())


def test_rerunning_keeps_every_run_and_replaces_only_a_changed_cell(store):
    uri, root = store
    log_cell_runs(uri, "exp", root, [cell(c, 0.9) for c in CELLS], grid=GRID)
    before = {r.data.tags["cell_id"]: r.info.run_id for r in runs(uri, "exp", "cell")}
    parent = runs(uri, "exp", "grid")[0].info.run_id
    again = log_cell_runs(uri, "exp", root, [cell(c, 0.9) for c in CELLS], grid=GridInfo("default", "4567def", {"embedded": "feedbeef"}))
    assert (again["created"], again["kept"], again["parent_run_id"]) == (0, 2, parent)
    assert runs(uri, "exp", "grid")[0].data.tags[GIT_COMMIT_TAG] == "4567def"  # the parent follows the code
    changed = log_cell_runs(uri, "exp", root, [cell(CELLS[0], 0.9), cell(CELLS[1], 0.7)], grid=GRID)
    assert (changed["created"], changed["kept"]) == (1, 1)
    after = {r.data.tags["cell_id"]: r.info.run_id for r in runs(uri, "exp", "cell")}
    assert after[CELLS[0]] == before[CELLS[0]] and after[CELLS[1]] != before[CELLS[1]] and len(after) == 2
    assert len(runs(uri, "exp", "grid")) == 1


def test_two_grids_in_one_store_get_their_own_experiments_and_parents(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    log_cell_runs(uri, "attrunlearn-a", tmp_path / "a" / "mlflow-artifacts", [cell(CELLS[0], 0.9)], grid=GridInfo("a"))
    log_cell_runs(uri, "attrunlearn-b", tmp_path / "b" / "mlflow-artifacts", [cell(CELLS[0], 0.8)], grid=GridInfo("b"))
    for name in ("a", "b"):
        (parent,) = runs(uri, f"attrunlearn-{name}", "grid")
        (child,) = runs(uri, f"attrunlearn-{name}", "cell")
        assert parent.data.tags["grid"] == name and child.data.tags[PARENT_ID_TAG] == parent.info.run_id
    assert runs(uri, "attrunlearn-b", "cell")[0].data.metrics["fidelity"] == 0.8


def test_an_experiment_keeping_another_grids_artifacts_is_a_one_line_error(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    log_cell_runs(uri, "shared", tmp_path / "a" / "mlflow-artifacts", [cell(CELLS[0], 0.9)], grid=GridInfo("a"))
    with pytest.raises(ConfigError, match=r"^mlflow\.experiment: experiment 'shared' keeps its artifacts in .*/a/mlflow-artifacts") as error:
        log_cell_runs(uri, "shared", tmp_path / "b" / "mlflow-artifacts", [cell(CELLS[0], 0.9)], grid=GridInfo("b"))
    assert "\n" not in str(error.value)


def test_summary_tables_are_artifacts_of_the_parent_and_replaced_on_rerun(store, tmp_path):
    uri, root = store
    log_cell_runs(uri, "exp", root, [cell(c, 0.9) for c in CELLS], grid=GRID)
    summary = tmp_path / "summary.parquet"
    pd.DataFrame({"method": ["original", "leace"], "fidelity_mean": [0.9, 0.8]}).to_parquet(summary)
    parent = log_grid_tables(uri, "exp", root, GridInfo("default"), [summary])
    pd.DataFrame({"method": ["original", "leace"], "fidelity_mean": [0.9, 0.7]}).to_parquet(summary)
    assert log_grid_tables(uri, "exp", root, GridInfo("default"), [summary]) == parent
    client = MlflowClient(tracking_uri=uri)
    assert sorted(a.path for a in client.list_artifacts(parent, "tables")) == ["tables/summary.csv", "tables/summary.parquet"]
    logged = pd.read_csv(client.download_artifacts(parent, "tables/summary.csv", str(tmp_path / "download")))
    assert logged["fidelity_mean"].tolist() == [0.9, 0.7]
    assert len(runs(uri, "exp", "grid")) == 1 and runs(uri, "exp", "grid")[0].data.tags[GIT_COMMIT_TAG] == "0123abc"


def test_grid_info_digests_the_prepared_data_and_reads_the_commit(tmp_path):
    prepared = tmp_path / "embedded.pt"
    prepared.write_bytes(b"prepared tensors")
    info = grid_info("default", {"embedded": prepared}, code_dir=REPO)
    assert info.data_digests == {"embedded": hashlib.sha256(b"prepared tensors").hexdigest()[:16]} == {"embedded": file_digest(prepared)}
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert info.git_commit in (head, head + "-dirty")
    assert git_commit(tmp_path) is None  # not a git repository


def test_every_grid_experiment_gets_a_runs_page_address_and_other_experiments_none(store, capsys):
    uri, root = store
    client = MlflowClient(tracking_uri=uri)
    client.create_experiment("older", artifact_location=root.resolve().as_uri())  # as a store made before the tag
    client.create_experiment("someone-elses-traces")
    log_cell_runs(uri, "exp", root, [cell(CELLS[0], 0.9)], grid=GRID)
    log_cell_runs(uri, "older", root, [cell(CELLS[0], 0.9)], grid=GRID)
    for name in ("exp", "older"):
        assert client.get_experiment_by_name(name).tags["mlflow.experimentKind"] == "custom_model_development"
    pages = grid_runs_pages(uri, "http://host:5000/")
    ids = {name: client.get_experiment_by_name(name).experiment_id for name in ("exp", "older")}
    assert pages == [(name, f"http://host:5000/#/experiments/{ids[name]}?workflowType=machine_learning") for name in ("exp", "older")]
    assert tracking_links_main([uri]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"{name}: http://127.0.0.1:5000/#/experiments/{ids[name]}?workflowType=machine_learning" for name in ("exp", "older")]


def test_runs_pages_of_a_store_not_yet_made_is_one_line_and_exit_1(tmp_path, capsys):
    assert tracking_links_main([f"sqlite:///{tmp_path / 'none.db'}"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "none.db: no MLflow store yet" in error
    assert not (tmp_path / "none.db").exists()
