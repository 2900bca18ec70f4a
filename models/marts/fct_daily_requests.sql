-- The requests summed per UTC day x team x cost center x feature x tenant x provider x model x
-- response model: counts, tokens and cost by bucket. The daily marts that need no more than sums
-- read this instead of every request; each of their figures adds up from it exactly.
with requests as (
    select *
    from marts.fct_requests
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
        response_model,
        count(*) as requests,
        count(*) filter (where is_unpriced) as unpriced_requests,
        count(*) filter (where is_cache_hit) as cache_hit_requests,
        count(*) filter (where is_long_context) as long_context_requests,
        count(*) filter (where is_error) as error_requests,
        count(*) filter (where retry_attempt > 0) as retry_requests,
        sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens,
        sum(uncached_input_tokens) as uncached_input_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(cache_write_5m_tokens + cache_write_1h_tokens) as cache_write_tokens,
        sum(output_excl_reasoning_tokens) as output_excl_reasoning_tokens,
        sum(reasoning_tokens) as reasoning_tokens,
        coalesce(sum(uncached_input_cost_usd), 0) as uncached_input_cost_usd,
        coalesce(sum(cache_read_cost_usd), 0) as cache_read_cost_usd,
        coalesce(sum(cache_write_cost_usd), 0) as cache_write_cost_usd,
        coalesce(sum(output_cost_usd), 0) as output_cost_usd,
        coalesce(sum(reasoning_cost_usd), 0) as reasoning_cost_usd,
        coalesce(sum(cost_usd), 0) as cost_usd,
        coalesce(sum(cache_hit_savings_usd), 0) as cache_hit_savings_usd,
        coalesce(sum(cache_read_savings_usd), 0) as cache_read_savings_usd,
        sum(reported_cost_usd) as reported_cost_usd,
        sum(cost_usd - reported_cost_usd) as reported_cost_diff_usd
    from requests
    group by usage_date, team, cost_center, feature, tenant, provider, model, response_model
)

select * from final
