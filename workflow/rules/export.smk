# Models to take away (synthpt.export): per trained mode, the model at the largest n with the
# lowest validation loss over the seeds, as mace's model, TorchScript and the LAMMPS file.


rule export_model:
    input:
        records=lambda wildcards: [
            f"{RESULTS}/{model_dir(m.path)}/training.json"
            for m in EXPORT_GROUPS[wildcards.group]
        ],
        models=lambda wildcards: [
            f"{RESULTS}/{model_dir(m.path)}/mace.model"
            for m in EXPORT_GROUPS[wildcards.group]
        ],
        metrics=lambda wildcards: metrics_files(EXPORT_GROUPS[wildcards.group]),
    output:
        model=f"{RESULTS}/{export_dir('{group}')}/mace.model",
        compiled=f"{RESULTS}/{export_dir('{group}')}/mace_compiled.model",
        lammps=f"{RESULTS}/{export_dir('{group}')}/mace.model-lammps.pt",
        choice=f"{RESULTS}/{export_dir('{group}')}/choice.json",
    log:
        f"{LOGS}/export/{{group}}.log",
    benchmark:
        f"{BENCHMARKS}/export/{{group}}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(10),
    params:
        models=lambda wildcards: [m.path for m in EXPORT_GROUPS[wildcards.group]],
    script:
        "../scripts/export_model.py"


rule export_table:
    input:
        expand(f"{RESULTS}/{export_dir('{group}')}/choice.json", group=EXPORT_GROUPS),
    output:
        f"{RESULTS}/{EXPORT}/models.csv",
    log:
        f"{LOGS}/export/models.log",
    benchmark:
        f"{BENCHMARKS}/export/models.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=attempt_scaled(1000),
        runtime=attempt_scaled(10),
    script:
        "../scripts/export_table.py"
