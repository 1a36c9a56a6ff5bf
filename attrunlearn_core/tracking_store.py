"""Checks, at DAG build, that the MLflow tracking store can be written before any job trains.

Standard library only: the DAG build must not pay for importing mlflow. A sqlite store must be a database (or not
exist yet); an http(s) server must answer its /health endpoint. Other stores are left to MLflow.
"""

from __future__ import annotations

import sqlite3
import urllib.error
import urllib.request
from pathlib import Path

from attrunlearn_core.errors import EnvironmentFault

SERVER_TIMEOUT_S = 5


def sqlite_path(uri: str) -> Path | None:
    """The file of a `sqlite:///relative` or `sqlite:////absolute` URI; None for an in-memory or other store."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///") :].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def check_tracking_store(uri: str, source: str = "config") -> None:
    path = sqlite_path(uri)
    if path is not None:
        if not path.exists():
            return
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
                connection.execute("SELECT name FROM sqlite_master LIMIT 1").fetchall()
        except sqlite3.DatabaseError as error:
            raise EnvironmentFault(
                f"{source}: mlflow.tracking_uri {uri}: {path} is not a usable MLflow store ({error}); move it aside to start a new one"
            ) from None
        return
    if uri.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=SERVER_TIMEOUT_S):
                pass
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise EnvironmentFault(
                f"{source}: mlflow.tracking_uri {uri}: the tracking server does not answer ({reason}); start it or point tracking_uri elsewhere"
            ) from None
