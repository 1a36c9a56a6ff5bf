"""Snakemake's own linter over the workflow, failing on every lint but one.

The one let through asks for a conda environment or container per rule. The rules run in the Python environment
the suite is installed in (`make run` builds it from pyproject.toml, the one list of dependencies; a cluster's
jobs share it through the file system), and the suite ships no conda environment it does not test.
"""

import re
import subprocess
import sys

ALLOWED = {"Specify a conda environment or container for each rule."}


def unexpected_lints(output: str) -> list[str]:
    """'Lints for rule x (line, file): title' for every lint in the linter's output not in ALLOWED."""
    found, where = [], None
    for line in output.splitlines():
        if line.startswith("Lints for "):
            where = line.rstrip(":")
        bullet = re.match(r"^\s+\* (.+?):?$", line)
        if bullet and bullet.group(1) not in ALLOWED:
            found.append(f"{where}: {bullet.group(1)}")
    return found


def main() -> int:
    done = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], capture_output=True, text=True)
    output = done.stdout + done.stderr
    found = unexpected_lints(output)
    if found:
        print("\n".join(found))
        return 1
    if done.returncode not in (0, 1) or (done.returncode == 1 and "Lints for " not in output):
        print(output[-3000:])  # the linter itself failed (the workflow did not parse)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
