-- Per week (Monday, UTC) x feature: requests, unpriced requests, spend, distinct sessions,
-- resolved outcomes and thumbs-up. What mart_weekly_cost_per_outcome reads: it depends on the
-- week's requests only, so a new day recounts one week instead of every request.
with requests as not materialized (
    -- Read twice: not materialized, so neither read copies every column of every request.
    select * from marts.fct_requests
    where usage_date >= tokenmart.window_start_date()
        and usage_date < tokenmart.window_end_date()
),

week_sessions as (
    -- One row per week x feature x session: grouping hashes, where count(distinct) would sort
    -- every request.
    select
        date_trunc('week', usage_date)::date as week_start,
        feature,
        session_id
    from requests
    group by date_trunc('week', usage_date)::date, feature, session_id
),

weekly_sessions as (
    select
        week_start,
        feature,
        count(session_id) as sessions
    from week_sessions
    group by week_start, feature
),

weekly_requests as (
    select
        date_trunc('week', usage_date)::date as week_start,
        feature,
        count(*) as requests,
        count(*) filter (where is_unpriced) as unpriced_requests,
        coalesce(sum(cost_usd), 0) as cost_usd,
        count(*) filter (where outcome = 'resolved') as resolved_outcomes,
        count(*) filter (where feedback = 1) as thumbs_up
    from requests
    group by date_trunc('week', usage_date)::date, feature
),

final as (
    select
        weekly_requests.*,
        weekly_sessions.sessions
    from weekly_requests
    inner join weekly_sessions
        on weekly_sessions.week_start = weekly_requests.week_start
        and weekly_sessions.feature is not distinct from weekly_requests.feature
)

select * from final
