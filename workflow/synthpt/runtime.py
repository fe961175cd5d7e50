"""Process set-up shared by the workflow's scripts: threads and logging."""

from __future__ import annotations

import logging
import os
import sys

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def set_threads(threads: int) -> None:
    """Pin OpenMP/BLAS/torch to ``threads``; call before torch or numpy work starts."""
    for var in THREAD_VARIABLES:
        os.environ[var] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def start_job(log_file: str, threads: int) -> logging.Logger:
    """Set the job's threads and send its logging, stdout and stderr to ``log_file``."""
    set_threads(threads)
    sys.stdout = sys.stderr = open(log_file, "a", buffering=1)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
        force=True,
    )
    return logging.getLogger("synthpt")
