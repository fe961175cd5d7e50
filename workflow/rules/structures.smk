rule generate_structures:
    output:
        f"{RESULTS}/structures/{{stream}}/shard-{{shard}}.extxyz",
    log:
        f"{LOGS}/generate_structures/{{stream}}/shard-{{shard}}.log",
    benchmark:
        f"{BENCHMARKS}/generate_structures/{{stream}}/shard-{{shard}}.tsv"
    params:
        indices=shard_range,
    threads: config["threads"]["label"]
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(60),
    conda:
        ENV
    script:
        "../scripts/generate_structures.py"
