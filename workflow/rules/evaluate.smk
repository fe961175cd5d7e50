rule evaluate:
    input:
        model=f"{RESULTS}/models/{{model}}/mace_compiled.model",
        test=f"{RESULTS}/real/test.extxyz",
    output:
        metrics=f"{RESULTS}/metrics/{{model}}/metrics.json",
        predictions=f"{RESULTS}/metrics/{{model}}/predictions.extxyz",
    log:
        f"{LOGS}/evaluate/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/evaluate/{{model}}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=attempt_scaled(3000),
        runtime=attempt_scaled(20),
    params:
        elements=config["elements"],
        reference=config["reference"],
    script:
        "../scripts/evaluate.py"
