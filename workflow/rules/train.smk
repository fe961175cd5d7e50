rule pretrain:
    input:
        train=synthetic_set("train"),
        valid=synthetic_set("valid"),
        real_checked=REAL_CHECKED,
    output:
        model=f"{RESULTS}/models/pretrain/{{pretrained}}/mace.model",
        compiled=f"{RESULTS}/models/pretrain/{{pretrained}}/mace_compiled.model",
        record=f"{RESULTS}/models/pretrain/{{pretrained}}/training.json",
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
        runtime=lambda wildcards, attempt: training_minutes("pretrain") * attempt,
        gpu=TRAINING_GPUS,
        cpus_per_gpu=TRAINING_CPUS_PER_GPU,
    params:
        mode="pretrain",
        settings=training_settings("pretrain"),
        teacher=lambda wildcards: teacher_of(wildcards.pretrained),
        work_dir=f"{RESULTS}/models/pretrain/{{pretrained}}/work",
    script:
        "../scripts/train.py"


rule train_scratch:
    input:
        train=f"{RESULTS}/real/subsets/n{{n}}.extxyz",
        valid=REAL_VALID,
    output:
        model=f"{RESULTS}/models/scratch/n{{n}}/seed{{seed}}/mace.model",
        compiled=f"{RESULTS}/models/scratch/n{{n}}/seed{{seed}}/mace_compiled.model",
        record=f"{RESULTS}/models/scratch/n{{n}}/seed{{seed}}/training.json",
    log:
        f"{LOGS}/train_scratch/n{{n}}/seed{{seed}}.log",
    benchmark:
        f"{BENCHMARKS}/train_scratch/n{{n}}/seed{{seed}}.tsv"
    priority: 1  # before evaluations: short jobs fill the last gaps
    conda:
        ENV
    threads: config["threads"]["train"]
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=lambda wildcards, attempt: training_minutes("finetune") * attempt,
        gpu=TRAINING_GPUS,
        cpus_per_gpu=TRAINING_CPUS_PER_GPU,
    params:
        mode="scratch",
        settings=training_settings("finetune"),
        work_dir=f"{RESULTS}/models/scratch/n{{n}}/seed{{seed}}/work",
    script:
        "../scripts/train.py"


# One rule for every fine-tuning strategy (synthpt.strategies): the same data, schedule and
# stopping rule as train_scratch, from the pre-trained model.
rule finetune:
    input:
        train=f"{RESULTS}/real/subsets/n{{n}}.extxyz",
        valid=REAL_VALID,
        pretrained=f"{RESULTS}/models/pretrain/{{pretrained}}/mace.model",
    output:
        model=f"{RESULTS}/models/{{strategy}}/{{pretrained}}/n{{n}}/seed{{seed}}/mace.model",
        compiled=f"{RESULTS}/models/{{strategy}}/{{pretrained}}/n{{n}}/seed{{seed}}/mace_compiled.model",
        record=f"{RESULTS}/models/{{strategy}}/{{pretrained}}/n{{n}}/seed{{seed}}/training.json",
    log:
        f"{LOGS}/{{strategy}}/{{pretrained}}/n{{n}}/seed{{seed}}.log",
    benchmark:
        f"{BENCHMARKS}/{{strategy}}/{{pretrained}}/n{{n}}/seed{{seed}}.tsv"
    priority: 1  # before evaluations: short jobs fill the last gaps
    conda:
        ENV
    threads: config["threads"]["train"]
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=lambda wildcards, attempt: training_minutes("finetune") * attempt,
        gpu=TRAINING_GPUS,
        cpus_per_gpu=TRAINING_CPUS_PER_GPU,
    params:
        mode=lambda wildcards: wildcards.strategy,
        settings=training_settings("finetune"),
        # read by train.py through the table; here so that a changed entry reruns its models
        strategy=lambda wildcards: asdict(STRATEGIES[wildcards.strategy]),
        work_dir=f"{RESULTS}/models/{{strategy}}/{{pretrained}}/n{{n}}/seed{{seed}}/work",
    script:
        "../scripts/train.py"
