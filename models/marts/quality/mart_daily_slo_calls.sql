-- Per UTC day x feature x SLO objective (seeds.slos): the day's model calls and good calls.
-- Application-cache hits are not calls. latency: successful calls, good within the threshold;
-- availability: every call, good when it did not fail. mart_slo_status windows these counts.
with slos as (
    select * from staging.stg_slos
),

requests as (
    select * from marts.fct_requests
    where usage_date >= tokenmart.window_start_date()
        and usage_date < tokenmart.window_end_date()
),

model_calls as (
    select
        usage_date,
        feature,
        is_error,
        latency_ms
    from requests
    where not is_cache_hit
),

final as (
    select
        model_calls.usage_date,
        slos.feature,
        slos.objective,
        count(*) filter (where slos.objective = 'availability' or not model_calls.is_error) as calls,
        count(*) filter (
            where (slos.objective = 'availability' and not model_calls.is_error)
                or (slos.objective = 'latency' and not model_calls.is_error and model_calls.latency_ms <= slos.latency_threshold_ms)
        ) as good_calls
    from model_calls
    inner join slos on slos.feature = model_calls.feature
    group by model_calls.usage_date, slos.feature, slos.objective
)

select * from final
