-- Retrieval-augmented requests per UTC day x feature: those that ran a `retrieval` stage or report
-- retrieved_documents (contract v3). How long retrieval took (p50/p95 of the stage), how many
-- documents a query got, and the averages of the RAG eval scores (context_precision,
-- context_recall, faithfulness, answer_relevancy, and any other name the events carry).
with requests as (
    select * from marts.fct_requests
    where usage_date >= tokenmart.window_start_date()
        and usage_date < tokenmart.window_end_date()
),

rag_requests as (
    select
        request_id,
        usage_date,
        feature,
        retrieved_documents,
        eval_scores,
        (
            select sum((stage ->> 'duration_ms')::double precision)
            from jsonb_array_elements(case when jsonb_typeof(stages) = 'array' then stages else '[]'::jsonb end) as stage
            where stage ->> 'name' = 'retrieval' and jsonb_typeof(stage -> 'duration_ms') = 'number'
        ) as retrieval_ms
    from requests
    -- Only requests that can be retrieving reach the per-row stage scan.
    where not is_cache_hit
        and (jsonb_typeof(stages) = 'array' or retrieved_documents is not null)
),

retrieving as (
    select *
    from rag_requests
    where retrieval_ms is not null or retrieved_documents is not null
),

daily as (
    select
        usage_date,
        feature,
        count(*) as rag_requests,
        percentile_cont(0.5) within group (order by retrieval_ms) as retrieval_p50_ms,
        percentile_cont(0.95) within group (order by retrieval_ms) as retrieval_p95_ms,
        avg(retrieved_documents) as documents_per_query,
        percentile_cont(0.5) within group (order by retrieved_documents) as documents_p50
    from retrieving
    group by usage_date, feature
),

eval_averages as (
    select
        usage_date,
        feature,
        jsonb_object_agg(score_name, round(avg_score, 4) order by score_name) as eval_score_avgs
    from (
        select
            retrieving.usage_date,
            retrieving.feature,
            scores.key as score_name,
            avg(scores.value::numeric) as avg_score
        from retrieving
        cross join lateral jsonb_each_text(retrieving.eval_scores) as scores
        group by retrieving.usage_date, retrieving.feature, scores.key
    ) as per_name
    group by usage_date, feature
),

final as (
    select
        daily.usage_date,
        daily.feature,
        daily.rag_requests,
        round(daily.retrieval_p50_ms::numeric, 1) as retrieval_p50_ms,
        round(daily.retrieval_p95_ms::numeric, 1) as retrieval_p95_ms,
        round(daily.documents_per_query, 2) as documents_per_query,
        daily.documents_p50,
        coalesce(eval_averages.eval_score_avgs, '{}'::jsonb) as eval_score_avgs
    from daily
    left join eval_averages
        on eval_averages.usage_date = daily.usage_date
        and eval_averages.feature = daily.feature
)

select * from final
