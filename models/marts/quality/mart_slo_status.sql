-- SLO attainment, error budget and burn rate per feature x objective x UTC day (seeds.slos).
-- Model calls only: application-cache hits are not calls and count in neither objective.
--   latency: a successful call is good when latency_ms <= the threshold (target: the percentile,
--     95 -> 0.95); availability: a call is good when it did not fail.
--   burn rate over a window = (bad / calls) / (1 - target): 1 spends the budget exactly over the
--     window; over 1 spends it sooner. Windows: the day, the 7 days to it, and the SLO's window
--     (window_days), over which the error budget is (1 - target) x calls.
-- status: exhausted (the window's budget is spent), burning (7-day burn rate above 1), ok, or
-- no calls. burning and exhausted feed P2 alerts. Method: README, "SLOs".
with slos as (
    select * from staging.stg_slos
),

daily_calls as (
    select * from marts.mart_daily_slo_calls
),

feature_days as (
    -- Every day from the feature's first model call to its last: a day without calls still has
    -- a window (and a status) of its own.
    select
        slos.feature,
        slos.objective,
        slos.target,
        slos.latency_threshold_ms,
        slos.window_days,
        calendar.usage_date::date as usage_date
    from slos
    inner join (
        select
            feature,
            min(usage_date) as first_date,
            max(usage_date) as last_date
        from daily_calls
        group by feature
    ) as spans
        on spans.feature = slos.feature
    cross join lateral generate_series(spans.first_date, spans.last_date, interval '1 day') as calendar (usage_date)
),

daily as (
    select
        feature_days.feature,
        feature_days.objective,
        feature_days.target,
        feature_days.window_days,
        feature_days.usage_date,
        coalesce(daily_calls.calls, 0) as calls,
        coalesce(daily_calls.good_calls, 0) as good_calls
    from feature_days
    left join daily_calls
        on daily_calls.feature = feature_days.feature
        and daily_calls.objective = feature_days.objective
        and daily_calls.usage_date = feature_days.usage_date
),

windowed as (
    select
        daily.feature,
        daily.objective,
        daily.target,
        daily.window_days,
        daily.usage_date,
        daily.calls,
        daily.good_calls,
        sum(earlier.calls) filter (where earlier.usage_date > daily.usage_date - 7) as calls_7d,
        sum(earlier.good_calls) filter (where earlier.usage_date > daily.usage_date - 7) as good_calls_7d,
        sum(earlier.calls) as calls_window,
        sum(earlier.good_calls) as good_calls_window
    from daily
    inner join daily as earlier
        on earlier.feature = daily.feature
        and earlier.objective = daily.objective
        and earlier.usage_date > daily.usage_date - daily.window_days
        and earlier.usage_date <= daily.usage_date
    group by daily.feature, daily.objective, daily.target, daily.window_days, daily.usage_date, daily.calls, daily.good_calls
),

rates as (
    select
        windowed.*,
        good_calls::numeric / nullif(calls, 0) as attainment,
        good_calls_7d::numeric / nullif(calls_7d, 0) as attainment_7d,
        good_calls_window::numeric / nullif(calls_window, 0) as attainment_window,
        (1 - target) * calls_window as error_budget_calls,
        calls_window - good_calls_window as bad_calls_window
    from windowed
),

final as (
    select
        usage_date,
        feature,
        objective,
        target,
        window_days,
        calls,
        good_calls,
        round(attainment, 6) as attainment,
        round((1 - attainment) / (1 - target), 4) as burn_rate_1d,
        calls_7d,
        round(attainment_7d, 6) as attainment_7d,
        round((1 - attainment_7d) / (1 - target), 4) as burn_rate_7d,
        calls_window,
        round(attainment_window, 6) as attainment_window,
        round(error_budget_calls, 2) as error_budget_calls,
        bad_calls_window,
        round(1 - bad_calls_window / nullif(error_budget_calls, 0), 4) as error_budget_remaining,
        round((1 - attainment_window) / (1 - target), 4) as burn_rate_window,
        case
            when calls_window = 0 then 'no calls'
            when bad_calls_window > error_budget_calls then 'exhausted'
            when (1 - attainment_7d) / (1 - target) > 1 then 'burning'
            else 'ok'
        end as status
    from rates
)

select * from final
