-- Per week (Monday, UTC) x feature x model: how many requests had each value of each metric drift
-- compares (input and output tokens, latency without application-cache hits, each eval score),
-- the requests that reported a refusal (value 1) or not (0), every request ('requests', value 0),
-- and those that raised each guardrail flag ('guardrail:<flag>', value 1). mart_quality_drift
-- reads these counts instead of the requests: the same tests on far fewer rows, and a new day
-- recounts one week. It reads the staged requests: none of its columns is a price or an owner, so
-- it builds beside fct_requests (the drift chain is a build's longest), and skips the owner joins
-- (about a quarter of its time, measured on 1M requests).
with requests as (
    select * from staging.stg_events
    where usage_date >= tokenmart.window_start_date()
        and usage_date < tokenmart.window_end_date()
),

weekly_requests as (
    select
        date_trunc('week', usage_date)::date as week_start,
        coalesce(feature, '(none)') as feature,
        model,
        input_tokens,
        output_tokens,
        is_error,
        is_cache_hit,
        latency_ms,
        eval_scores,
        is_refusal,
        guardrail_flags
    from requests
),

observations as (
    -- Each metric counted on its own: smaller groups than one count over all of them.
    select week_start, feature, model, 'input_tokens' as metric, input_tokens::double precision as value, count(*) as n
    from weekly_requests
    group by week_start, feature, model, input_tokens
    union all
    select week_start, feature, model, 'output_tokens' as metric, output_tokens::double precision as value, count(*) as n
    from weekly_requests
    where not is_error
    group by week_start, feature, model, output_tokens
    union all
    select week_start, feature, model, 'latency_ms' as metric, latency_ms as value, count(*) as n
    from weekly_requests
    where not is_cache_hit and latency_ms is not null
    group by week_start, feature, model, latency_ms
    union all
    select weekly_requests.week_start, weekly_requests.feature, weekly_requests.model, 'eval:' || scores.key as metric, scores.value::double precision as value, count(*) as n
    from weekly_requests
    cross join lateral jsonb_each_text(weekly_requests.eval_scores) as scores
    where weekly_requests.eval_scores is not null
    group by weekly_requests.week_start, weekly_requests.feature, weekly_requests.model, scores.key, scores.value::double precision
    union all
    select week_start, feature, model, 'is_refusal' as metric, case when is_refusal then 1 else 0 end as value, count(*) as n
    from weekly_requests
    where is_refusal is not null
    group by week_start, feature, model, is_refusal
    union all
    select week_start, feature, model, 'requests' as metric, 0 as value, count(*) as n
    from weekly_requests
    group by week_start, feature, model
    union all
    -- A flag listed twice on one request counts once.
    select weekly_requests.week_start, weekly_requests.feature, weekly_requests.model, 'guardrail:' || flags.flag as metric, 1 as value, count(*) as n
    from weekly_requests
    cross join lateral (
        select distinct raised.flag
        from jsonb_array_elements_text(weekly_requests.guardrail_flags) as raised (flag)
    ) as flags
    where jsonb_typeof(weekly_requests.guardrail_flags) = 'array'
    group by weekly_requests.week_start, weekly_requests.feature, weekly_requests.model, flags.flag
),

final as (
    select * from observations
)

select * from final
