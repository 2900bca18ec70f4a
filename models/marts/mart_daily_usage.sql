-- Operations per UTC day x feature x provider x model: volume, users, errors, latency
-- percentiles (not averages), retries and cache hits.
with requests as not materialized (
    -- Read twice: not materialized, so neither read copies every column of every request.
    select *
    from marts.fct_requests
    where usage_date >= tokenmart.window_start_date()
        and usage_date < tokenmart.window_end_date()
),

errors_by_type as (
    select
        usage_date,
        feature,
        provider,
        model,
        jsonb_object_agg(error_type, error_count order by error_type) as errors_by_type
    from (
        select
            usage_date,
            feature,
            provider,
            model,
            coalesce(error_type, 'unknown') as error_type,
            count(*) as error_count
        from requests
        where is_error
        group by usage_date, feature, provider, model, coalesce(error_type, 'unknown')
    ) as typed
    group by usage_date, feature, provider, model
),

usage as (
    select
        usage_date,
        feature,
        provider,
        model,
        count(*) as requests,
        count(distinct user_id) as unique_users,
        count(distinct session_id) as unique_sessions,
        count(*) filter (where is_error) as error_requests,
        count(*) filter (where is_error)::numeric / count(*) as error_rate,
        count(*) filter (where retry_attempt > 0) as retried_requests,
        sum(retry_attempt) as retry_attempts,
        count(*) filter (where is_cache_hit)::numeric / count(*) as cache_hit_rate,
        -- Latency percentiles of model calls: application-cache hits (milliseconds) apart.
        percentile_cont(0.50) within group (order by latency_ms) filter (where not is_cache_hit) as latency_p50_ms,
        percentile_cont(0.95) within group (order by latency_ms) filter (where not is_cache_hit) as latency_p95_ms,
        percentile_cont(0.99) within group (order by latency_ms) filter (where not is_cache_hit) as latency_p99_ms,
        percentile_cont(0.50) within group (order by latency_ms) filter (where is_cache_hit) as cache_hit_latency_p50_ms,
        percentile_cont(0.50) within group (order by time_to_first_token_ms) as ttft_p50_ms,
        percentile_cont(0.95) within group (order by time_to_first_token_ms) as ttft_p95_ms,
        percentile_cont(0.99) within group (order by time_to_first_token_ms) as ttft_p99_ms,
        avg(input_tokens) as input_tokens_per_request,
        avg(output_tokens) as output_tokens_per_request
    from requests
    group by usage_date, feature, provider, model
),

final as (
    select
        usage.*,
        coalesce(errors_by_type.errors_by_type, '{}'::jsonb) as errors_by_type
    from usage
    left join errors_by_type
        on errors_by_type.usage_date = usage.usage_date
        and errors_by_type.feature = usage.feature
        and errors_by_type.provider = usage.provider
        and errors_by_type.model = usage.model
)

select * from final
