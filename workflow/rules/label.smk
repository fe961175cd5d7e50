# One job labels a batch of consecutive structure shards (see label_groups).
rule label_synthetic:
    input:
        label_batch_input,
    output:
        labelled=f"{RESULTS}/synthetic/{{teacher}}/batch-{{batch}}.extxyz",
        rejects=f"{RESULTS}/synthetic/{{teacher}}/rejects/batch-{{batch}}.extxyz",
    log:
        f"{LOGS}/label_synthetic/{{teacher}}/batch-{{batch}}.log",
    benchmark:
        f"{BENCHMARKS}/label_synthetic/{{teacher}}/batch-{{batch}}.tsv"
    priority: 10
    group:
        "labelling"
    conda:
        ENV
    threads: config["threads"]["label"]
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=lambda wildcards, attempt: label_minutes(
            config, wildcards.teacher, int(wildcards.batch)
        )
        * attempt,
    params:
        calculator=lambda wildcards: calculator_settings(wildcards.teacher),
        max_force=config["structures"]["max_force"],
    script:
        "../scripts/label.py"


rule gather_synthetic:
    input:
        lambda wildcards: label_batches(
            f"{RESULTS}/synthetic/{{teacher}}/batch-{{batch}}.extxyz",
            wildcards.teacher,
        ),
    output:
        train=f"{RESULTS}/synthetic/{{teacher}}/train.extxyz",
        valid=f"{RESULTS}/synthetic/{{teacher}}/valid.extxyz",
    log:
        f"{LOGS}/gather_synthetic/{{teacher}}.log",
    benchmark:
        f"{BENCHMARKS}/gather_synthetic/{{teacher}}.tsv"
    priority: 10
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(30),
    params:
        seed=config["seed"],
        valid_fraction=config["synthetic"]["valid_fraction"],
    script:
        "../scripts/gather_synthetic.py"


if REAL_FROM_FILES:

    localrules:
        ingest_real,

    # The user's data are checked before any training starts (pre-training waits for it).
    rule ingest_real:
        input:
            real_files(config),
        output:
            pool=f"{RESULTS}/real/pool.extxyz",
            tests=list(TEST_SETS.values()),
            report=REAL_CHECKED,
        log:
            f"{LOGS}/ingest_real.log",
        benchmark:
            f"{BENCHMARKS}/ingest_real.tsv"
        priority: 20
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=attempt_scaled(4000),
            runtime=attempt_scaled(30),
        params:
            real=config["real"],
            reference=config["reference"],
            elements=config["elements"],
            largest_subset=max(config["subsets"]["sizes"])
            + config["subsets"]["n_valid"],
        script:
            "../scripts/ingest_real.py"

else:

    localrules:
        split_real,

    rule label_real:
        input:
            f"{RESULTS}/structures/real/shard-{{shard}}.extxyz",
        output:
            labelled=f"{RESULTS}/real/labelled/shard-{{shard}}.extxyz",
            rejects=f"{RESULTS}/real/rejects/shard-{{shard}}.extxyz",
        log:
            f"{LOGS}/label_real/shard-{{shard}}.log",
        benchmark:
            f"{BENCHMARKS}/label_real/shard-{{shard}}.tsv"
        group:
            "labelling"
        conda:
            ENV
        threads: config["threads"]["label"]
        resources:
            mem_mb=attempt_scaled(2000),
            runtime=lambda wildcards, attempt: shard_minutes(
                config, "real", 1, config["reference"]
            )
            * attempt,
        params:
            calculator=calculator_settings(config["reference"]),
            max_force=config["structures"]["max_force"],
        script:
            "../scripts/label.py"

    rule split_real:
        input:
            shards(f"{RESULTS}/real/labelled/shard-{{shard}}.extxyz", "real"),
        output:
            pool=f"{RESULTS}/real/pool.extxyz",
            test=f"{RESULTS}/real/test.extxyz",
        log:
            f"{LOGS}/split_real.log",
        benchmark:
            f"{BENCHMARKS}/split_real.tsv"
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=attempt_scaled(2000),
            runtime=attempt_scaled(10),
        params:
            seed=config["seed"],
            n_pool=config["real"]["n_pool"],
            n_test=config["real"]["n_test"],
        script:
            "../scripts/split_real.py"


# Training seed S's subsets: its own nested chain (subsets.draw per_seed) or the shared one.
rule subset_real:
    input:
        f"{RESULTS}/real/pool.extxyz",
    output:
        real_subset("{seed}", "{n}"),
    log:
        f"{LOGS}/subset_real/seed{{seed}}/n{{n}}.log",
    benchmark:
        f"{BENCHMARKS}/subset_real/seed{{seed}}/n{{n}}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=attempt_scaled(1000),
        runtime=attempt_scaled(10),
    params:
        seed=config["seed"],
        n_valid=config["subsets"]["n_valid"],
        draw=config["subsets"]["draw"],
        elements=config["elements"],
    script:
        "../scripts/subset.py"


use rule subset_real as valid_real with:
    output:
        REAL_VALID,
    log:
        f"{LOGS}/subset_real/valid.log",
    benchmark:
        f"{BENCHMARKS}/subset_real/valid.tsv"


# The teacher's labels on the real test structures: how far pre-training can transfer.
rule label_test_teacher:
    input:
        f"{RESULTS}/real/test.extxyz",
    output:
        labelled=f"{RESULTS}/real/teachers/{{teacher}}.extxyz",
        rejects=f"{RESULTS}/real/teachers/rejects/{{teacher}}.extxyz",
    log:
        f"{LOGS}/label_test_teacher/{{teacher}}.log",
    benchmark:
        f"{BENCHMARKS}/label_test_teacher/{{teacher}}.tsv"
    conda:
        ENV
    threads: config["threads"]["label"]
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=lambda wildcards, attempt: test_label_minutes(
            config, wildcards.teacher
        )
        * attempt,
    params:
        calculator=lambda wildcards: calculator_settings(wildcards.teacher),
        max_force=config["structures"]["max_force"],
    script:
        "../scripts/label.py"
