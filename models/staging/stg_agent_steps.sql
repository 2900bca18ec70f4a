-- One row per agent step (contract v3): an agent's run (`invoke_agent`) or a tool call
-- (`execute_tool`). Steps call no model, so they stay out of stg_events and every request count.
-- Duplicates are dropped as for model calls: the first loaded copy wins.
with steps as (
    select *
    from raw.events
    where event_at >= tokenmart.window_start()
        and event_at < tokenmart.window_end()
        and operation in ('invoke_agent', 'execute_tool')
),

firsts as (
    -- The first loaded copy of each request_id, whatever its day (kept by the loader).
    select * from raw.first_copies
),

first_copies as (
    select steps.*
    from steps
    inner join firsts
        on firsts.request_id = steps.request_id
        and firsts.file_id = steps.file_id
        and firsts.line_no = steps.line_no
        and firsts.record_no = steps.record_no
),

final as (
    select
        request_id as step_id,
        event_at,
        (event_at at time zone 'UTC')::date as usage_date,
        operation,
        task_id,
        trace_id,
        session_id,
        user_id,
        team as event_team,
        feature,
        lower(provider) as provider,
        model,
        tool_name,
        tool_call_hash,
        status = 'error' as is_error,
        error_type,
        latency_ms,
        outcome,
        schema_version,
        file_id as source_file_id,
        line_no as source_line_no
    from first_copies
)

select * from final
