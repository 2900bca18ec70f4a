-- Each price row with the instant it stops applying, and every empty price resolved to the rate
-- the provider actually bills (see seeds/_seeds.yml), so pricing below never meets a null rate
-- it should have known.
with prices as (
    select * from staging.stg_model_prices
),

dated as (
    select
        prices.*,
        coalesce(
            lead(effective_from) over (partition by provider, model order by effective_from),
            'infinity'::timestamptz
        ) as effective_to
    from prices
),

final as (
    select
        provider,
        model,
        effective_from,
        effective_to,
        input_per_mtok,
        output_per_mtok,
        coalesce(cache_read_per_mtok, input_per_mtok) as cache_read_per_mtok,
        coalesce(cache_write_5m_per_mtok, input_per_mtok) as cache_write_5m_per_mtok,
        coalesce(cache_write_1h_per_mtok, cache_write_5m_per_mtok, input_per_mtok) as cache_write_1h_per_mtok,
        coalesce(reasoning_per_mtok, output_per_mtok) as reasoning_per_mtok,
        long_context_threshold,
        coalesce(lc_input_per_mtok, input_per_mtok) as lc_input_per_mtok,
        coalesce(lc_output_per_mtok, output_per_mtok) as lc_output_per_mtok,
        coalesce(lc_cache_read_per_mtok, cache_read_per_mtok, lc_input_per_mtok, input_per_mtok) as lc_cache_read_per_mtok,
        coalesce(lc_cache_write_5m_per_mtok, lc_input_per_mtok, cache_write_5m_per_mtok, input_per_mtok) as lc_cache_write_5m_per_mtok,
        coalesce(lc_cache_write_1h_per_mtok, lc_cache_write_5m_per_mtok, cache_write_1h_per_mtok, lc_input_per_mtok, input_per_mtok) as lc_cache_write_1h_per_mtok,
        coalesce(reasoning_per_mtok, lc_output_per_mtok, output_per_mtok) as lc_reasoning_per_mtok,
        batch_multiplier,
        flex_multiplier,
        priority_multiplier,
        price_source
    from dated
)

select * from final
