rule aggregate:
    input:
        [f"{RESULTS}/metrics/{m.path}/metrics.json" for m in MODELS],
    output:
        table=f"{RESULTS}/learning_curves.csv",
        summary=f"{RESULTS}/summary.csv",
        gain=f"{RESULTS}/pretraining_gain.csv",
        efficiency=f"{RESULTS}/data_efficiency.csv",
    log:
        f"{LOGS}/aggregate.log",
    benchmark:
        f"{BENCHMARKS}/aggregate.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=attempt_scaled(1000),
        runtime=attempt_scaled(10),
    script:
        "../scripts/aggregate.py"


rule plot:
    input:
        summary=f"{RESULTS}/summary.csv",
        predictions=[
            f"{RESULTS}/metrics/{model}/predictions.extxyz"
            for model in smallest_size_models()
        ],
    output:
        curves=report(
            f"{RESULTS}/plots/learning_curves.png",
            caption="../report/learning_curves.rst",
            category="Learning curves",
        ),
        parity=report(
            f"{RESULTS}/plots/parity.png",
            caption="../report/parity.rst",
            category="Parity",
        ),
    log:
        f"{LOGS}/plot.log",
    benchmark:
        f"{BENCHMARKS}/plot.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(10),
    params:
        models=smallest_size_models(),
        reference=config["reference"],
    script:
        "../scripts/plot.py"
