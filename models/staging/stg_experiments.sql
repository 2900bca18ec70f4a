-- Experiments (seeds.experiments) with their defaults, and one row per metric they watch: the
-- primary metric first, then the guard metrics split from their ';' list.
with experiments as (
    select * from seeds.experiments
),

metrics as (
    select
        experiments.experiment_id,
        listed.metric,
        listed.position = 1 as is_primary
    from experiments
    cross join lateral unnest(
        array[experiments.primary_metric] || coalesce(string_to_array(nullif(experiments.guard_metrics, ''), ';'), '{}')
    ) with ordinality as listed (metric, position)
),

final as (
    select
        experiments.experiment_id,
        experiments.feature,
        experiments.variant_field,
        experiments.control_value as control_variant,
        experiments.treatment_value as treatment_variant,
        experiments.start_date,
        experiments.end_date,
        experiments.assignment_unit,
        coalesce(experiments.treatment_share, 0.5) as treatment_share,
        metrics.metric,
        metrics.is_primary,
        experiments.description
    from experiments
    inner join metrics
        on metrics.experiment_id = experiments.experiment_id
)

select * from final
