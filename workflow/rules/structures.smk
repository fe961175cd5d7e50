# Synthetic structures feed pre-training, the campaign's critical path: they go first.
if SOURCE == "files":

    rule split_structures:
        input:
            file_list(config["structures"]["files"]),
        output:
            shards(
                f"{RESULTS}/structures/synthetic/shard-{{shard}}.extxyz", "synthetic"
            ),
        log:
            f"{LOGS}/split_structures.log",
        benchmark:
            f"{BENCHMARKS}/split_structures.tsv"
        priority: 10
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=attempt_scaled(8000),
            runtime=attempt_scaled(60),
        params:
            elements=config["elements"],
            min_distance=config["structures"].get("min_distance", 0.5),
        script:
            "../scripts/split_structures.py"

    ruleorder: split_structures > generate_synthetic_structures


rule generate_synthetic_structures:
    input:
        seeds=structure_seeds(),
    output:
        f"{RESULTS}/structures/synthetic/shard-{{shard}}.extxyz",
    log:
        f"{LOGS}/generate_structures/synthetic/shard-{{shard}}.log",
    benchmark:
        f"{BENCHMARKS}/generate_structures/synthetic/shard-{{shard}}.tsv"
    priority: 10
    group:
        "labelling"
    conda:
        ENV
    threads: config["threads"]["label"]
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=lambda wildcards, attempt: generation_minutes(config, "synthetic")
        * attempt,
    params:
        stream="synthetic",
        indices=lambda wildcards: shard_range("synthetic", wildcards.shard),
        seed=config["seed"],
        settings=config["structures"],
        builder=structure_builder(),
        parts=mix_parts(config),
    script:
        "../scripts/generate_structures.py"


use rule generate_synthetic_structures as generate_real_structures with:
    output:
        f"{RESULTS}/structures/real/shard-{{shard}}.extxyz",
    log:
        f"{LOGS}/generate_structures/real/shard-{{shard}}.log",
    benchmark:
        f"{BENCHMARKS}/generate_structures/real/shard-{{shard}}.tsv"
    priority: 0
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=lambda wildcards, attempt: generation_minutes(config, "real") * attempt,
    params:
        stream="real",
        indices=lambda wildcards: shard_range("real", wildcards.shard),
