-- What each customer (tenant) costs per month: spend, requests, sessions, the cost of a request
-- and of a session, and the tenant's share of the month's spend. Spend is what the tenant's
-- requests cost (failed ones included); shared spend is not spread here (see the chargeback).
with requests as (
    select * from marts.fct_requests
    where usage_date >= tokenmart.window_start_date()
        and usage_date < tokenmart.window_end_date()
),

monthly as (
    select
        date_trunc('month', usage_date)::date as month_start,
        tenant,
        coalesce(sum(cost_usd), 0) as cost_usd,
        count(*) as requests,
        count(*) filter (where is_unpriced) as unpriced_requests,
        count(distinct session_id) as sessions
    from requests
    group by date_trunc('month', usage_date)::date, tenant
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
