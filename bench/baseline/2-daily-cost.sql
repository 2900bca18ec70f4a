-- The hand-written baseline, statement 2 of 2 (bench:compare): the daily cost mart, priced with the
-- same price seeds and rules as tokenmart (price in force at the request's time, curated prices
-- over the community list, long-context rates above the threshold, tier multipliers, cache hits
-- free), with p95 latency. The bench's events have no dated model aliases, so none are resolved.
create table baseline_daily_cost as
with price_rows as (
    select * from seeds.model_prices
    union all
    select imported.*
    from seeds.model_prices_imported as imported
    where not exists (
        select 1 from seeds.model_prices as curated
        where lower(curated.provider) = lower(imported.provider) and curated.model = imported.model
    )
),

prices as (
    select
        lower(provider) as provider,
        model,
        effective_from,
        coalesce(lead(effective_from) over (partition by lower(provider), model order by effective_from), 'infinity') as effective_to,
        long_context_threshold,
        input_per_mtok,
        output_per_mtok,
        coalesce(cache_read_per_mtok, input_per_mtok) as cache_read_per_mtok,
        coalesce(cache_write_5m_per_mtok, input_per_mtok) as cache_write_5m_per_mtok,
        coalesce(cache_write_1h_per_mtok, cache_write_5m_per_mtok, input_per_mtok) as cache_write_1h_per_mtok,
        coalesce(reasoning_per_mtok, output_per_mtok) as reasoning_per_mtok,
        coalesce(lc_input_per_mtok, input_per_mtok) as lc_input_per_mtok,
        coalesce(lc_output_per_mtok, output_per_mtok) as lc_output_per_mtok,
        coalesce(lc_cache_read_per_mtok, cache_read_per_mtok, lc_input_per_mtok, input_per_mtok) as lc_cache_read_per_mtok,
        coalesce(lc_cache_write_5m_per_mtok, lc_input_per_mtok, cache_write_5m_per_mtok, input_per_mtok) as lc_cache_write_5m_per_mtok,
        coalesce(lc_cache_write_1h_per_mtok, lc_cache_write_5m_per_mtok, cache_write_1h_per_mtok, lc_input_per_mtok, input_per_mtok) as lc_cache_write_1h_per_mtok,
        coalesce(reasoning_per_mtok, lc_output_per_mtok, output_per_mtok) as lc_reasoning_per_mtok,
        batch_multiplier,
        flex_multiplier,
        priority_multiplier
    from price_rows
),

priced as (
    select
        e.*,
        case
            when e.is_cache_hit then 0
            else (
                (e.input_tokens - e.cache_read_tokens - e.cache_write_tokens) * (case when lc then p.lc_input_per_mtok else p.input_per_mtok end)
                + e.cache_read_tokens * (case when lc then p.lc_cache_read_per_mtok else p.cache_read_per_mtok end)
                + (e.cache_write_tokens - e.cache_write_1h_tokens) * (case when lc then p.lc_cache_write_5m_per_mtok else p.cache_write_5m_per_mtok end)
                + e.cache_write_1h_tokens * (case when lc then p.lc_cache_write_1h_per_mtok else p.cache_write_1h_per_mtok end)
                + (e.output_tokens - e.reasoning_tokens) * (case when lc then p.lc_output_per_mtok else p.output_per_mtok end)
                + e.reasoning_tokens * (case when lc then p.lc_reasoning_per_mtok else p.reasoning_per_mtok end)
            ) * (case e.service_tier when 'standard' then 1 when 'batch' then p.batch_multiplier when 'flex' then p.flex_multiplier else p.priority_multiplier end)
              * 0.000001
        end as cost_usd
    from baseline_events as e
    left join prices as p
        on p.provider = e.provider and p.model = e.model and e.event_at >= p.effective_from and e.event_at < p.effective_to
    cross join lateral (select p.long_context_threshold is not null and e.input_tokens > p.long_context_threshold as lc) as l
)

select
    (event_at at time zone 'UTC')::date as usage_date,
    team,
    feature,
    provider,
    model,
    count(*) as requests,
    sum(cost_usd) as cost_usd,
    percentile_cont(0.95) within group (order by latency_ms) as latency_p95_ms
from priced
group by 1, 2, 3, 4, 5
