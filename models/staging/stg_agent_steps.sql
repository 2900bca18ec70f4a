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

all_copies as (
    -- Every loaded copy, whatever its day: the copy that wins may sit on another day.
    select * from raw.events
),

ranked_copies as (
    select
        request_id,
        file_id,
        line_no,
        record_no,
        row_number() over (partition by request_id order by file_id, line_no, record_no) as copy_rank
    from all_copies
    where request_id in (select steps.request_id from steps)
),

first_copies as (
    select steps.*
    from steps
    inner join ranked_copies
        on ranked_copies.request_id = steps.request_id
        and ranked_copies.file_id = steps.file_id
        and ranked_copies.line_no = steps.line_no
        and ranked_copies.record_no = steps.record_no
    where ranked_copies.copy_rank = 1
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
