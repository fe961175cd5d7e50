"""Score one model on a labelled set: metrics.json and predictions. Three rules, each its own
case (``snakemake.rule``):

- ``evaluate``: a trained model of the sweep on every test set, against its teacher on held-out
  synthetic structures, with its training cost and MD stability;
- ``evaluate_zero_shot``: a pre-trained model, untouched but for its E0s re-centred on the
  subset (as fine-tuning would), the same way, without a training cost;
- ``evaluate_pretrain``: a pre-trained model against its teacher's held-out labels, and on the
  test structures against its teacher and the reference.
"""

import json
from pathlib import Path

from synthpt.e0s import recentred, residual_shift
from synthpt.evaluate import (
    barrier_error,
    cost,
    load_compiled,
    metrics,
    metrics_by_source,
    per_atom_agreement,
    predict_compiled,
    teacher_distance,
    with_predictions,
)
from synthpt.io import energy_forces, read_structures, validate_labels, write_json, write_structures
from synthpt.labelling import label_keys, per_atom_key
from synthpt.runtime import start_job
from synthpt.stability import stability

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)
ZERO_SHOT, PRETRAINED = "evaluate_zero_shot", "evaluate_pretrain"
assert sm.rule in ("evaluate", ZERO_SHOT, PRETRAINED), sm.rule

elements = sm.params.elements
energy_key, forces_key = label_keys(sm.params.labels)
device = sm.params.device
model = load_compiled(sm.input.model, device)
shift = None
if sm.rule == ZERO_SHOT:
    subset = read_structures(sm.input.subset)
    predicted, _ = predict_compiled(model, subset, device=device)
    reference = [energy_forces(a, energy_key, forces_key)[0] for a in subset]
    shift = residual_shift(subset, reference, predicted, elements)
    log.info("E0 shift from %s: %s", sm.input.subset, shift)


def predicted(path, nodes=None, require_forces=True):
    """A labelled set and the model's (energies, forces) on it, re-centred where zero-shot."""
    structures = read_structures(path)
    validate_labels(structures, path, energy_key, forces_key, elements, require_forces)
    energies, forces = predict_compiled(model, structures, device=device, nodes=nodes)
    if shift is not None:
        energies = recentred(structures, energies, shift, elements)
    return structures, energies, forces


def set_metrics(name, structures, energies, forces):
    """A test set's scores; on an ordered path (real.paths) its barrier error too."""
    scores = metrics(structures, energy_key, forces_key, energies, forces)
    if name in sm.params.paths:
        scores["barrier_error"] = barrier_error(structures, energy_key, energies)
    return scores


nodes = []
test, energies, forces = predicted(sm.input.test, nodes)
record = None if sm.rule == ZERO_SHOT else json.loads(Path(sm.input.record).read_text())
names = sm.params.test_sets
headline = set_metrics(names[0] if names else None, test, energies, forces)
scores = sm.params.identity | headline | cost(record)
if names:  # every named set in order (a list: JSON keys are sorted)
    scores["test_sets"] = [{"test_set": names[0], **headline}]
    others = zip(names[1:], sm.input.tests[1:], sm.output.set_predictions, strict=True)
    for name, path, output in others:
        structures, set_energies, set_forces = predicted(path, require_forces=False)
        scores["test_sets"].append(
            {"test_set": name} | set_metrics(name, structures, set_energies, set_forces)
        )
        write_structures(output, with_predictions(structures, set_energies, set_forces))
if sm.rule != PRETRAINED:  # against its teacher, where no real data reaches
    structures = read_structures(sm.input.synthetic)
    predictions = predict_compiled(model, structures, device=device)
    scores |= teacher_distance(structures, label_keys(sm.params.teacher), *predictions, elements)
if per_atom_key(sm.params.labels) in test[0].arrays:  # a teacher's per-atom energies
    scores |= per_atom_agreement(test, nodes, per_atom_key(sm.params.labels))
if sm.rule == PRETRAINED:  # also on the agreement structures
    from synthpt.aggregate import STUDENT, student_agreement

    scores |= metrics_by_source(test, energy_key, forces_key, energies, forces)  # a mixed set

    structures = read_structures(sm.input.agreement_set)
    predictions = predict_compiled(model, structures, device=device)
    student = with_predictions(structures, *predictions, prefix=STUDENT)
    scores |= student_agreement(student, sm.params.labels, sm.params.reference)
if sm.params.stability:
    settings = sm.params.stability
    scores |= stability(
        model, test[: settings["n_structures"]], settings, sm.params.seed, device=device
    )
write_structures(sm.output.predictions, with_predictions(test, energies, forces))
write_json(sm.output.metrics, scores)
log.info("%s: %s", sm.output.metrics, scores)
