-- Spend per UTC day x team x feature x tenant x provider x model, split by token bucket.
with daily_requests as (
    select *
    from marts.fct_daily_requests
    where usage_date >= tokenmart.window_start_date()
        and usage_date < tokenmart.window_end_date()
),

final as (
    select
        usage_date,
        team,
        cost_center,
        feature,
        tenant,
        provider,
        model,
        sum(requests)::bigint as requests,
        sum(unpriced_requests)::bigint as unpriced_requests,
        sum(cache_hit_requests)::bigint as cache_hit_requests,
        sum(long_context_requests)::bigint as long_context_requests,
        sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens,
        sum(uncached_input_tokens) as uncached_input_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(cache_write_tokens) as cache_write_tokens,
        sum(output_excl_reasoning_tokens) as output_excl_reasoning_tokens,
        sum(reasoning_tokens) as reasoning_tokens,
        sum(uncached_input_cost_usd) as uncached_input_cost_usd,
        sum(cache_read_cost_usd) as cache_read_cost_usd,
        sum(cache_write_cost_usd) as cache_write_cost_usd,
        sum(output_cost_usd) as output_cost_usd,
        sum(reasoning_cost_usd) as reasoning_cost_usd,
        sum(cost_usd) as cost_usd,
        sum(cache_hit_savings_usd) as cache_hit_savings_usd,
        sum(cache_read_savings_usd) as cache_read_savings_usd,
        sum(reported_cost_usd) as reported_cost_usd,
        sum(reported_cost_diff_usd) as reported_cost_diff_usd
    from daily_requests
    group by usage_date, team, cost_center, feature, tenant, provider, model
)

select * from final
