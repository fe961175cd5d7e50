"""Choose one mode's learning rate from its grid of tuning runs, by the validation loss."""

import json
from pathlib import Path

from synthpt.io import write_json
from synthpt.runtime import start_job
from synthpt.tuning import TuningRun, choose, tuning_row

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

n, seed = sm.params.subset
rows = [
    tuning_row(
        TuningRun.from_path(run),
        json.loads(Path(path).read_text()),
        sm.params.warmup_steps,
        n,
        seed,
    )
    for run, path in zip(sm.params.runs, sm.input, strict=True)
]
best = choose(rows)
for row in rows:
    row["chosen"] = row is best
write_json(sm.output[0], {"lr": best["lr"], "runs": rows})
log.info(
    "chosen lr %g (validation loss %.6g) of %s",
    best["lr"],
    best["best_valid_loss"],
    [r["lr"] for r in rows],
)
