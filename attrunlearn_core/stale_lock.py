"""Before a run: remove Snakemake's directory lock when the run that held it is dead (e.g. after `kill -9`).

Snakemake locks a working directory for as long as it runs and removes the lock when it ends; a killed run
leaves the lock behind and the next run is refused. The lock is stale exactly when no snakemake process
works in that directory any more. While one does, the lock is kept, so two concurrent runs are still
refused (here, with one line). Linux: processes are read from /proc.

    python -m attrunlearn_core.stale_lock [workdir]
"""

from __future__ import annotations

import os
import sys
from itertools import pairwise
from pathlib import Path

from attrunlearn_core.errors import AttrUnlearnError


def _argv(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def _is_snakemake(argv: list[str]) -> bool:
    names = [os.path.basename(arg) for arg in argv[:3]]
    return "snakemake" in names or any(a == "-m" and b == "snakemake" for a, b in pairwise(argv))


def _workdir_of(pid: int, argv: list[str]) -> Path | None:
    try:
        cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None
    for flag in ("--directory", "-d"):
        if flag in argv[:-1]:
            return (cwd / argv[argv.index(flag) + 1]).resolve()
        prefixed = [arg for arg in argv if arg.startswith(flag + "=")]
        if prefixed:
            return (cwd / prefixed[0].split("=", 1)[1]).resolve()
    return cwd.resolve()


def live_snakemake_pids(workdir: str | os.PathLike) -> list[int]:
    """Snakemake processes (other than this one) whose working directory is `workdir`."""
    workdir = Path(workdir).resolve()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        argv = _argv(int(entry.name))
        if argv and _is_snakemake(argv) and _workdir_of(int(entry.name), argv) == workdir:
            pids.append(int(entry.name))
    return sorted(pids)


# Snakemake invocations that read the directory without taking its lock: they may run beside a live run.
READ_ONLY_OPTIONS = {"--dry-run", "--dryrun", "--lint", "--report", "--summary", "--detailed-summary", "--dag", "--rulegraph", "--filegraph"}
READ_ONLY_PREFIXES = ("--list",)


def reads_only(argv: list[str]) -> bool:
    """Whether a snakemake command line takes no lock: a dry run (`-n`, also inside `-np`), a lint, a report, a
    summary, a graph or a listing."""
    for word in argv[1:]:
        if word in READ_ONLY_OPTIONS or word.startswith(READ_ONLY_PREFIXES) or word.split("=")[0] in READ_ONLY_OPTIONS:
            return True
        if word.startswith("-") and not word.startswith("--") and "n" in word[1:]:
            return True
    return False


def clear_stale_lock(workdir: str | os.PathLike, reading_only: bool = False) -> bool:
    """True when a stale lock was removed; AttrUnlearnError when a live run holds the directory, unless this run
    only reads it (`reading_only`: a dry run, lint or report, which Snakemake runs without the lock)."""
    locks = Path(workdir) / ".snakemake" / "locks"
    held = sorted(locks.glob("*.lock")) if locks.is_dir() else []
    if not held:
        return False
    alive = live_snakemake_pids(workdir)
    if alive and reading_only:
        return False
    if alive:
        raise AttrUnlearnError(
            f"{locks}: another snakemake run (pid {alive[0]}) is working in {Path(workdir).resolve()}; wait for it to finish or stop it first"
        )
    for lock in held:
        lock.unlink(missing_ok=True)
    return True


def main(argv: list[str]) -> int:
    workdir = argv[0] if argv else "."
    try:
        if clear_stale_lock(workdir):
            print(f"attrunlearn: removed the stale lock of a killed run in {Path(workdir).resolve()}; resuming", file=sys.stderr)
    except AttrUnlearnError as error:
        print(f"attrunlearn: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
