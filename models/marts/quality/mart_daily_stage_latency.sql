-- Where the time goes inside a request: per UTC day x feature x stage (the `stages` array of an
-- event: retrieval, rerank, llm, ...), how many requests ran the stage, its p50/p95/p99
-- duration, and its share of the end-to-end latency of the requests that report stages.
-- Application-cache hits are left out (they run no stage worth timing).
with requests as (
    select * from marts.fct_requests
    where usage_date >= tokenmart.window_start_date()
        and usage_date < tokenmart.window_end_date()
),

staged_requests as (
    select
        request_id,
        usage_date,
        feature,
        latency_ms,
        stages
    from requests
    where not is_cache_hit
        and jsonb_typeof(stages) = 'array'
        and jsonb_array_length(stages) > 0
),

stage_durations as (
    select
        staged_requests.request_id,
        staged_requests.usage_date,
        staged_requests.feature,
        staged.stage ->> 'name' as stage,
        (staged.stage ->> 'duration_ms')::double precision as duration_ms
    from staged_requests
    cross join lateral jsonb_array_elements(staged_requests.stages) as staged (stage)
    where staged.stage ->> 'name' is not null
        and jsonb_typeof(staged.stage -> 'duration_ms') = 'number'
),

end_to_end as (
    select
        usage_date,
        feature,
        count(*) as staged_requests,
        sum(latency_ms) as latency_ms_total
    from staged_requests
    group by usage_date, feature
),

per_stage as (
    select
        usage_date,
        feature,
        stage,
        count(distinct request_id) as requests,
        percentile_cont(0.5) within group (order by duration_ms) as p50_ms,
        percentile_cont(0.95) within group (order by duration_ms) as p95_ms,
        percentile_cont(0.99) within group (order by duration_ms) as p99_ms,
        sum(duration_ms) as duration_ms_total
    from stage_durations
    group by usage_date, feature, stage
),

final as (
    select
        per_stage.usage_date,
        per_stage.feature,
        per_stage.stage,
        per_stage.requests,
        end_to_end.staged_requests,
        round(per_stage.p50_ms::numeric, 1) as p50_ms,
        round(per_stage.p95_ms::numeric, 1) as p95_ms,
        round(per_stage.p99_ms::numeric, 1) as p99_ms,
        round((per_stage.duration_ms_total / nullif(end_to_end.latency_ms_total, 0))::numeric, 4) as latency_share
    from per_stage
    inner join end_to_end
        on end_to_end.usage_date = per_stage.usage_date
        and end_to_end.feature = per_stage.feature
)

select * from final
