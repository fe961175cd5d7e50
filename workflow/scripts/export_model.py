"""Export one trained mode's model at the largest n: the seed with the lowest validation loss."""

import json
from pathlib import Path

from synthpt.export import best_by_validation, export_model
from synthpt.io import write_json
from synthpt.paths import ModelId
from synthpt.runtime import start_job

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

records = {
    model: json.loads(Path(path).read_text())
    for model, path in zip(sm.params.models, sm.input.records, strict=True)
}
chosen = best_by_validation(records)
index = sm.params.models.index(chosen)
metrics = json.loads(Path(sm.input.metrics[index]).read_text())
export_model(Path(sm.input.records[index]).parent, Path(sm.output.model).parent)
model = ModelId.from_path(chosen)
write_json(
    sm.output.choice,
    {
        "group": sm.wildcards.group,
        "model": chosen,
        **model.columns(),
        "best_valid_loss": records[chosen]["best_valid_loss"],
        "test_sets": metrics.get("test_sets", []),
        "candidates": {path: record["best_valid_loss"] for path, record in records.items()},
    },
)
log.info("exported %s (validation loss %.6g of %s)", chosen, records[chosen]["best_valid_loss"],
         {path: round(r["best_valid_loss"], 6) for path, r in records.items()})  # fmt: skip
