"""The README's entry point (`make run`): Snakemake, so that the same command alone finishes a
campaign after any kill. A lock left by a killed run on this host is released (Snakemake's own
lock records no process), and incomplete outputs are redone (``--rerun-incomplete``).

Usage: ``python -m synthpt.launch [snakemake arguments]`` from the repository root.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

RUNS = ".snakemake/synthpt-runs"  # one record per launched Snakemake process
LOCKS = ".snakemake/locks"


def working_directory(arguments: list[str]) -> Path:
    """Snakemake's working directory: ``--directory``/``-d`` if given, else this one."""
    for i, argument in enumerate(arguments):
        if argument in ("--directory", "-d") and i + 1 < len(arguments):
            return Path(arguments[i + 1])
        if argument.startswith("--directory="):
            return Path(argument.split("=", 1)[1])
    return Path()


def start_time(pid: int) -> str | None:
    """The kernel's start time of process ``pid`` (None: no such process, or a killed one not
    yet reaped); with the pid it names a process uniquely, even after the pid is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else fields[19]


def this_process() -> dict:
    return {"host": socket.gethostname(), "pid": os.getpid(), "start": start_time(os.getpid())}


def is_gone(run: dict) -> bool | None:
    """Whether the recorded Snakemake process has ended; None where this host cannot tell."""
    if run.get("host") != socket.gethostname():
        return None
    return start_time(run["pid"]) != run["start"]


def stale_lock(workdir: Path) -> list[dict] | None:
    """The records of ended runs when every run that may hold the lock in ``workdir`` has
    ended on this host (the lock is theirs, left by a kill); None when there is no lock or it
    may belong to a live run."""
    runs_dir, locks_dir = workdir / RUNS, workdir / LOCKS
    runs = []
    for path in sorted(runs_dir.glob("*.json")) if runs_dir.is_dir() else []:
        try:
            runs.append(json.loads(path.read_text()) | {"path": path})
        except (OSError, ValueError):
            path.unlink(missing_ok=True)  # torn by the kill
    gone = [run for run in runs if is_gone(run)]
    for run in gone:
        run["path"].unlink(missing_ok=True)
    if len(gone) < len(runs) or not gone or not any(locks_dir.glob("*")):
        return None
    return gone


CONFIG_SUFFIXES = (".yaml", ".yml", ".json")


def misplaced_targets(arguments: list[str]) -> list[str]:
    """Targets given where Snakemake reads config files: ``--configfile`` takes every word up
    to the next option (or ``--``), so ``--configfile my.yaml results/...`` reads the target
    as a second config file."""
    misplaced, reading = [], False
    for argument in arguments:
        if argument == "--":
            break
        if argument.startswith("-"):
            reading = argument in ("--configfile", "--configfiles")
            continue
        if reading and not argument.endswith(CONFIG_SUFFIXES):
            misplaced.append(argument)
    return misplaced


def main(arguments: list[str]) -> None:
    if misplaced := misplaced_targets(arguments):
        sys.exit(
            f"synthpt: {misplaced} after --configfile would be read as config files: put targets"
            f' after `--`, e.g. make run ARGS="--configfile my.yaml -- {misplaced[0]}"'
        )
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    workdir = working_directory(arguments)
    if (gone := stale_lock(workdir)) is not None:
        pids = ", ".join(str(run["pid"]) for run in gone)
        print(f"synthpt: releasing the lock left by a killed Snakemake run (pid {pids})")
        subprocess.run([snakemake, "--unlock", *arguments], check=True, capture_output=True)
    (workdir / RUNS).mkdir(parents=True, exist_ok=True)
    me = this_process()
    (workdir / RUNS / f"{me['host']}-{me['pid']}.json").write_text(json.dumps(me))
    os.execv(snakemake, [snakemake, "--rerun-incomplete", *arguments])  # same pid: the record holds


if __name__ == "__main__":
    main(sys.argv[1:])
