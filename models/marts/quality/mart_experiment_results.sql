-- One row per experiment x as-of week x metric (seeds.experiments), plus one 'assignment' row per
-- experiment and week: the results with the data through each Sunday (as_of_date) of the run, so a
-- report for a past week shows what was known then, and a digest sees a verdict change.
-- n per arm, the estimate per arm, treatment - control with a 95% interval, a p-value and a
-- verdict. Methods (README, "Experiments"):
--   rates (thumbs_up_rate, resolved_rate, escalated_rate): pooled two-proportion z-test and
--     Newcombe's hybrid score interval (method 10) from Wilson intervals;
--   means (eval:<name>, cost_per_request): Welch's t-test, Welch-Satterthwaite df, t interval;
--   latency_p95 (app-cache hits excluded): each arm's order-statistic (distribution-free) 95%
--     interval gives its standard error, (upper - lower) / (2 x 1.96); the difference is tested
--     with a normal approximation (Price and Bonett 2002's method for medians, at the 95th percentile);
--   assignment: chi-square goodness of fit of units per arm against the intended split.
-- Units (sessions or users) that saw both arms are counted and left out. When a unit holds many
-- requests, they are not independent: rate and mean tests are corrected by the design effect
-- deff = delta-method (cluster-robust) variance / i.i.d. variance, never below 1 (z or t divided
-- by sqrt(deff), the interval widened by it, the needed sample size multiplied by it).
-- The primary metric is tested at 5%; guard metrics are Holm-adjusted among themselves.
with experiments as (
    select * from staging.stg_experiments
),

requests as not materialized (
    -- Read twice (the last day, the exposures): not materialized, so neither copies every request.
    select * from marts.fct_requests
),

experiment_definitions as (
    select distinct
        experiment_id,
        feature,
        variant_field,
        control_variant,
        treatment_variant,
        start_date,
        end_date,
        assignment_unit,
        treatment_share
    from experiments
),

-- Each Sunday from the experiment's first week to the week of its end (or of the last data).
-- Incremental by week of as_of_date: a new day recomputes the weeks from its own on (lookahead),
-- each from the experiment's start.
experiment_list as (
    select
        experiment_definitions.*,
        weeks.as_of_date::date as as_of_date
    from experiment_definitions
    cross join (select max(usage_date) as last_date from requests) as data_span
    cross join lateral generate_series(
        date_trunc('week', experiment_definitions.start_date)::date + 6,
        date_trunc('week', least(coalesce(experiment_definitions.end_date, data_span.last_date), data_span.last_date))::date + 6,
        interval '7 days'
    ) as weeks (as_of_date)
    where weeks.as_of_date >= tokenmart.window_start_date()
        and weeks.as_of_date < tokenmart.window_end_date()
),

experiment_metrics as (
    select
        experiments.*,
        experiment_list.as_of_date
    from experiments
    inner join experiment_list
        on experiment_list.experiment_id = experiments.experiment_id
),

exposures as (
    select
        experiment_list.experiment_id,
        experiment_list.as_of_date,
        case
            when experiment_list.assignment_unit = 'session' then coalesce(requests.session_id, requests.request_id)
            when experiment_list.assignment_unit = 'user' then coalesce(requests.user_id, requests.request_id)
            else requests.request_id
        end as unit_id,
        case
            when (case when experiment_list.variant_field = 'model' then requests.model else requests.prompt_version end)
                = experiment_list.control_variant then 'control'
            else 'treatment'
        end as arm,
        requests.feedback,
        requests.outcome,
        requests.eval_scores,
        requests.cost_usd,
        requests.latency_ms,
        requests.is_cache_hit
    from experiment_list
    inner join requests
        on requests.feature = experiment_list.feature
        and requests.usage_date >= experiment_list.start_date
        and requests.usage_date <= least(coalesce(experiment_list.end_date, experiment_list.as_of_date), experiment_list.as_of_date)
        and (case when experiment_list.variant_field = 'model' then requests.model else requests.prompt_version end)
            in (experiment_list.control_variant, experiment_list.treatment_variant)
),

mixed_units as (
    select
        experiment_id,
        as_of_date,
        unit_id
    from exposures
    group by experiment_id, as_of_date, unit_id
    having count(distinct arm) > 1
),

mixed_counts as (
    select
        experiment_id,
        as_of_date,
        count(*) as mixed_units
    from mixed_units
    group by experiment_id, as_of_date
),

clean_exposures as (
    select exposures.*
    from exposures
    left join mixed_units
        on mixed_units.experiment_id = exposures.experiment_id
        and mixed_units.as_of_date = exposures.as_of_date
        and mixed_units.unit_id = exposures.unit_id
    where mixed_units.unit_id is null
),

observations as (
    select
        experiment_metrics.experiment_id,
        experiment_metrics.as_of_date,
        experiment_metrics.metric,
        clean_exposures.arm,
        clean_exposures.unit_id,
        case
            when experiment_metrics.metric = 'thumbs_up_rate' then (clean_exposures.feedback = 1)::int::numeric
            when experiment_metrics.metric = 'resolved_rate' then (clean_exposures.outcome = 'resolved')::int::numeric
            when experiment_metrics.metric = 'escalated_rate' then (clean_exposures.outcome = 'escalated')::int::numeric
            when experiment_metrics.metric = 'cost_per_request' then clean_exposures.cost_usd
            when experiment_metrics.metric = 'latency_p95' then
                case when clean_exposures.is_cache_hit then null else clean_exposures.latency_ms::numeric end
            when experiment_metrics.metric like 'eval:%' then (clean_exposures.eval_scores ->> substr(experiment_metrics.metric, 6))::numeric
        end as value
    from experiment_metrics
    inner join clean_exposures
        on clean_exposures.experiment_id = experiment_metrics.experiment_id
        and clean_exposures.as_of_date = experiment_metrics.as_of_date
),

present_observations as (
    select *
    from observations
    where value is not null
),

-- Per unit: the sum of its values and how many it has (a ratio metric's numerator and denominator).
unit_sums as (
    select
        experiment_id,
        as_of_date,
        metric,
        arm,
        unit_id,
        sum(value) as unit_total,
        count(*) as unit_n
    from present_observations
    group by experiment_id, as_of_date, metric, arm, unit_id
),

unit_stats as (
    select
        experiment_id,
        as_of_date,
        metric,
        arm,
        count(*) as units,
        sum(unit_total) / sum(unit_n) as ratio,
        var_pop(unit_total::double precision) as var_total,
        var_pop(unit_n::double precision) as var_n,
        covar_pop(unit_total::double precision, unit_n::double precision) as covar_total_n,
        avg(unit_n::double precision) as mean_n
    from unit_sums
    group by experiment_id, as_of_date, metric, arm
),

value_stats as (
    select
        experiment_id,
        as_of_date,
        metric,
        arm,
        count(*) as n,
        sum(value) as total,
        avg(value) as mean,
        coalesce(var_samp(value), 0)::double precision as variance
    from present_observations
    group by experiment_id, as_of_date, metric, arm
),

-- Per arm: n, the estimate, its i.i.d. variance and its delta-method (cluster-robust) variance.
arm_stats as (
    select
        value_stats.experiment_id,
        value_stats.as_of_date,
        value_stats.metric,
        value_stats.arm,
        value_stats.n,
        value_stats.total,
        value_stats.mean,
        value_stats.variance,
        (unit_stats.var_total - 2 * unit_stats.ratio::double precision * unit_stats.covar_total_n
            + (unit_stats.ratio::double precision ^ 2) * unit_stats.var_n)
            / (unit_stats.units * unit_stats.mean_n ^ 2) as cluster_variance
    from value_stats
    inner join unit_stats
        on unit_stats.experiment_id = value_stats.experiment_id
        and unit_stats.as_of_date = value_stats.as_of_date
        and unit_stats.metric = value_stats.metric
        and unit_stats.arm = value_stats.arm
),

paired as (
    select
        experiment_metrics.experiment_id,
        experiment_metrics.as_of_date,
        experiment_metrics.metric,
        experiment_metrics.is_primary,
        case
            when experiment_metrics.metric in ('thumbs_up_rate', 'resolved_rate', 'escalated_rate') then 'rate'
            when experiment_metrics.metric = 'latency_p95' then 'p95'
            else 'mean'
        end as metric_kind,
        coalesce(control.n, 0) as control_n,
        coalesce(treatment.n, 0) as treatment_n,
        control.total as control_total,
        treatment.total as treatment_total,
        control.mean as control_mean,
        treatment.mean as treatment_mean,
        control.variance as control_variance,
        treatment.variance as treatment_variance,
        control.cluster_variance as control_cluster_variance,
        treatment.cluster_variance as treatment_cluster_variance
    from experiment_metrics
    left join arm_stats as control
        on control.experiment_id = experiment_metrics.experiment_id
        and control.as_of_date = experiment_metrics.as_of_date
        and control.metric = experiment_metrics.metric
        and control.arm = 'control'
    left join arm_stats as treatment
        on treatment.experiment_id = experiment_metrics.experiment_id
        and treatment.as_of_date = experiment_metrics.as_of_date
        and treatment.metric = experiment_metrics.metric
        and treatment.arm = 'treatment'
),

-- The design effect of session or user assignment (1 for request assignment, and never below 1).
design_effects as (
    select
        paired.*,
        case
            when paired.metric_kind = 'p95' or experiment_list.assignment_unit = 'request' then 1::double precision
            when paired.metric_kind = 'rate' then greatest(1, (paired.control_cluster_variance + paired.treatment_cluster_variance)
                / nullif(paired.control_mean * (1 - paired.control_mean) / paired.control_n
                    + paired.treatment_mean * (1 - paired.treatment_mean) / paired.treatment_n, 0))
            else greatest(1, (paired.control_cluster_variance + paired.treatment_cluster_variance)
                / nullif(paired.control_variance / paired.control_n + paired.treatment_variance / paired.treatment_n, 0))
        end as design_effect
    from paired
    inner join experiment_list
        on experiment_list.experiment_id = paired.experiment_id
        and experiment_list.as_of_date = paired.as_of_date
),

-- Rates: x successes of n. Wilson 95% intervals per arm, Newcombe's hybrid interval for p2 - p1.
rate_intervals as (
    select
        design_effects.*,
        (control_total + 1.959963984540054 ^ 2 / 2) / (control_n + 1.959963984540054 ^ 2) as control_wilson_mid,
        1.959963984540054 / (control_n + 1.959963984540054 ^ 2)
            * sqrt(control_total * (control_n - control_total) / control_n + 1.959963984540054 ^ 2 / 4) as control_wilson_half,
        (treatment_total + 1.959963984540054 ^ 2 / 2) / (treatment_n + 1.959963984540054 ^ 2) as treatment_wilson_mid,
        1.959963984540054 / (treatment_n + 1.959963984540054 ^ 2)
            * sqrt(treatment_total * (treatment_n - treatment_total) / treatment_n + 1.959963984540054 ^ 2 / 4) as treatment_wilson_half,
        (control_total + treatment_total) / (control_n + treatment_n) as pooled_rate
    from design_effects
    where metric_kind = 'rate' and control_n > 0 and treatment_n > 0
),

rate_tests as (
    select
        experiment_id,
        as_of_date,
        metric,
        'two-proportion z (pooled), Newcombe hybrid score interval' as method,
        control_mean as control_estimate,
        treatment_mean as treatment_estimate,
        treatment_mean - control_mean as abs_diff,
        (treatment_mean - control_mean - sqrt(design_effect) * sqrt(
            (treatment_mean - (treatment_wilson_mid - treatment_wilson_half)) ^ 2
            + ((control_wilson_mid + control_wilson_half) - control_mean) ^ 2)) as ci_low,
        (treatment_mean - control_mean + sqrt(design_effect) * sqrt(
            ((treatment_wilson_mid + treatment_wilson_half) - treatment_mean) ^ 2
            + (control_mean - (control_wilson_mid - control_wilson_half)) ^ 2)) as ci_high,
        (treatment_mean - control_mean)::double precision
            / nullif(sqrt(design_effect * pooled_rate * (1 - pooled_rate) * (1.0 / control_n + 1.0 / treatment_n)), 0) as z,
        -- Fleiss' sample size per arm for 80% power at 5% two-sided, times the design effect.
        ceil(design_effect * (
            1.959963984540054 * sqrt(2 * ((control_mean + treatment_mean) / 2) * (1 - (control_mean + treatment_mean) / 2))
            + 0.8416212335729143 * sqrt(control_mean * (1 - control_mean) + treatment_mean * (1 - treatment_mean))
        ) ^ 2 / nullif((treatment_mean - control_mean) ^ 2, 0)) as required_n_per_arm,
        least(control_total, control_n - control_total, treatment_total, treatment_n - treatment_total) >= 5 as has_enough_data
    from rate_intervals
),

rate_results as (
    select
        experiment_id,
        as_of_date,
        metric,
        method,
        control_estimate,
        treatment_estimate,
        abs_diff,
        ci_low,
        ci_high,
        tokenmart.normal_p_two_sided(z) as p_value,
        required_n_per_arm,
        has_enough_data
    from rate_tests
),

-- Means: Welch's t with the Welch-Satterthwaite degrees of freedom.
mean_tests as (
    select
        design_effects.*,
        sqrt(design_effect * (control_variance / control_n + treatment_variance / treatment_n)) as se,
        (control_variance / control_n + treatment_variance / treatment_n) ^ 2
            / nullif((control_variance / control_n) ^ 2 / (control_n - 1) + (treatment_variance / treatment_n) ^ 2 / (treatment_n - 1), 0) as df
    from design_effects
    where metric_kind = 'mean' and control_n > 1 and treatment_n > 1
),

mean_results as (
    select
        experiment_id,
        as_of_date,
        metric,
        'Welch t, Welch-Satterthwaite df, t interval' as method,
        control_mean as control_estimate,
        treatment_mean as treatment_estimate,
        treatment_mean - control_mean as abs_diff,
        treatment_mean - control_mean - (tokenmart.t_critical(0.05, df) * se)::numeric as ci_low,
        treatment_mean - control_mean + (tokenmart.t_critical(0.05, df) * se)::numeric as ci_high,
        case
            when se > 0 then tokenmart.t_p_two_sided((treatment_mean - control_mean)::double precision / se, df)
            when treatment_mean = control_mean then 1::double precision
            else 0::double precision
        end as p_value,
        ceil(design_effect * (1.959963984540054 + 0.8416212335729143) ^ 2 * (control_variance + treatment_variance)
            / nullif((treatment_mean - control_mean)::double precision ^ 2, 0)) as required_n_per_arm,
        least(control_n, treatment_n) >= 30 as has_enough_data
    from mean_tests
),

-- The 95th percentile per arm (percentile_disc: rank ceil(0.95 n)) and its order-statistic interval.
ranked_latencies as (
    select
        experiment_id,
        as_of_date,
        metric,
        arm,
        value,
        row_number() over (partition by experiment_id, as_of_date, metric, arm order by value) as value_rank,
        count(*) over (partition by experiment_id, as_of_date, metric, arm) as n
    from present_observations
    where metric = 'latency_p95'
),

p95_arms as (
    select
        experiment_id,
        as_of_date,
        metric,
        arm,
        max(n) as n,
        max(value) filter (where value_rank = ceil(0.95 * n)) as p95,
        max(value) filter (where value_rank = greatest(1, floor(0.95 * n - 1.959963984540054 * sqrt(n * 0.95 * 0.05)))) as p95_low,
        max(value) filter (where value_rank = least(n, ceil(0.95 * n + 1.959963984540054 * sqrt(n * 0.95 * 0.05)))) as p95_high
    from ranked_latencies
    group by experiment_id, as_of_date, metric, arm
),

p95_tests as (
    select
        control.experiment_id,
        control.as_of_date,
        control.metric,
        control.p95 as control_estimate,
        treatment.p95 as treatment_estimate,
        treatment.p95 - control.p95 as abs_diff,
        sqrt(((control.p95_high - control.p95_low) / (2 * 1.959963984540054)) ^ 2
            + ((treatment.p95_high - treatment.p95_low) / (2 * 1.959963984540054)) ^ 2)::double precision as se,
        least(control.n, treatment.n) as min_n
    from p95_arms as control
    inner join p95_arms as treatment
        on treatment.experiment_id = control.experiment_id
        and treatment.as_of_date = control.as_of_date
        and treatment.metric = control.metric
        and treatment.arm = 'treatment'
    where control.arm = 'control'
),

p95_results as (
    select
        experiment_id,
        as_of_date,
        metric,
        'order-statistic interval per arm, normal test of the difference (Price-Bonett)' as method,
        control_estimate,
        treatment_estimate,
        abs_diff,
        abs_diff - (1.959963984540054 * se)::numeric as ci_low,
        abs_diff + (1.959963984540054 * se)::numeric as ci_high,
        case
            when se > 0 then tokenmart.normal_p_two_sided(abs_diff::double precision / se)
            when abs_diff = 0 then 1::double precision
            else 0::double precision
        end as p_value,
        -- se shrinks with sqrt(n): the n at which the observed difference would reach 80% power.
        ceil(min_n * ((1.959963984540054 + 0.8416212335729143) * se / nullif(abs(abs_diff::double precision), 0)) ^ 2) as required_n_per_arm,
        -- 100 values per arm put 5 above the 95th percentile: fewer say nothing about the tail.
        min_n >= 100 as has_enough_data
    from p95_tests
),

metric_results as (
    select * from rate_results
    union all
    select * from mean_results
    union all
    select * from p95_results
),

-- Sample-ratio check: units per arm against the intended split, chi-square with 1 df.
unit_counts as (
    select
        experiment_list.experiment_id,
        experiment_list.as_of_date,
        experiment_list.treatment_share,
        count(distinct clean_exposures.unit_id) filter (where clean_exposures.arm = 'control') as control_units,
        count(distinct clean_exposures.unit_id) filter (where clean_exposures.arm = 'treatment') as treatment_units
    from experiment_list
    left join clean_exposures
        on clean_exposures.experiment_id = experiment_list.experiment_id
        and clean_exposures.as_of_date = experiment_list.as_of_date
    group by experiment_list.experiment_id, experiment_list.as_of_date, experiment_list.treatment_share
),

srm_tests as (
    select
        experiment_id,
        as_of_date,
        control_units,
        treatment_units,
        treatment_share,
        case
            when control_units + treatment_units = 0 then null
            else ((control_units - (control_units + treatment_units) * (1 - treatment_share)) ^ 2 / ((control_units + treatment_units) * (1 - treatment_share))
                + (treatment_units - (control_units + treatment_units) * treatment_share) ^ 2 / ((control_units + treatment_units) * treatment_share))::double precision
        end as chi_square
    from unit_counts
),

srm_results as (
    select
        experiment_id,
        as_of_date,
        control_units,
        treatment_units,
        treatment_units::numeric / nullif(control_units + treatment_units, 0) as treatment_unit_share,
        treatment_share,
        chi_square,
        tokenmart.chi2_sf(chi_square, 1) as p_value,
        tokenmart.chi2_sf(chi_square, 1) < 0.001 as has_sample_ratio_mismatch
    from srm_tests
),

-- Holm's step-down adjustment over each experiment's guard metrics; the primary is unadjusted.
holm_steps as (
    select
        experiment_metrics.experiment_id,
        experiment_metrics.as_of_date,
        experiment_metrics.metric,
        experiment_metrics.is_primary,
        metric_results.method,
        metric_results.control_estimate,
        metric_results.treatment_estimate,
        metric_results.abs_diff,
        metric_results.ci_low,
        metric_results.ci_high,
        metric_results.p_value,
        least(1, metric_results.p_value * (count(metric_results.p_value) over guards - row_number() over guards_ordered + 1)) as holm_step,
        metric_results.required_n_per_arm,
        coalesce(metric_results.has_enough_data, false) as has_enough_data
    from experiment_metrics
    left join metric_results
        on metric_results.experiment_id = experiment_metrics.experiment_id
        and metric_results.as_of_date = experiment_metrics.as_of_date
        and metric_results.metric = experiment_metrics.metric
    window
        guards as (partition by experiment_metrics.experiment_id, experiment_metrics.as_of_date, experiment_metrics.is_primary, metric_results.p_value is null),
        guards_ordered as (guards order by metric_results.p_value, experiment_metrics.metric)
),

adjusted as (
    select
        holm_steps.*,
        case
            when is_primary then p_value
            else max(holm_step) over (
                partition by experiment_id, as_of_date, is_primary, p_value is null
                order by p_value, metric rows between unbounded preceding and current row
            )
        end as adjusted_p_value
    from holm_steps
),

metric_rows as (
    select
        adjusted.experiment_id,
        adjusted.as_of_date,
        adjusted.metric,
        case when adjusted.is_primary then 'primary' else 'guard' end as metric_role,
        adjusted.method,
        paired.control_n,
        paired.treatment_n,
        adjusted.control_estimate,
        adjusted.treatment_estimate,
        adjusted.abs_diff,
        adjusted.abs_diff / nullif(adjusted.control_estimate, 0) as rel_diff,
        adjusted.ci_low,
        adjusted.ci_high,
        adjusted.p_value,
        adjusted.adjusted_p_value,
        design_effects.design_effect,
        adjusted.required_n_per_arm,
        case
            when srm_results.has_sample_ratio_mismatch then 'sample ratio mismatch'
            when not adjusted.has_enough_data then 'not enough data'
            when adjusted.adjusted_p_value < 0.05 then
                case
                    when (adjusted.abs_diff > 0) = (adjusted.metric in ('thumbs_up_rate', 'resolved_rate') or adjusted.metric like 'eval:%') then 'better'
                    else 'worse'
                end
            when least(paired.control_n, paired.treatment_n) < adjusted.required_n_per_arm then 'not enough data'
            else 'no detectable difference'
        end as verdict
    from adjusted
    inner join paired
        on paired.experiment_id = adjusted.experiment_id
        and paired.as_of_date = adjusted.as_of_date
        and paired.metric = adjusted.metric
    inner join design_effects
        on design_effects.experiment_id = adjusted.experiment_id
        and design_effects.as_of_date = adjusted.as_of_date
        and design_effects.metric = adjusted.metric
    inner join srm_results
        on srm_results.experiment_id = adjusted.experiment_id
        and srm_results.as_of_date = adjusted.as_of_date
),

assignment_rows as (
    select
        experiment_id,
        as_of_date,
        'assignment' as metric,
        'assignment' as metric_role,
        'chi-square goodness of fit of units per arm, 1 df (mismatch below p = 0.001)' as method,
        control_units as control_n,
        treatment_units as treatment_n,
        1 - treatment_share as control_estimate,
        treatment_unit_share as treatment_estimate,
        treatment_unit_share - treatment_share as abs_diff,
        (treatment_unit_share - treatment_share) / treatment_share as rel_diff,
        null::numeric as ci_low,
        null::numeric as ci_high,
        p_value,
        p_value as adjusted_p_value,
        1::double precision as design_effect,
        null::numeric as required_n_per_arm,
        case when has_sample_ratio_mismatch then 'sample ratio mismatch' else 'ok' end as verdict
    from srm_results
),

final as (
    select
        experiment_list.experiment_id,
        experiment_list.feature,
        experiment_list.variant_field,
        experiment_list.control_variant,
        experiment_list.treatment_variant,
        experiment_list.assignment_unit,
        experiment_list.start_date,
        experiment_list.end_date,
        experiment_list.as_of_date,
        result_rows.metric,
        result_rows.metric_role,
        result_rows.method,
        result_rows.control_n,
        result_rows.treatment_n,
        round(result_rows.control_estimate::numeric, 6) as control_estimate,
        round(result_rows.treatment_estimate::numeric, 6) as treatment_estimate,
        round(result_rows.abs_diff::numeric, 6) as abs_diff,
        round(result_rows.rel_diff::numeric, 6) as rel_diff,
        round(result_rows.ci_low::numeric, 6) as ci_low,
        round(result_rows.ci_high::numeric, 6) as ci_high,
        result_rows.p_value,
        result_rows.adjusted_p_value,
        result_rows.design_effect,
        result_rows.required_n_per_arm,
        result_rows.verdict,
        coalesce(mixed_counts.mixed_units, 0) as mixed_units
    from experiment_list
    inner join (
        select * from metric_rows
        union all
        select * from assignment_rows
    ) as result_rows
        on result_rows.experiment_id = experiment_list.experiment_id
        and result_rows.as_of_date = experiment_list.as_of_date
    left join mixed_counts
        on mixed_counts.experiment_id = experiment_list.experiment_id
        and mixed_counts.as_of_date = experiment_list.as_of_date
)

select * from final
