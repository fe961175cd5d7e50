"""Process set-up shared by the workflow's scripts: threads and logging."""

from __future__ import annotations

import logging
import os
import sys

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def set_threads(threads: int) -> None:
    """Pin OpenMP/BLAS/torch to ``threads``. Snakemake already exports these variables to a
    script job's environment (its rule's threads), so they hold from the job's first import."""
    for var in THREAD_VARIABLES:
        os.environ[var] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def _report_error(kind, error, traceback) -> None:
    """Write a job's fatal error to its log and, in one line, to the console."""
    sys.__excepthook__(kind, error, traceback)
    print(f"synthpt: {kind.__name__}: {error}", file=sys.__stderr__, flush=True)


def start_job(log_file: str, threads: int) -> logging.Logger:
    """Set the job's threads and send its logging, stdout and stderr to ``log_file`` (a fatal
    error also reaches the console)."""
    inherited = os.environ.get("OMP_NUM_THREADS")  # Snakemake's, set before the first import
    set_threads(threads)
    sys.stdout = sys.stderr = open(log_file, "a", buffering=1)
    sys.excepthook = _report_error
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
        force=True,
    )
    log = logging.getLogger("synthpt")
    log.info("threads %d (OpenMP from the start: %s)", threads, inherited)
    return log
