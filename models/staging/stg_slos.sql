-- SLOs (seeds.slos), one row per feature and objective: latency (a share of model calls within
-- the threshold) and availability (a share of requests without an error).
with slos as (
    select * from seeds.slos
),

objectives as (
    select
        feature,
        'latency' as objective,
        round(latency_percentile / 100, 6) as target,
        latency_threshold_ms,
        window_days
    from slos
    union all
    select
        feature,
        'availability' as objective,
        availability_target as target,
        null::numeric as latency_threshold_ms,
        window_days
    from slos
),

final as (
    select * from objectives
)

select * from final
