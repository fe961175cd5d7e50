# A synthetic set of pretrain.hdf5_min_atoms atoms or more, as mace's HDF5 files: pre-training
# then builds graphs batch by batch instead of holding them all (synthpt.hdf5).
rule preprocess_synthetic:
    input:
        train=f"{RESULTS}/synthetic/{{teacher}}/train.extxyz",
        valid=f"{RESULTS}/synthetic/{{teacher}}/valid.extxyz",
    output:
        **{
            name: f"{hdf5_set_dir(RESULTS, '{teacher}', '{portion}')}/{file}"
            for name, file in HDF5_SET.items()
        },
    log:
        f"{LOGS}/preprocess_synthetic/{{teacher}}/{{portion}}.log",
    benchmark:
        f"{BENCHMARKS}/preprocess_synthetic/{{teacher}}/{{portion}}.tsv"
    priority: 10
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=attempt_scaled(8000),
        runtime=lambda wildcards, attempt: preprocess_minutes(
            config, portion_size(wildcards.portion)
        )
        * attempt,
    params:
        size=lambda wildcards: portion_size(wildcards.portion),
        elements=config["elements"],
        seed=config["seed"],
    script:
        "../scripts/preprocess_synthetic.py"


rule pretrain:
    input:
        unpack(pretraining_set),
        real_checked=REAL_CHECKED,
    output:
        **training_outputs(f"{RESULTS}/{PRETRAINED_DIR}"),
    log:
        f"{LOGS}/pretrain/{{pretrained}}.log",
    benchmark:
        f"{BENCHMARKS}/pretrain/{{pretrained}}.tsv"
    priority: 10
    conda:
        ENV
    threads: config["threads"]["train"]
    resources:
        mem_mb=attempt_scaled(6000),
        runtime=lambda wildcards, attempt: retried(
            training_minutes(
                config,
                "pretrain",
                reads_hdf5(config, wildcards.pretrained),
                teacher_of(wildcards.pretrained)[1],
            ),
            attempt,
        ),
        gpu=TRAINING_GPUS,
        cpus_per_gpu=TRAINING_CPUS_PER_GPU,
    params:
        mode="pretrain",
        settings=training_settings("pretrain"),
        teacher=lambda wildcards: teacher_of(wildcards.pretrained),
        seed=lambda wildcards: pretraining_seed(wildcards.pretrained, config["seed"]),
        work_dir=f"{RESULTS}/{PRETRAINED_DIR}/work",
    script:
        "../scripts/train.py"


rule train_scratch:
    input:
        train=real_subset("{seed}", "{n}"),
        valid=REAL_VALID,
        tuning=lambda wildcards: tuned_rate("scratch"),
    output:
        **training_outputs(f"{RESULTS}/{model_dir(SCRATCH_PATH)}"),
    log:
        f"{LOGS}/train_{SCRATCH_PATH}.log",
    benchmark:
        f"{BENCHMARKS}/train_{SCRATCH_PATH}.tsv"
    priority: 1  # before evaluations: short jobs fill the last gaps
    conda:
        ENV
    threads: config["threads"]["train"]
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=lambda wildcards, attempt: retried(
            training_minutes(config, "finetune", mode="scratch"), attempt
        ),
        gpu=TRAINING_GPUS,
        cpus_per_gpu=TRAINING_CPUS_PER_GPU,
    params:
        mode="scratch",
        settings=training_settings("finetune", "scratch"),
        work_dir=f"{RESULTS}/{model_dir(SCRATCH_PATH)}/work",
    script:
        "../scripts/train.py"


