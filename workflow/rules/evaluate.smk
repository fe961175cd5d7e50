rule evaluate:
    input:
        model=f"{RESULTS}/{model_dir('{model}')}/mace_compiled.model",
        record=f"{RESULTS}/{model_dir('{model}')}/training.json",
        test=f"{RESULTS}/real/test.extxyz",
        tests=list(TEST_SETS.values()),
        synthetic=lambda wildcards: synthetic_file(
            distance_teacher(wildcards.model), "valid"
        ),
    output:
        metrics=f"{RESULTS}/{metrics_dir('{model}')}/metrics.json",
        predictions=f"{RESULTS}/{metrics_dir('{model}')}/predictions.extxyz",
        set_predictions=set_predictions("{model}"),
    log:
        f"{LOGS}/evaluate/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/evaluate/{{model}}.tsv"
    conda:
        ENV
    threads: EVALUATION_THREADS
    resources:
        mem_mb=attempt_scaled(3000),
        runtime=lambda wildcards, attempt: retried(evaluation_minutes(config), attempt),
        gpu=TRAINING_GPUS,
        cpus_per_gpu=TRAINING_CPUS_PER_GPU,
    params:
        elements=config["elements"],
        labels=config["reference"],
        identity=lambda wildcards: model_identity(wildcards.model),
        teacher=lambda wildcards: distance_teacher(wildcards.model),
        stability=config["stability"],
        seed=config["seed"],
        test_sets=list(TEST_SETS),
        paths=path_sets(config),
        device=config["model"]["device"],
    script:
        "../scripts/evaluate.py"


# Where fine-tuning starts: the pre-trained model on the test set, its E0s re-centred on nN
# (the first training seed's).
use rule evaluate as evaluate_zero_shot with:
    input:
        model=f"{RESULTS}/{PRETRAINED_DIR}/mace_compiled.model",
        subset=real_subset(config["subsets"]["seeds"][0], "{n}"),
        test=f"{RESULTS}/real/test.extxyz",
        tests=list(TEST_SETS.values()),
        synthetic=lambda wildcards: synthetic_file(
            teacher_of(wildcards.pretrained)[0], "valid"
        ),
    output:
        metrics=f"{RESULTS}/{metrics_dir(ZERO_SHOT_PATH)}/metrics.json",
        predictions=f"{RESULTS}/{metrics_dir(ZERO_SHOT_PATH)}/predictions.extxyz",
        set_predictions=set_predictions(ZERO_SHOT_PATH),
    log:
        f"{LOGS}/evaluate/{ZERO_SHOT}/{{pretrained}}/n{{n}}.log",
    benchmark:
        f"{BENCHMARKS}/evaluate/{ZERO_SHOT}/{{pretrained}}/n{{n}}.tsv"
    params:
        elements=config["elements"],
        labels=config["reference"],
        identity=lambda wildcards: model_identity(
            ZERO_SHOT_PATH.format(pretrained=wildcards.pretrained, n=wildcards.n)
        ),
        teacher=lambda wildcards: teacher_of(wildcards.pretrained)[0],
        stability=config["stability"],
        seed=config["seed"],
        test_sets=list(TEST_SETS),
        paths=path_sets(config),
        device=config["model"]["device"],


# How well each pre-trained model learnt its teacher: its held-out synthetic split.
use rule evaluate as evaluate_pretrain with:
    input:
        model=f"{RESULTS}/{PRETRAINED_DIR}/mace_compiled.model",
        record=f"{RESULTS}/{PRETRAINED_DIR}/training.json",
        test=synthetic_set("valid"),
        agreement_set=lambda wildcards: (
            f"{RESULTS}/real/teachers/{teacher_of(wildcards.pretrained)[0]}.extxyz"
        ),
    output:
        metrics=f"{RESULTS}/{PRETRAINED_METRICS}/metrics.json",
        predictions=f"{RESULTS}/{PRETRAINED_METRICS}/predictions.extxyz",
    log:
        f"{LOGS}/evaluate/pretrain/{{pretrained}}.log",
    benchmark:
        f"{BENCHMARKS}/evaluate/pretrain/{{pretrained}}.tsv"
    params:
        elements=config["elements"],
        labels=lambda wildcards: teacher_of(wildcards.pretrained)[0],
        reference=config["reference"],
        identity=lambda wildcards: {
            "pretrained": wildcards.pretrained,
            "teacher": teacher_of(wildcards.pretrained)[0],
        },
        teacher=lambda wildcards: teacher_of(wildcards.pretrained)[0],
        stability=None,
        seed=config["seed"],
        test_sets=[],
        paths=[],
        device=config["model"]["device"],
