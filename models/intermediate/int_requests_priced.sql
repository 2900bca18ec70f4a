-- Every request priced with the price in force at its timestamp. Cost = sum over the token
-- buckets of tokens x that bucket's rate; above the model's long-context threshold the whole
-- request uses the long-context rates; batch/flex/priority scale every bucket. No price, or no
-- rate for the request's tier: cost is NULL and the request is counted as unpriced, never 0.
-- Requests answered from the application's own cache cost 0; what they would have cost is savings.
with requests as (
    select * from intermediate.int_requests_enriched
),

prices as (
    select * from intermediate.int_model_prices
),

priced_models as (
    select distinct
        provider,
        model
    from prices
),

with_price_model as (
    -- Dated aliases (gpt-4o-2024-08-06, claude-sonnet-4-5-20250929, model@20240620) use their
    -- own price when one exists, else the undated model's.
    select
        requests.*,
        case
            when exact.model is not null then requests.model
            else regexp_replace(requests.model, '(-\d{4}-\d{2}-\d{2}|-\d{8}|@\d{8})$', '')
        end as price_model
    from requests
    left join priced_models as exact
        on exact.provider = requests.provider
        and exact.model = requests.model
),

price_tiers as (
    -- Each price row at each service tier and context length: a request's rates are one of these.
    select
        prices.*,
        tiers.service_tier,
        context.is_long_context,
        case tiers.service_tier
            when 'standard' then 1::numeric
            when 'batch' then prices.batch_multiplier
            when 'flex' then prices.flex_multiplier
            when 'priority' then prices.priority_multiplier
        end as tier_multiplier
    from prices
    cross join (values ('standard'), ('batch'), ('flex'), ('priority')) as tiers (service_tier)
    cross join (values (true), (false)) as context (is_long_context)
),

price_rates as (
    -- The rates per token, computed once per price row, tier and context length instead of once
    -- per request (numeric multiplication was most of this model's time).
    select
        provider,
        model,
        effective_from,
        effective_to,
        long_context_threshold,
        service_tier,
        is_long_context,
        tier_multiplier,
        (case when is_long_context then lc_input_per_mtok else input_per_mtok end) * tier_multiplier * 0.000001 as uncached_input_rate,
        (case when is_long_context then lc_cache_read_per_mtok else cache_read_per_mtok end) * tier_multiplier * 0.000001 as cache_read_rate,
        (case when is_long_context then lc_cache_write_5m_per_mtok else cache_write_5m_per_mtok end) * tier_multiplier * 0.000001 as cache_write_5m_rate,
        (case when is_long_context then lc_cache_write_1h_per_mtok else cache_write_1h_per_mtok end) * tier_multiplier * 0.000001 as cache_write_1h_rate,
        (case when is_long_context then lc_output_per_mtok else output_per_mtok end) * tier_multiplier * 0.000001 as output_rate,
        (case when is_long_context then lc_reasoning_per_mtok else reasoning_per_mtok end) * tier_multiplier * 0.000001 as reasoning_rate
    from price_tiers
),

rates as (
    -- The price in force at the request's timestamp, at its tier and context length (above the
    -- threshold: long; no input tokens: the standard rates).
    select
        with_price_model.*,
        price_rates.effective_from as price_effective_from,
        coalesce(price_rates.is_long_context, false) as is_long_context,
        -- Standard is 1 whether or not a price is in force.
        case when with_price_model.service_tier = 'standard' then 1::numeric else price_rates.tier_multiplier end as tier_multiplier,
        price_rates.uncached_input_rate,
        price_rates.cache_read_rate,
        price_rates.cache_write_5m_rate,
        price_rates.cache_write_1h_rate,
        price_rates.output_rate,
        price_rates.reasoning_rate
    from with_price_model
    left join price_rates
        on price_rates.provider = with_price_model.provider
        and price_rates.model = with_price_model.price_model
        and price_rates.service_tier = with_price_model.service_tier
        and with_price_model.event_at >= price_rates.effective_from
        and with_price_model.event_at < price_rates.effective_to
        and price_rates.is_long_context = coalesce(price_rates.long_context_threshold is not null and with_price_model.input_tokens > price_rates.long_context_threshold, false)
),

bucket_costs as (
    select
        rates.*,
        uncached_input_tokens * uncached_input_rate as list_uncached_input_cost_usd,
        cache_read_tokens * cache_read_rate as list_cache_read_cost_usd,
        cache_write_5m_tokens * cache_write_5m_rate + cache_write_1h_tokens * cache_write_1h_rate as list_cache_write_cost_usd,
        output_excl_reasoning_tokens * output_rate as list_output_cost_usd,
        reasoning_tokens * reasoning_rate as list_reasoning_cost_usd,
        -- What cache reads would have cost as uncached input: the provider-cache saving.
        cache_read_tokens * (uncached_input_rate - cache_read_rate) as cache_read_savings_usd
    from rates
),

final as (
    select
        bucket_costs.*,
        list_uncached_input_cost_usd + list_cache_read_cost_usd + list_cache_write_cost_usd
            + list_output_cost_usd + list_reasoning_cost_usd as list_cost_usd,
        not is_cache_hit and uncached_input_rate is null as is_unpriced,
        case when is_cache_hit then 0 else list_uncached_input_cost_usd end as uncached_input_cost_usd,
        case when is_cache_hit then 0 else list_cache_read_cost_usd end as cache_read_cost_usd,
        case when is_cache_hit then 0 else list_cache_write_cost_usd end as cache_write_cost_usd,
        case when is_cache_hit then 0 else list_output_cost_usd end as output_cost_usd,
        case when is_cache_hit then 0 else list_reasoning_cost_usd end as reasoning_cost_usd
    from bucket_costs
)

select * from final
