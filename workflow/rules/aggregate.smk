rule aggregate:
    input:
        models=metrics_files(MODELS),
        pretrained=expand(
            f"{RESULTS}/{PRETRAINED_METRICS}/metrics.json",
            pretrained=pretrained_models(config),
        ),
        tuning=TUNING_CHOICES,
    output:
        table=report(
            f"{RESULTS}/learning_curves.csv",
            caption="../report/tables.rst",
            category="Tables",
        ),
        times=report(
            f"{RESULTS}/training_time.csv",
            caption="../report/tables.rst",
            category="Tables",
        ),
        summary=report(
            f"{RESULTS}/summary.csv", caption="../report/tables.rst", category="Tables"
        ),
        gain=report(
            f"{RESULTS}/pretraining_gain.csv",
            caption="../report/tables.rst",
            category="Tables",
        ),
        efficiency=report(
            f"{RESULTS}/data_efficiency.csv",
            caption="../report/tables.rst",
            category="Tables",
        ),
        pretrain_seeds=report(
            f"{RESULTS}/pretrain_seeds.csv",
            caption="../report/tables.rst",
            category="Tables",
        ),
        pretraining=report(
            f"{RESULTS}/pretraining.csv",
            caption="../report/tables.rst",
            category="Tables",
        ),
        tuning=report(
            f"{RESULTS}/tuning.csv", caption="../report/tables.rst", category="Tables"
        ),
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


rule agreement:
    input:
        expand(
            f"{RESULTS}/real/teachers/{{teacher}}.extxyz", teacher=config["teachers"]
        ),
    output:
        report(
            f"{RESULTS}/teacher_agreement.csv",
            caption="../report/tables.rst",
            category="Tables",
        ),
    log:
        f"{LOGS}/agreement.log",
    benchmark:
        f"{BENCHMARKS}/agreement.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=attempt_scaled(1000),
        runtime=attempt_scaled(10),
    params:
        teachers=config["teachers"],
        reference=config["reference"],
    script:
        "../scripts/agreement.py"


rule plot:
    input:
        summary=f"{RESULTS}/summary.csv",
        table=f"{RESULTS}/learning_curves.csv",
        times=f"{RESULTS}/training_time.csv",
        teachers=f"{RESULTS}/teacher_agreement.csv",
        predictions=[
            f"{RESULTS}/{metrics_dir(model.path)}/predictions.extxyz"
            for model in smallest_size_models(config)
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
        cost=report(
            f"{RESULTS}/plots/cost.png",
            caption="../report/cost.rst",
            category="Learning curves",
        ),
        stability=report(
            f"{RESULTS}/plots/stability.png",
            caption="../report/stability.rst",
            category="Learning curves",
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
        models=[m.path for m in smallest_size_models(config)],
        reference=config["reference"],
        md_steps=config["stability"]["steps"],
    script:
        "../scripts/plot.py"


# Energy along each ordered path (real.paths) at the smallest and largest n, every mode.
rule plot_paths:
    input:
        predictions=[predictions_file(model.path, name) for name, model in PATH_PLOT],
    output:
        report(
            f"{RESULTS}/plots/paths.png",
            caption="../report/paths.rst",
            category="Learning curves",
        ),
    log:
        f"{LOGS}/plot_paths.log",
    benchmark:
        f"{BENCHMARKS}/plot_paths.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(10),
    params:
        sets=[name for name, _ in PATH_PLOT],
        models=[model.path for _, model in PATH_PLOT],
        reference=config["reference"],
    script:
        "../scripts/plot_paths.py"


# One slice of the sweep (nN, seedS, scratch, teacher-T) as a target: runs what that slice
# needs, then tabulates every model with metrics so far and lists the missing ones.
rule aggregate_sweep:
    input:
        lambda wildcards: metrics_files(sweep_slice(config, wildcards.sweep)),
    output:
        table=f"{RESULTS}/sweeps/{{sweep}}/learning_curves.csv",
        missing=f"{RESULTS}/sweeps/{{sweep}}/missing.csv",
        curves=f"{RESULTS}/sweeps/{{sweep}}/learning_curves.png",
    log:
        f"{LOGS}/aggregate_sweep/{{sweep}}.log",
    benchmark:
        f"{BENCHMARKS}/aggregate_sweep/{{sweep}}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=attempt_scaled(1000),
        runtime=attempt_scaled(10),
    params:
        models=[m.path for m in MODELS],
        metrics=metrics_files(MODELS),
    script:
        "../scripts/aggregate_sweep.py"


rule provenance:
    input:
        input_files(),
    output:
        config=f"{RESULTS}/provenance/config.yaml",
        record=report(
            f"{RESULTS}/provenance/provenance.json",
            caption="../report/provenance.rst",
            category="Provenance",
        ),
    log:
        f"{LOGS}/provenance.log",
    benchmark:
        f"{BENCHMARKS}/provenance.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=attempt_scaled(1000),
        runtime=attempt_scaled(10),
    params:
        config=config,
        workflow_dir=workflow.basedir,
    script:
        "../scripts/provenance.py"


# How the synthetic set covers the real structures, in the pre-trained model's descriptors.
rule coverage:
    input:
        model=f"{RESULTS}/{pretrained_dir(COVERAGE_MODEL.pretrained)}/mace.model",
        synthetic=f"{RESULTS}/synthetic/{teacher_of(COVERAGE_MODEL.pretrained)[0]}/train.extxyz",
        pool=f"{RESULTS}/real/pool.extxyz",
        valid=REAL_VALID,
        test=f"{RESULTS}/real/test.extxyz",
        predictions=f"{RESULTS}/{metrics_dir(COVERAGE_MODEL.path)}/predictions.extxyz",
    output:
        table=report(
            f"{RESULTS}/coverage.csv",
            caption="../report/coverage.rst",
            category="Coverage",
        ),
        plot=report(
            f"{RESULTS}/plots/coverage.png",
            caption="../report/coverage.rst",
            category="Coverage",
        ),
    log:
        f"{LOGS}/coverage.log",
    benchmark:
        f"{BENCHMARKS}/coverage.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(20),
    params:
        dtype=config["model"]["dtype"],
        reference=config["reference"],
        max_structures=COVERAGE_STRUCTURES,
        model=COVERAGE_MODEL.path,
        teacher=teacher_of(COVERAGE_MODEL.pretrained)[0],
    script:
        "../scripts/coverage.py"
