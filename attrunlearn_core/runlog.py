"""Run a workflow step with its log file, turning user-facing errors into one line and exit 1."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

from attrunlearn_core.errors import AttrUnlearnError


def run_logged(log_path: str | Path | None, main: Callable[[], None]) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", handlers=handlers, force=True)
    try:
        main()
    except AttrUnlearnError as error:
        logging.getLogger("attrunlearn").error("%s", error)
        sys.exit(1)
