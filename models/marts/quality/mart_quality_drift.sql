-- Weekly drift per feature x model (weeks start on Monday, UTC). For input tokens, output tokens,
-- latency (application-cache hits excluded) and each eval score, the week is compared with its
-- baseline, the four weeks before it pooled:
--   PSI = sum over bins of (current share - baseline share) x ln(current share / baseline share),
--     ten bins cut at the baseline's deciles (percentile_disc; tied edges make empty bins), a share
--     of 0 counted as 0.0001 so that the logarithm exists;
--   the two-sample Kolmogorov-Smirnov statistic D = max |F_current - F_baseline| and its p-value
--     (tokenmart.ks_p_two_sample: the asymptotic distribution with Stephens' correction).
-- Refusal rate and the rate of each guardrail flag (per flag name, in weeks around one that raised
-- it) are compared with the week before. Thresholds: seeds.quality_settings. Method: README, "Drift".
with counts as (
    -- An incremental build rebuilds whole weeks (grain: week). Each compares with the 4 weeks
    -- before it, which are read too, as is the week after the window (flag_names looks at it).
    select * from marts.mart_weekly_metric_counts
    where week_start >= tokenmart.window_start_date() - 28
        and week_start < tokenmart.window_end_date() + 7
),

settings as (
    select * from staging.stg_quality_settings
),

series as (
    -- One integer per feature x model x metric compared as a distribution: the sorts and windows
    -- below then compare an integer instead of three strings. Only the series of the weeks being
    -- built: one found only in their baselines has no current sample to compare.
    select
        feature,
        model,
        metric,
        row_number() over (order by feature, model, metric) as series_id
    from (
        select distinct feature, model, metric
        from counts
        where week_start >= tokenmart.window_start_date()
            and week_start < tokenmart.window_end_date()
            and metric not in ('is_refusal', 'requests')
            and metric not like 'guardrail:%'
    ) as distinct_series
),

last_built_week as (
    -- The last week being built that has requests: no baseline is made for a week after it.
    select max(week_start) as week_start
    from counts
    where week_start >= tokenmart.window_start_date()
        and week_start < tokenmart.window_end_date()
),

series_counts as (
    -- The tests work on counts per distinct value, not on rows: the same answer, far fewer rows
    -- to sort. Counts are double precision from here on: exact for whole numbers below 2^53, and
    -- summed in hardware, where sum() of bigint gives numeric (a third of this model's time, measured).
    select
        counts.week_start,
        series.series_id,
        counts.value,
        counts.n::double precision as n
    from counts
    inner join series
        on series.feature = counts.feature
        and series.model = counts.model
        and series.metric = counts.metric
),

sample_counts as (
    -- Each built week's counts as its 'current' sample, and each week's counts as the 'baseline'
    -- of each of the 4 weeks after it that is being built (one row each: a join to the built
    -- weeks by range would compare every row with every built week).
    select
        week_start,
        series_id,
        value,
        n as current_count,
        0::double precision as baseline_count
    from series_counts
    where week_start >= tokenmart.window_start_date()
        and week_start < tokenmart.window_end_date()
    union all
    select
        series_counts.week_start + 7 * later.weeks as week_start,
        series_counts.series_id,
        series_counts.value,
        0::double precision as current_count,
        series_counts.n as baseline_count
    from series_counts
    cross join generate_series(1, 4) as later (weeks)
    where series_counts.week_start + 7 * later.weeks <= (select last_built_week.week_start from last_built_week)
        and series_counts.week_start + 7 * later.weeks >= tokenmart.window_start_date()
),

samples as (
    select
        week_start,
        series_id,
        value,
        sum(current_count) as current_count,
        sum(baseline_count) as baseline_count
    from sample_counts
    group by week_start, series_id, value
),

-- Both empirical CDFs at every distinct value (Kolmogorov-Smirnov), and the sample sizes.
cumulative as (
    select
        samples.*,
        sum(current_count) over at_or_below as current_at_or_below,
        sum(baseline_count) over at_or_below as baseline_at_or_below,
        sum(current_count) over whole as current_n,
        sum(baseline_count) over whole as baseline_n
    from samples
    window
        at_or_below as (partition by week_start, series_id order by value rows between unbounded preceding and current row),
        whole as (partition by week_start, series_id)
),

sample_sizes as (
    select
        week_start,
        series_id,
        max(current_n)::bigint as current_n,
        max(baseline_n)::bigint as baseline_n,
        sum(value * current_count) / nullif(max(current_n), 0) as current_mean,
        sum(value * baseline_count) / nullif(max(baseline_n), 0) as baseline_mean,
        -- percentile_disc of the baseline: the first value whose cumulative share reaches p
        -- (compared as 10 x count >= k x n, whole numbers: no rounding at the edges).
        (array[
            min(value) filter (where 10 * baseline_at_or_below >= 1 * baseline_n and baseline_n > 0),
            min(value) filter (where 10 * baseline_at_or_below >= 2 * baseline_n and baseline_n > 0),
            min(value) filter (where 10 * baseline_at_or_below >= 3 * baseline_n and baseline_n > 0),
            min(value) filter (where 10 * baseline_at_or_below >= 4 * baseline_n and baseline_n > 0),
            min(value) filter (where 10 * baseline_at_or_below >= 5 * baseline_n and baseline_n > 0),
            min(value) filter (where 10 * baseline_at_or_below >= 6 * baseline_n and baseline_n > 0),
            min(value) filter (where 10 * baseline_at_or_below >= 7 * baseline_n and baseline_n > 0),
            min(value) filter (where 10 * baseline_at_or_below >= 8 * baseline_n and baseline_n > 0),
            min(value) filter (where 10 * baseline_at_or_below >= 9 * baseline_n and baseline_n > 0)
        ]) as baseline_deciles,
        max(abs(
            current_at_or_below::double precision / nullif(current_n, 0)
            - baseline_at_or_below::double precision / nullif(baseline_n, 0)
        )) as ks_statistic
    from cumulative
    group by week_start, series_id
),

compared as (
    select *
    from sample_sizes
    where current_n > 0 and baseline_n > 0
),

-- PSI: shares per decile bin of the baseline (width_bucket: 0 below the first edge, 9 from the last).
binned as (
    select
        samples.week_start,
        samples.series_id,
        width_bucket(samples.value, compared.baseline_deciles) as bin,
        sum(samples.current_count)::double precision / max(compared.current_n) as current_share,
        sum(samples.baseline_count)::double precision / max(compared.baseline_n) as baseline_share
    from samples
    inner join compared
        on compared.week_start = samples.week_start
        and compared.series_id = samples.series_id
    group by samples.week_start, samples.series_id, width_bucket(samples.value, compared.baseline_deciles)
),

psi as (
    select
        week_start,
        series_id,
        sum((greatest(current_share, 0.0001) - greatest(baseline_share, 0.0001))
            * ln(greatest(current_share, 0.0001) / greatest(baseline_share, 0.0001))) as psi
    from binned
    group by week_start, series_id
),

distribution_rows as (
    select
        compared.week_start,
        series.feature,
        series.model,
        series.metric,
        'distribution' as metric_kind,
        compared.current_n,
        compared.baseline_n,
        compared.current_mean as current_value,
        compared.baseline_mean as baseline_value,
        round(psi.psi::numeric, 6) as psi,
        round(compared.ks_statistic::numeric, 6) as ks_statistic,
        tokenmart.ks_p_two_sample(compared.ks_statistic, compared.current_n, compared.baseline_n) as ks_p_value
    from compared
    inner join psi
        on psi.week_start = compared.week_start
        and psi.series_id = compared.series_id
    inner join series
        on series.series_id = compared.series_id
),

-- Rates: refusals among requests that report refusal; each guardrail flag among all requests.
flag_weeks as (
    -- Each guardrail flag where it was raised: week x feature x model.
    select
        week_start,
        feature,
        model,
        substr(metric, length('guardrail:') + 1) as flag,
        n
    from counts
    where metric like 'guardrail:%'
),

flag_names as (
    -- A flag's rate is computed for a week when it was raised that week, the week before or the
    -- week after, so both weeks of a comparison have it. It depends on those three weeks only, so
    -- an incremental build (which reads them) equals a full one.
    select distinct
        flag_weeks.week_start + shift.days as week_start,
        flag_weeks.feature,
        flag_weeks.model,
        flag_weeks.flag
    from flag_weeks
    cross join (values (-7), (0), (7)) as shift (days)
),

weekly_requests as (
    select
        week_start,
        feature,
        model,
        n
    from counts
    where metric = 'requests'
),

weekly_rates as (
    select
        week_start,
        feature,
        model,
        'refusal_rate' as metric,
        sum(n)::bigint as n,
        coalesce(sum(n) filter (where value = 1), 0)::double precision / nullif(sum(n), 0)::double precision as rate
    from counts
    where metric = 'is_refusal'
    group by week_start, feature, model
    union all
    select
        weekly_requests.week_start,
        weekly_requests.feature,
        weekly_requests.model,
        'guardrail:' || flag_names.flag as metric,
        weekly_requests.n,
        coalesce(flag_weeks.n, 0)::double precision / weekly_requests.n as rate
    from weekly_requests
    inner join flag_names
        on flag_names.week_start = weekly_requests.week_start
        and flag_names.feature = weekly_requests.feature
        and flag_names.model = weekly_requests.model
    left join flag_weeks
        on flag_weeks.week_start = flag_names.week_start
        and flag_weeks.feature = flag_names.feature
        and flag_weeks.model = flag_names.model
        and flag_weeks.flag = flag_names.flag
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
