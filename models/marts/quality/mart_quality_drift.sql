-- Weekly drift per feature x model (weeks start on Monday, UTC). For input tokens, output tokens,
-- latency (application-cache hits excluded) and each eval score, the week is compared with its
-- baseline, the four weeks before it pooled:
--   PSI = sum over bins of (current share - baseline share) x ln(current share / baseline share),
--     ten bins cut at the baseline's deciles (percentile_disc; tied edges make empty bins), a share
--     of 0 counted as 0.0001 so that the logarithm exists;
--   the two-sample Kolmogorov-Smirnov statistic D = max |F_current - F_baseline| and its p-value
--     (tokenmart.ks_p_two_sample: the asymptotic distribution with Stephens' correction).
-- Refusal rate and the rate of each guardrail flag (per flag name) are compared with the week
-- before. Thresholds: seeds.quality_settings. Method: README, "Drift".
with requests as (
    select * from marts.fct_requests
),

settings as (
    select * from staging.stg_quality_settings
),

weekly_requests as (
    select
        date_trunc('week', usage_date)::date as week_start,
        requests.*
    from requests
),

observations as (
    select week_start, feature, model, 'input_tokens' as metric, input_tokens::double precision as value
    from weekly_requests
    union all
    select week_start, feature, model, 'output_tokens' as metric, output_tokens::double precision as value
    from weekly_requests
    where not is_error
    union all
    select week_start, feature, model, 'latency_ms' as metric, latency_ms as value
    from weekly_requests
    where not is_cache_hit and latency_ms is not null
    union all
    select weekly_requests.week_start, weekly_requests.feature, weekly_requests.model, 'eval:' || scores.key as metric, scores.value::double precision as value
    from weekly_requests
    cross join lateral jsonb_each_text(weekly_requests.eval_scores) as scores
),

-- Each week's values as its own 'current' sample and as 'baseline' of each of the 4 weeks after it.
samples as (
    select week_start, feature, model, metric, 'current' as sample, value
    from observations
    union all
    select observations.week_start + 7 * later.weeks as week_start, observations.feature, observations.model, observations.metric, 'baseline' as sample, observations.value
    from observations
    cross join generate_series(1, 4) as later (weeks)
    where observations.week_start + 7 * later.weeks <= (select max(week_start) from observations)
),

sample_sizes as (
    select
        week_start,
        feature,
        model,
        metric,
        count(*) filter (where sample = 'current') as current_n,
        count(*) filter (where sample = 'baseline') as baseline_n,
        avg(value) filter (where sample = 'current') as current_mean,
        avg(value) filter (where sample = 'baseline') as baseline_mean,
        percentile_disc(array[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) within group (order by value) filter (where sample = 'baseline') as baseline_deciles
    from samples
    group by week_start, feature, model, metric
),

compared as (
    select *
    from sample_sizes
    where current_n > 0 and baseline_n > 0
),

-- Kolmogorov-Smirnov: both empirical CDFs at every distinct value (ties included by the range frame).
cdf_gaps as (
    select
        samples.week_start,
        samples.feature,
        samples.model,
        samples.metric,
        abs(
            (count(*) filter (where samples.sample = 'current') over at_or_below)::double precision / compared.current_n
            - (count(*) filter (where samples.sample = 'baseline') over at_or_below)::double precision / compared.baseline_n
        ) as gap
    from samples
    inner join compared
        on compared.week_start = samples.week_start
        and compared.feature = samples.feature
        and compared.model = samples.model
        and compared.metric = samples.metric
    window at_or_below as (
        partition by samples.week_start, samples.feature, samples.model, samples.metric
        order by samples.value range between unbounded preceding and current row
    )
),

ks as (
    select
        week_start,
        feature,
        model,
        metric,
        max(gap) as ks_statistic
    from cdf_gaps
    group by week_start, feature, model, metric
),

-- PSI: shares per decile bin of the baseline (width_bucket: 0 below the first edge, 9 from the last).
binned as (
    select
        samples.week_start,
        samples.feature,
        samples.model,
        samples.metric,
        width_bucket(samples.value, compared.baseline_deciles) as bin,
        count(*) filter (where samples.sample = 'current')::double precision / max(compared.current_n) as current_share,
        count(*) filter (where samples.sample = 'baseline')::double precision / max(compared.baseline_n) as baseline_share
    from samples
    inner join compared
        on compared.week_start = samples.week_start
        and compared.feature = samples.feature
        and compared.model = samples.model
        and compared.metric = samples.metric
    group by samples.week_start, samples.feature, samples.model, samples.metric, width_bucket(samples.value, compared.baseline_deciles)
),

psi as (
    select
        week_start,
        feature,
        model,
        metric,
        sum((greatest(current_share, 0.0001) - greatest(baseline_share, 0.0001))
            * ln(greatest(current_share, 0.0001) / greatest(baseline_share, 0.0001))) as psi
    from binned
    group by week_start, feature, model, metric
),

distribution_rows as (
    select
        compared.week_start,
        compared.feature,
        compared.model,
        compared.metric,
        'distribution' as metric_kind,
        compared.current_n,
        compared.baseline_n,
        compared.current_mean as current_value,
        compared.baseline_mean as baseline_value,
        round(psi.psi::numeric, 6) as psi,
        round(ks.ks_statistic::numeric, 6) as ks_statistic,
        tokenmart.ks_p_two_sample(ks.ks_statistic, compared.current_n, compared.baseline_n) as ks_p_value
    from compared
    inner join psi
        on psi.week_start = compared.week_start
        and psi.feature = compared.feature
        and psi.model = compared.model
        and psi.metric = compared.metric
    inner join ks
        on ks.week_start = compared.week_start
        and ks.feature = compared.feature
        and ks.model = compared.model
        and ks.metric = compared.metric
),

-- Rates: refusals among requests that report refusal; each guardrail flag among all requests.
flag_names as (
    select distinct flags.flag
    from weekly_requests
    cross join lateral jsonb_array_elements_text(coalesce(weekly_requests.guardrail_flags, '[]'::jsonb)) as flags (flag)
),

weekly_rates as (
    select
        week_start,
        feature,
        model,
        'refusal_rate' as metric,
        count(is_refusal) as n,
        (count(*) filter (where is_refusal))::double precision / nullif(count(is_refusal), 0) as rate
    from weekly_requests
    group by week_start, feature, model
    union all
    select
        weekly_requests.week_start,
        weekly_requests.feature,
        weekly_requests.model,
        'guardrail:' || flag_names.flag as metric,
        count(*) as n,
        (count(*) filter (where coalesce(weekly_requests.guardrail_flags, '[]'::jsonb) ? flag_names.flag))::double precision / count(*) as rate
    from weekly_requests
    cross join flag_names
    group by weekly_requests.week_start, weekly_requests.feature, weekly_requests.model, flag_names.flag
),

rate_rows as (
    select
        this_week.week_start,
        this_week.feature,
        this_week.model,
        this_week.metric,
        'rate' as metric_kind,
        this_week.n as current_n,
        last_week.n as baseline_n,
        this_week.rate as current_value,
        last_week.rate as baseline_value,
        null::numeric as psi,
        null::numeric as ks_statistic,
        null::double precision as ks_p_value
    from weekly_rates as this_week
    inner join weekly_rates as last_week
        on last_week.week_start = this_week.week_start - 7
        and last_week.feature = this_week.feature
        and last_week.model = this_week.model
        and last_week.metric = this_week.metric
    where this_week.n > 0 and last_week.n > 0
),

final as (
    select
        drift_rows.week_start,
        drift_rows.feature,
        drift_rows.model,
        drift_rows.metric,
        drift_rows.metric_kind,
        drift_rows.current_n,
        drift_rows.baseline_n,
        round(drift_rows.current_value::numeric, 6) as current_value,
        round(drift_rows.baseline_value::numeric, 6) as baseline_value,
        round((drift_rows.current_value - drift_rows.baseline_value)::numeric, 6) as change,
        drift_rows.psi,
        drift_rows.ks_statistic,
        drift_rows.ks_p_value,
        case
            when least(drift_rows.current_n, drift_rows.baseline_n) < settings.min_sample then 'too few values'
            when drift_rows.metric_kind = 'rate' then
                case when abs(drift_rows.current_value - drift_rows.baseline_value) >= settings.rate_change_points then 'moved' else 'stable' end
            when drift_rows.psi >= settings.psi_major or drift_rows.ks_p_value < settings.ks_max_p_value then 'drifted'
            when drift_rows.psi >= settings.psi_moderate then 'moderate'
            else 'stable'
        end as drift_status
    from (
        select * from distribution_rows
        union all
        select * from rate_rows
    ) as drift_rows
    cross join settings
)

select * from final
