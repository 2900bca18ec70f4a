-- What each customer (tenant) costs per month: spend, requests, sessions, the cost of a request
-- and of a session, and the tenant's share of the month's spend. Spend is what the tenant's
-- requests cost (failed ones included); shared spend is not spread here (see the chargeback).
with daily_requests as (
    -- Incremental by month (grain: month): a month's rows read that month's daily sums only.
    select * from marts.fct_daily_requests
    where usage_date >= tokenmart.window_start_date()
        and usage_date < tokenmart.window_end_date()
),

daily_sessions as (
    select * from marts.fct_daily_sessions
    where usage_date >= tokenmart.window_start_date()
        and usage_date < tokenmart.window_end_date()
),

month_sessions as (
    -- One row per month x tenant x session: grouping hashes, where count(distinct) would sort.
    select
        date_trunc('month', usage_date)::date as month_start,
        tenant,
        session_id
    from daily_sessions
    group by date_trunc('month', usage_date)::date, tenant, session_id
),

monthly_sessions as (
    select
        month_start,
        tenant,
        count(session_id) as sessions
    from month_sessions
    group by month_start, tenant
),

monthly_requests as (
    select
        date_trunc('month', usage_date)::date as month_start,
        tenant,
        coalesce(sum(cost_usd), 0) as cost_usd,
        sum(requests)::bigint as requests,
        sum(unpriced_requests)::bigint as unpriced_requests
    from daily_requests
    group by date_trunc('month', usage_date)::date, tenant
),

monthly as (
    select
        monthly_requests.*,
        monthly_sessions.sessions
    from monthly_requests
    inner join monthly_sessions
        on monthly_sessions.month_start = monthly_requests.month_start
        and monthly_sessions.tenant is not distinct from monthly_requests.tenant
),

final as (
    select
        month_start,
        to_char(month_start, 'YYYY-MM') as month,
        tenant,
        cost_usd,
        requests,
        unpriced_requests,
        sessions,
        round(cost_usd / nullif(requests, 0), 6) as cost_per_request_usd,
        round(cost_usd / nullif(sessions, 0), 6) as cost_per_session_usd,
        round(cost_usd / nullif(sum(cost_usd) over (partition by month_start), 0), 4) as spend_share
    from monthly
)

select * from final
