-- Daily spend against what the same weekday of the previous 4 weeks leads one to expect, per
-- team x feature x model and per tenant. Expected = the median of those 4 days (a day without
-- spend counts as 0), scale = 1.4826 x their median absolute deviation (floored at 10% of the
-- expected spend and 1 cent, so a flat series does not turn noise into a flag), score =
-- (spend - expected) / scale. A day is flagged at |score| >= min_score when its spend is at least
-- min_ratio times the expected spend (or at most 1/min_ratio of it) and it or the expected spend
-- reaches spend_floor_usd (seeds.anomaly_settings). Drivers compare the day
-- with the mean of the 4 days: requests, tokens per request, retry, error and cache-hit shares,
-- the rates paid per token bucket, and the response model.
with daily_requests as (
    select * from marts.fct_daily_requests
),

settings as (
    select * from staging.stg_anomaly_settings
),

answered as (
    select
        *,
        coalesce(response_model, model) as answered_by
    from daily_requests
),

series_model_days as (
    -- Each series' day, per model that answered (the day's main one is the one most requests got).
    select
        case when grouping(tenant) = 1 then 'feature_model' else 'tenant' end as scope_type,
        case when grouping(tenant) = 1 then team || ' / ' || feature || ' / ' || model else tenant end as series_key,
        usage_date,
        team,
        feature,
        model,
        tenant,
        answered_by,
        sum(cost_usd) as spend_usd,
        sum(requests) as requests,
        sum(input_tokens + output_tokens) as tokens,
        sum(retry_requests) as retries,
        sum(error_requests) as errors,
        sum(cache_hit_requests) as cache_hits,
        sum(uncached_input_tokens) as uncached_input_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(cache_write_tokens) as cache_write_tokens,
        sum(output_excl_reasoning_tokens) as output_tokens,
        sum(reasoning_tokens) as reasoning_tokens,
        sum(uncached_input_cost_usd) as uncached_input_cost_usd,
        sum(cache_read_cost_usd) as cache_read_cost_usd,
        sum(cache_write_cost_usd) as cache_write_cost_usd,
        sum(output_cost_usd) as output_cost_usd,
        sum(reasoning_cost_usd) as reasoning_cost_usd
    from answered
    group by grouping sets ((usage_date, team, feature, model, answered_by), (usage_date, tenant, answered_by))
),

series_days as (
    select
        scope_type,
        series_key,
        usage_date,
        team,
        feature,
        model,
        tenant,
        sum(spend_usd) as spend_usd,
        sum(requests)::bigint as requests,
        sum(tokens) as tokens,
        sum(retries)::bigint as retries,
        sum(errors)::bigint as errors,
        sum(cache_hits)::bigint as cache_hits,
        -- The mode: most requests, the first name on a tie (as mode() picks).
        (array_agg(answered_by order by requests desc, answered_by))[1] as response_model,
        sum(uncached_input_tokens) as uncached_input_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(cache_write_tokens) as cache_write_tokens,
        sum(output_tokens) as output_tokens,
        sum(reasoning_tokens) as reasoning_tokens,
        sum(uncached_input_cost_usd) as uncached_input_cost_usd,
        sum(cache_read_cost_usd) as cache_read_cost_usd,
        sum(cache_write_cost_usd) as cache_write_cost_usd,
        sum(output_cost_usd) as output_cost_usd,
        sum(reasoning_cost_usd) as reasoning_cost_usd
    from series_model_days
    group by scope_type, series_key, usage_date, team, feature, model, tenant
),

series_starts as (
    select
        scope_type,
        series_key,
        min(usage_date) as first_date
    from series_days
    group by scope_type, series_key
),

