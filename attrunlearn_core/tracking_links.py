"""Where each grid's runs open in `mlflow ui`: `python -m attrunlearn_core.tracking_links [STORE] [SERVER]`.

MLflow 3's UI shows an experiment on its GenAI overview (traces, token usage) unless the browser has picked
"Model training" at the top left, or the address says `workflowType=machine_learning`; the experiment's
`mlflow.experimentKind` tag does not decide it (checked in a browser against MLflow 3.17). So the runs page of a
grid is its experiment's address with that query, and `make ui` prints one per grid before it starts the UI.
"""

from __future__ import annotations

import sys

from attrunlearn_core.errors import AttrUnlearnError
from attrunlearn_core.tracking_store import sqlite_path

RUNS_VIEW = "workflowType=machine_learning"
DEFAULT_STORE = "sqlite:///results/mlflow.db"
DEFAULT_SERVER = "http://127.0.0.1:5000"


def runs_page(experiment_id: str, server: str = DEFAULT_SERVER) -> str:
    return f"{server.rstrip('/')}/#/experiments/{experiment_id}?{RUNS_VIEW}"


def grid_runs_pages(tracking_uri: str, server: str = DEFAULT_SERVER) -> list[tuple[str, str]]:
    """(experiment name, its runs page) for every grid's experiment in the store, by name."""
    from mlflow.tracking import MlflowClient

    from attrunlearn_core.tracking import EXPERIMENT_KIND

    path = sqlite_path(tracking_uri)
    if path is not None and not path.exists():
        raise AttrUnlearnError(f"{path}: no MLflow store yet (run a grid first: make run)")
    kind, value = EXPERIMENT_KIND
    experiments = MlflowClient(tracking_uri=tracking_uri).search_experiments(filter_string=f"tags.`{kind}` = '{value}'")
    return sorted((experiment.name, runs_page(experiment.experiment_id, server)) for experiment in experiments)


def main(argv: list[str]) -> int:
    store = argv[0] if argv else DEFAULT_STORE
    server = argv[1] if len(argv) > 1 else DEFAULT_SERVER
    try:
        pages = grid_runs_pages(store, server)
    except AttrUnlearnError as error:
        print(f"attrunlearn: {error}", file=sys.stderr)
        return 1
    if not pages:
        print(f"attrunlearn: {store} holds no grid's runs yet", file=sys.stderr)
    for name, url in pages:
        print(f"{name}: {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