# One rule for every fine-tuning strategy (synthpt.strategies): the same data, schedule and
# stopping rule as train_scratch, from the pre-trained model.
rule finetune:
    input:
        train=real_subset("{seed}", "{n}"),
        valid=REAL_VALID,
        pretrained=f"{RESULTS}/{PRETRAINED_DIR}/mace.model",
        tuning=lambda wildcards: tuned_rate(wildcards.strategy, wildcards.pretrained),
        replay=replay_set("train"),
        replay_valid=replay_set("valid"),
    output:
        **training_outputs(f"{RESULTS}/{model_dir(FINETUNED_PATH)}"),
    log:
        f"{LOGS}/{FINETUNED_PATH}.log",
    benchmark:
        f"{BENCHMARKS}/{FINETUNED_PATH}.tsv"
    priority: 1  # before evaluations: short jobs fill the last gaps
    conda:
        ENV
    threads: config["threads"]["train"]
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=lambda wildcards, attempt: retried(
            training_minutes(config, "finetune", mode=wildcards.strategy), attempt
        ),
        gpu=TRAINING_GPUS,
        cpus_per_gpu=TRAINING_CPUS_PER_GPU,
    params:
        mode=lambda wildcards: wildcards.strategy,
        settings=lambda wildcards: training_settings("finetune", wildcards.strategy),
        # read by train.py through the table; here so that a changed entry reruns its models
        strategy=lambda wildcards: STRATEGIES[wildcards.strategy].identity(),
        work_dir=f"{RESULTS}/{model_dir(FINETUNED_PATH)}/work",
    script:
        "../scripts/train.py"


# The learning-rate grid (synthpt.tuning): each tuned mode at the smallest subset and the first
# seed, under the same schedule and stopping rule as the models it chooses for.
use rule train_scratch as tune_scratch with:
    input:
        train=TUNING_SUBSET,
        valid=REAL_VALID,
    output:
        **training_outputs(f"{RESULTS}/{tuning_dir(SCRATCH_TUNING_PATH)}"),
    log:
        f"{LOGS}/{tuning_dir(SCRATCH_TUNING_PATH)}.log",
    benchmark:
        f"{BENCHMARKS}/{tuning_dir(SCRATCH_TUNING_PATH)}.tsv"
    params:
        mode="scratch",
        settings=training_settings("finetune", "scratch"),
        lr=lambda wildcards: float(wildcards.lr),
        seed=TUNING_SEED,
        work_dir=f"{RESULTS}/{tuning_dir(SCRATCH_TUNING_PATH)}/work",


use rule finetune as tune_finetune with:
    input:
        train=TUNING_SUBSET,
        valid=REAL_VALID,
        pretrained=f"{RESULTS}/{PRETRAINED_DIR}/mace.model",
        replay=replay_set("train"),
        replay_valid=replay_set("valid"),
    output:
        **training_outputs(f"{RESULTS}/{tuning_dir(FINETUNE_TUNING_PATH)}"),
    log:
        f"{LOGS}/{tuning_dir(FINETUNE_TUNING_PATH)}.log",
    benchmark:
        f"{BENCHMARKS}/{tuning_dir(FINETUNE_TUNING_PATH)}.tsv"
    params:
        mode=lambda wildcards: wildcards.strategy,
        settings=lambda wildcards: training_settings("finetune", wildcards.strategy),
        strategy=lambda wildcards: STRATEGIES[wildcards.strategy].identity(),
        lr=lambda wildcards: float(wildcards.lr),
        seed=TUNING_SEED,
        work_dir=f"{RESULTS}/{tuning_dir(FINETUNE_TUNING_PATH)}/work",


rule choose_lr:
    input:
        lambda wildcards: tuning_records(wildcards.group),
    output:
        f"{RESULTS}/{tuning_dir('{group}')}/{TUNING_CHOICE}",
    log:
        f"{LOGS}/{tuning_dir('{group}')}/choose.log",
    benchmark:
        f"{BENCHMARKS}/{tuning_dir('{group}')}/choose.tsv"
    priority: 10  # seconds of work that every model of its mode waits for
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=attempt_scaled(500),
        runtime=attempt_scaled(5),
    params:
        runs=lambda wildcards: [r.path for r in tuning_group_runs(wildcards.group)],
        warmup_steps=setting(config["finetune"], "finetune", "warmup_steps"),
        subset=TUNING_N_SEED,
    script:
        "../scripts/choose_lr.py"
