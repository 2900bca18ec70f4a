-- Quality signals per UTC day x feature x model x prompt_version: feedback, eval scores,
-- refusals, guardrail flags, outcomes and satisfaction. Rates are over the requests that carry
-- the signal (e.g. thumbs-up rate = up / (up + down)).
with requests as (
    select *
    from marts.fct_requests
    where usage_date >= tokenmart.window_start_date()
        and usage_date < tokenmart.window_end_date()
),

keyed as not materialized (
    -- Read twice: not materialized, so neither read copies every column of every request.
    select
        requests.*,
        coalesce(prompt_version, '(none)') as prompt_version_key
    from requests
),

eval_scores as (
    select
        usage_date,
        feature,
        model,
        prompt_version_key,
        jsonb_object_agg(score_name, round(avg_score, 4) order by score_name) as eval_score_avgs
    from (
        select
            keyed.usage_date,
            keyed.feature,
            keyed.model,
            keyed.prompt_version_key,
            scores.key as score_name,
            avg(scores.value::numeric) as avg_score
        from keyed
        cross join lateral jsonb_each_text(keyed.eval_scores) as scores
        group by 1, 2, 3, 4, 5
    ) as per_name
    group by usage_date, feature, model, prompt_version_key
),

signals as (
    select
        usage_date,
        feature,
        model,
        prompt_version_key as prompt_version,
        count(*) as requests,
        count(feedback) as feedback_count,
        count(*) filter (where feedback = 1) as thumbs_up,
        count(*) filter (where feedback = -1) as thumbs_down,
        (count(*) filter (where feedback = 1))::numeric / nullif(count(feedback), 0) as thumbs_up_rate,
        count(eval_scores) as eval_scored_requests,
        (count(*) filter (where is_refusal))::numeric / nullif(count(is_refusal), 0) as refusal_rate,
        (count(*) filter (where has_guardrail_flag))::numeric / count(*) as guardrail_flag_rate,
        count(outcome) as outcome_count,
        (count(*) filter (where outcome = 'resolved'))::numeric / nullif(count(outcome), 0) as resolved_rate,
        (count(*) filter (where outcome = 'escalated'))::numeric / nullif(count(outcome), 0) as escalated_rate,
        (count(*) filter (where outcome = 'abandoned'))::numeric / nullif(count(outcome), 0) as abandoned_rate,
        count(user_satisfaction_score) as satisfaction_responses,
        avg(user_satisfaction_score) as avg_user_satisfaction_score
    from keyed
    group by usage_date, feature, model, prompt_version_key
),

final as (
    select
        signals.*,
        coalesce(eval_scores.eval_score_avgs, '{}'::jsonb) as eval_score_avgs
    from signals
    left join eval_scores
        on eval_scores.usage_date = signals.usage_date
        and eval_scores.feature = signals.feature
        and eval_scores.model = signals.model
        and eval_scores.prompt_version_key = signals.prompt_version
)

select * from final
