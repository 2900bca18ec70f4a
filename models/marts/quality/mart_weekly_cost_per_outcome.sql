-- What a good outcome costs, per week (Monday, UTC) x feature: spend, requests, sessions, resolved
-- outcomes and thumbs-up, and the cost of each. A feature pays for itself when the cost per
-- resolved outcome is below what a resolution is worth to the business. Spend counts every
-- request of the feature, failed ones included: they are paid for too.
with requests as (
    select * from marts.fct_requests
),

weekly as (
    select
        date_trunc('week', usage_date)::date as week_start,
        feature,
        count(*) as requests,
        count(*) filter (where is_unpriced) as unpriced_requests,
        coalesce(sum(cost_usd), 0) as cost_usd,
        count(distinct session_id) as sessions,
        count(*) filter (where outcome = 'resolved') as resolved_outcomes,
        count(*) filter (where feedback = 1) as thumbs_up
    from requests
    group by date_trunc('week', usage_date)::date, feature
),

final as (
    select
        week_start,
        feature,
        requests,
        unpriced_requests,
        cost_usd,
        sessions,
        resolved_outcomes,
        thumbs_up,
        round(cost_usd / nullif(requests, 0), 6) as cost_per_request_usd,
        round(cost_usd / nullif(sessions, 0), 6) as cost_per_session_usd,
        round(cost_usd / nullif(resolved_outcomes, 0), 6) as cost_per_resolved_usd,
        round(cost_usd / nullif(thumbs_up, 0), 6) as cost_per_thumbs_up_usd
    from weekly
)

select * from final
