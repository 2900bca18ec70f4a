-- Curated dated prices, plus community-list prices for models the curated seed does not cover.
with curated as (
    select * from seeds.model_prices
),

community as (
    select * from seeds.model_prices_imported
),

imported as (
    select community.*
    from community
    left join curated
        on lower(curated.provider) = lower(community.provider)
        and curated.model = community.model
    where curated.model is null
),

prices as (
    select * from curated
    union all
    select * from imported
),

final as (
    select
        lower(provider) as provider,
        model,
        effective_from,
        input_per_mtok,
        output_per_mtok,
        cache_read_per_mtok,
        cache_write_5m_per_mtok,
        cache_write_1h_per_mtok,
        reasoning_per_mtok,
        long_context_threshold,
        lc_input_per_mtok,
        lc_output_per_mtok,
        lc_cache_read_per_mtok,
        lc_cache_write_5m_per_mtok,
        lc_cache_write_1h_per_mtok,
        batch_multiplier,
        flex_multiplier,
        priority_multiplier,
        source as price_source
    from prices
)

select * from final