baseline_days as (
    -- The same weekday 1 to 4 weeks back; a missing day is a day without spend.
    select
        series_days.scope_type,
        series_days.series_key,
        series_days.usage_date,
        weeks_back,
        coalesce(earlier.spend_usd, 0) as spend_usd,
        coalesce(earlier.requests, 0) as requests,
        coalesce(earlier.tokens, 0) as tokens,
        coalesce(earlier.retries, 0) as retries,
        coalesce(earlier.errors, 0) as errors,
        coalesce(earlier.cache_hits, 0) as cache_hits,
        earlier.response_model,
        coalesce(earlier.uncached_input_tokens, 0) as uncached_input_tokens,
        coalesce(earlier.cache_read_tokens, 0) as cache_read_tokens,
        coalesce(earlier.cache_write_tokens, 0) as cache_write_tokens,
        coalesce(earlier.output_tokens, 0) as output_tokens,
        coalesce(earlier.reasoning_tokens, 0) as reasoning_tokens,
        coalesce(earlier.uncached_input_cost_usd, 0) as uncached_input_cost_usd,
        coalesce(earlier.cache_read_cost_usd, 0) as cache_read_cost_usd,
        coalesce(earlier.cache_write_cost_usd, 0) as cache_write_cost_usd,
        coalesce(earlier.output_cost_usd, 0) as output_cost_usd,
        coalesce(earlier.reasoning_cost_usd, 0) as reasoning_cost_usd
    from series_days
    cross join generate_series(1, 4) as weeks_back
    left join series_days as earlier
        on earlier.scope_type = series_days.scope_type
        and earlier.series_key = series_days.series_key
        and earlier.usage_date = series_days.usage_date - 7 * weeks_back
),

baselines as (
    -- The 4 days' spend, sorted: their median is the mean of the middle two, and the median
    -- absolute deviation is the same over the 4 distances to it. One aggregate, no self-join.
    select
        scope_type,
        series_key,
        usage_date,
        array_agg(spend_usd order by spend_usd) as spends,
        avg(spend_usd) as spend_usd,
        avg(requests) as requests,
        sum(tokens) as tokens,
        sum(requests) as all_requests,
        sum(retries) as retries,
        sum(errors) as errors,
        sum(cache_hits) as cache_hits,
        mode() within group (order by response_model) as response_model,
        array_agg(distinct response_model) filter (where response_model is not null) as response_models,
        sum(uncached_input_tokens) as uncached_input_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(cache_write_tokens) as cache_write_tokens,
        sum(output_tokens) as output_tokens,
        sum(reasoning_tokens) as reasoning_tokens,
        sum(uncached_input_cost_usd) as uncached_input_cost_usd,
        sum(cache_read_cost_usd) as cache_read_cost_usd,
        sum(cache_write_cost_usd) as cache_write_cost_usd,
        sum(output_cost_usd) as output_cost_usd,
        sum(reasoning_cost_usd) as reasoning_cost_usd
    from baseline_days
    group by scope_type, series_key, usage_date
),

baseline_spread as (
    select
        baselines.*,
        (baselines.spends[2] + baselines.spends[3]) / 2 as expected_usd,
        mad.mad_usd
    from baselines
    cross join lateral (
        select (distances[2] + distances[3]) / 2 as mad_usd
        from (
            select array_agg(abs(spend - (baselines.spends[2] + baselines.spends[3]) / 2) order by abs(spend - (baselines.spends[2] + baselines.spends[3]) / 2)) as distances
            from unnest(baselines.spends) as spend
        ) as sorted
    ) as mad
),

scored as (
    select
        series_days.*,
        -- Scored once the series has 4 weeks behind it: before that, the baseline is not data.
        series_days.usage_date - 28 >= series_starts.first_date as has_history,
        baseline_spread.expected_usd,
        greatest(1.4826 * baseline_spread.mad_usd, 0.1 * baseline_spread.expected_usd, 0.01) as scale_usd,
        baseline_spread.spend_usd as base_mean_spend_usd,
        baseline_spread.requests as base_mean_requests,
        baseline_spread.tokens::numeric / nullif(baseline_spread.all_requests, 0) as base_tokens_per_request,
        baseline_spread.retries::numeric / nullif(baseline_spread.all_requests, 0) as base_retry_share,
        baseline_spread.errors::numeric / nullif(baseline_spread.all_requests, 0) as base_error_share,
        baseline_spread.cache_hits::numeric / nullif(baseline_spread.all_requests, 0) as base_cache_hit_rate,
        baseline_spread.response_model as base_response_model,
        baseline_spread.response_models as base_response_models,
        -- The day's tokens at the baseline's rate per token of each bucket (the day's own rate
        -- where the baseline had none of that bucket): what the day would have cost at old prices.
        coalesce(series_days.uncached_input_tokens * baseline_spread.uncached_input_cost_usd / nullif(baseline_spread.uncached_input_tokens, 0), series_days.uncached_input_cost_usd)
            + coalesce(series_days.cache_read_tokens * baseline_spread.cache_read_cost_usd / nullif(baseline_spread.cache_read_tokens, 0), series_days.cache_read_cost_usd)
            + coalesce(series_days.cache_write_tokens * baseline_spread.cache_write_cost_usd / nullif(baseline_spread.cache_write_tokens, 0), series_days.cache_write_cost_usd)
            + coalesce(series_days.output_tokens * baseline_spread.output_cost_usd / nullif(baseline_spread.output_tokens, 0), series_days.output_cost_usd)
            + coalesce(series_days.reasoning_tokens * baseline_spread.reasoning_cost_usd / nullif(baseline_spread.reasoning_tokens, 0), series_days.reasoning_cost_usd)
            as spend_at_base_rates_usd
    from series_days
    inner join baseline_spread
        on baseline_spread.scope_type = series_days.scope_type
        and baseline_spread.series_key = series_days.series_key
        and baseline_spread.usage_date = series_days.usage_date
    inner join series_starts
        on series_starts.scope_type = series_days.scope_type
        and series_starts.series_key = series_days.series_key
),

