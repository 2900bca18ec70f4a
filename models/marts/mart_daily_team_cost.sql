-- Spend per UTC day x team (with its cost center): the rollup finance allocates from.
with daily_cost as (
    select *
    from marts.mart_daily_cost
    where usage_date >= tokenmart.window_start_date()
        and usage_date < tokenmart.window_end_date()
),

final as (
    select
        usage_date,
        team,
        cost_center,
        sum(requests) as requests,
        sum(unpriced_requests) as unpriced_requests,
        sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens,
        sum(cost_usd) as cost_usd,
        sum(cache_hit_savings_usd) as cache_hit_savings_usd,
        sum(cache_read_savings_usd) as cache_read_savings_usd
    from daily_cost
    group by usage_date, team, cost_center
)

select * from final
