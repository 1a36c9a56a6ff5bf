"""Run a workflow job with its log file: user-facing errors become one line and exit 1; any other exception
is written with its traceback to the log, and the console gets one line naming the log."""

from __future__ import annotations

import logging
import sys
import traceback
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
    except Exception as error:  # a bug or a fault the suite does not know: its traceback belongs in the job's log
        summary = f"unexpected {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}".rstrip(": ")
        if not log_path:
            raise
        logging.shutdown()  # flushes and closes the log before the traceback is appended to it
        with open(log_path, "a") as log:
            log.write(f"{summary}\n{traceback.format_exc()}")
        print(f"attrunlearn: {log_path}: {summary} (its traceback is in that log)", file=sys.stderr)
        sys.exit(1)
