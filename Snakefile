from snakemake.utils import min_version

min_version("9.0")


# A --configfile is a whole campaign: it replaces the embedded default rather than merging into it.
if not workflow.overwrite_configfiles:

    configfile: f"{workflow.basedir}/config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/structures.smk"
include: "workflow/rules/label.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/export.smk"


# Seconds of work each: not worth a cluster job.
localrules:
    all,
    subset_real,
    valid_real,
    aggregate,
    aggregate_sweep,
    choose_lr,
    provenance,
    plot,
    export_table,


rule all:
    default_target: True
    input:
        final_outputs(),
