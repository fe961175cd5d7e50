# Synthetic structures feed pre-training, the campaign's critical path: they go first.
rule generate_synthetic_structures:
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
        runtime=lambda wildcards, attempt: generation_minutes("synthetic") * attempt,
    params:
        stream="synthetic",
        indices=lambda wildcards: shard_range("synthetic", wildcards.shard),
        seed=config["seed"],
        settings=config["structures"],
        relaxer=calculator_settings(config["structures"]["relax_with"]),
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
        runtime=lambda wildcards, attempt: generation_minutes("real") * attempt,
    params:
        stream="real",
        indices=lambda wildcards: shard_range("real", wildcards.shard),