effects as (
    -- Log contributions to spend / baseline mean spend: they add up (the mix effect is the rest).
    select
        scored.*,
        (spend_usd - expected_usd) / scale_usd as score,
        ln(requests / nullif(base_mean_requests, 0)) as requests_effect,
        ln(nullif(tokens::numeric / requests, 0) / nullif(base_tokens_per_request, 0)) as tokens_per_request_effect,
        ln(nullif(spend_usd, 0) / nullif(spend_at_base_rates_usd, 0)) as price_effect,
        ln(nullif(spend_usd, 0) / nullif(base_mean_spend_usd, 0)) as spend_effect
    from scored
),

final as (
    select
        effects.usage_date,
        effects.scope_type,
        effects.series_key,
        effects.team,
        effects.feature,
        effects.model,
        effects.tenant,
        effects.spend_usd,
        effects.has_history,
        round(effects.expected_usd, 6) as expected_usd,
        round(effects.score, 2) as score,
        case when effects.spend_usd >= effects.expected_usd then 'spike' else 'drop' end as direction,
        effects.has_history
            and abs(effects.score) >= settings.min_score
            and greatest(effects.spend_usd, effects.expected_usd) >= settings.spend_floor_usd
            and (effects.spend_usd >= settings.min_ratio * effects.expected_usd or settings.min_ratio * effects.spend_usd <= effects.expected_usd)
            as is_flagged,
        effects.requests,
        round(effects.base_mean_requests, 2) as base_requests,
        round(100 * (effects.requests / nullif(effects.base_mean_requests, 0) - 1), 1) as requests_change_pct,
        round(100 * ((effects.tokens::numeric / effects.requests) / nullif(effects.base_tokens_per_request, 0) - 1), 1) as tokens_per_request_change_pct,
        round(effects.retries::numeric / effects.requests, 4) as retry_share,
        round(effects.base_retry_share, 4) as base_retry_share,
        round(effects.errors::numeric / effects.requests, 4) as error_share,
        round(effects.base_error_share, 4) as base_error_share,
        round(effects.cache_hits::numeric / effects.requests, 4) as cache_hit_rate,
        round(effects.base_cache_hit_rate, 4) as base_cache_hit_rate,
        round(100 * (effects.spend_usd / nullif(effects.spend_at_base_rates_usd, 0) - 1), 1) as price_change_pct,
        effects.response_model,
        effects.base_response_model,
        case
            when not effects.has_history then null
            when coalesce(effects.base_mean_requests, 0) = 0 then 'new_spend'
            -- A silent version switch: the day's main response model was no baseline day's main one.
            when effects.scope_type = 'feature_model' and not effects.response_model = any(coalesce(effects.base_response_models, '{}')) then 'response_model'
            when abs(effects.requests_effect) >= greatest(abs(effects.tokens_per_request_effect), abs(effects.price_effect), abs(effects.spend_effect - effects.requests_effect - effects.tokens_per_request_effect - effects.price_effect))
                then case when effects.retries::numeric / effects.requests - coalesce(effects.base_retry_share, 0) >= 0.1 then 'retries' else 'requests' end
            when abs(effects.tokens_per_request_effect) >= greatest(abs(effects.price_effect), abs(effects.spend_effect - effects.requests_effect - effects.tokens_per_request_effect - effects.price_effect))
                then 'tokens_per_request'
            when abs(effects.price_effect) >= abs(effects.spend_effect - effects.requests_effect - effects.tokens_per_request_effect - effects.price_effect)
                then 'price'
            else 'token_mix'
        end as primary_driver
    from effects
    cross join settings
)

select * from final
