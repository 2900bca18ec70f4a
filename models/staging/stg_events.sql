-- One row per model call (agent steps, which call no model, are staging.stg_agent_steps). Duplicates (same request_id: gateway replays, re-sent files) are
-- dropped here and only here: the first loaded copy wins (lowest file_id, then line_no, then
-- record_no: a line of another format can hold many events).
-- Token counts are split into non-overlapping buckets: the contract's input_tokens include cache
-- reads and writes, output_tokens include reasoning, so each token lands in exactly one bucket.
with events as (
    select *
    from raw.events
    where event_at >= tokenmart.window_start()
        and event_at < tokenmart.window_end()
        and coalesce(operation, 'chat') not in ('invoke_agent', 'execute_tool')
),

firsts as (
    -- The first loaded copy of each request_id, whatever its day: the loader keeps it in
    -- raw.first_copies as it loads (raw is partitioned by day, request_id is not the key).
    select * from raw.first_copies
),

first_copies as (
    select events.*
    from events
    inner join firsts
        on firsts.request_id = events.request_id
        and firsts.file_id = events.file_id
        and firsts.line_no = events.line_no
        and firsts.record_no = events.record_no
),

final as (
    select
        request_id,
        event_at,
        (event_at at time zone 'UTC')::date as usage_date,
        lower(provider) as provider,
        model,
        coalesce(response_model, model) as response_model,
        coalesce(operation, 'chat') as operation,
        session_id,
        trace_id,
        user_id,
        team as event_team,
        feature,
        tenant,
        environment,
        prompt_version,
        status = 'error' as is_error,
        error_type,
        coalesce(retry_attempt, 0) as retry_attempt,
        coalesce(cache_hit, false) as is_cache_hit,
        coalesce(service_tier, 'standard') as service_tier,
        latency_ms,
        time_to_first_token_ms,
        input_tokens,
        output_tokens,
        input_tokens - coalesce(cache_read_tokens, 0) - coalesce(cache_write_tokens, 0) as uncached_input_tokens,
        coalesce(cache_read_tokens, 0) as cache_read_tokens,
        coalesce(cache_write_tokens, 0) - coalesce(cache_write_1h_tokens, 0) as cache_write_5m_tokens,
        coalesce(cache_write_1h_tokens, 0) as cache_write_1h_tokens,
        output_tokens - coalesce(reasoning_tokens, 0) as output_excl_reasoning_tokens,
        coalesce(reasoning_tokens, 0) as reasoning_tokens,
        reported_cost_usd,
        feedback,
        eval_scores,
        refusal as is_refusal,
        guardrail_flags,
        outcome,
        stages,
        tags,
        user_satisfaction_score,
        task_id,
        tool_name,
        tool_call_hash,
        retrieved_documents,
        prompt_chars,
        completion_chars,
        schema_version,
        file_id as source_file_id,
        line_no as source_line_no
    from first_copies
)

select * from final
