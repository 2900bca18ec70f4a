-- One row per agent task: its steps (model calls and tool calls), tool calls by tool, tokens,
-- cost, duration, outcome and loops. A task is a task_id, or else a trace_id that holds agent
-- steps (OpenTelemetry traces group an agent's run, its tool calls and its model calls). Model
-- calls come from fct_requests, priced; tool calls and agent runs from stg_agent_steps.
with steps as (
    select * from staging.stg_agent_steps
),

requests as not materialized (
    -- Read twice: not materialized, so each read can use its index.
    select * from marts.fct_requests
),

settings as (
    select * from staging.stg_quality_settings
),

task_steps as (
    select
        coalesce(task_id, trace_id) as task_key,
        steps.*
    from steps
    where coalesce(task_id, trace_id) is not null
),

step_traces as (
    -- Traces that hold agent steps: their model calls belong to the task without a task_id.
    select distinct trace_id
    from task_steps
    where task_id is null
),

task_calls as (
    -- Two reads, each through an index of fct_requests: the calls with a task_id, and those of the
    -- traces that hold agent steps (one OR over both would scan every request).
    select
        requests.task_id as task_key,
        requests.*
    from requests
    where requests.task_id is not null
    union all
    select
        requests.trace_id as task_key,
        requests.*
    from requests
    inner join step_traces on step_traces.trace_id = requests.trace_id
    where requests.task_id is null
),

call_totals as (
    select
        task_key,
        min(event_at) as first_call_at,
        max(event_at + coalesce(latency_ms, 0) * interval '1 millisecond') as last_call_end_at,
        count(*) as llm_calls,
        count(*) filter (where is_error) as failed_llm_calls,
        count(*) filter (where is_unpriced) as unpriced_llm_calls,
        sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens,
        coalesce(sum(cost_usd), 0) as cost_usd,
        (array_agg(nullif(feature, '(none)') order by event_at))[1] as call_feature,
        (array_agg(team order by event_at))[1] as call_team,
        (array_agg(outcome order by event_at desc) filter (where outcome is not null))[1] as last_call_outcome,
        (array_agg(is_error order by event_at desc))[1] as is_last_call_error
    from task_calls
    group by task_key
),

tool_calls as (
    select
        task_key,
        coalesce(tool_name, '(unnamed)') as tool_name,
        count(*) as calls,
        count(*) filter (where is_error) as failed_calls
    from task_steps
    where operation = 'execute_tool'
    group by task_key, coalesce(tool_name, '(unnamed)')
),

tool_totals as (
    select
        task_key,
        sum(calls) as tool_calls,
        sum(failed_calls) as failed_tool_calls,
        jsonb_object_agg(tool_name, calls) as tool_calls_by_tool
    from tool_calls
    group by task_key
),

repeated_calls as (
    -- The same tool with the same arguments (hash), over and over: an agent going round in circles.
    select
        task_key,
        tool_name,
        tool_call_hash,
        count(*) as calls
    from task_steps
    where operation = 'execute_tool'
        and tool_call_hash is not null
    group by task_key, tool_name, tool_call_hash
),

loop_totals as (
    select
        task_key,
        max(calls) as max_repeated_tool_calls
    from repeated_calls
    group by task_key
),

runs as (
    -- The task's run: its longest invoke_agent step (a sub-agent's run is shorter than its parent's).
    select distinct on (task_key)
        task_key,
        latency_ms as run_latency_ms,
        is_error as is_run_error,
        outcome as run_outcome,
        feature as run_feature,
        event_team as run_team
    from task_steps
    where operation = 'invoke_agent'
    order by task_key, latency_ms desc nulls last, event_at
),

step_totals as (
    select
        task_key,
        min(event_at) as first_step_at,
        max(event_at + coalesce(latency_ms, 0) * interval '1 millisecond') as last_step_end_at,
        count(*) filter (where operation = 'invoke_agent') as agent_runs
    from task_steps
    group by task_key
),

tasks as (
    select task_key from step_totals
    union
    select task_key from call_totals
),

joined as (
    select
        tasks.task_key,
        least(step_totals.first_step_at, call_totals.first_call_at) as started_at,
        greatest(step_totals.last_step_end_at, call_totals.last_call_end_at) as ended_at,
        coalesce(runs.run_feature, call_totals.call_feature, '(none)') as feature,
        coalesce(call_totals.call_team, runs.run_team, 'unassigned') as team,
        runs.run_latency_ms,
        coalesce(step_totals.agent_runs, 0)::integer as agent_runs,
        coalesce(call_totals.llm_calls, 0)::integer as llm_calls,
        coalesce(tool_totals.tool_calls, 0)::integer as tool_calls,
        coalesce(tool_totals.tool_calls_by_tool, '{}'::jsonb) as tool_calls_by_tool,
        coalesce(call_totals.input_tokens, 0) as input_tokens,
        coalesce(call_totals.output_tokens, 0) as output_tokens,
        coalesce(call_totals.cost_usd, 0) as cost_usd,
        coalesce(call_totals.unpriced_llm_calls, 0)::integer as unpriced_llm_calls,
        coalesce(call_totals.failed_llm_calls, 0)::integer as failed_llm_calls,
        coalesce(tool_totals.failed_tool_calls, 0)::integer as failed_tool_calls,
        coalesce(loop_totals.max_repeated_tool_calls, 0)::integer as max_repeated_tool_calls,
        coalesce(runs.run_outcome, call_totals.last_call_outcome) as outcome,
        -- Failed: the run failed; without a run, the last model call did.
        coalesce(runs.is_run_error, call_totals.is_last_call_error, false) as is_error
    from tasks
    left join step_totals on step_totals.task_key = tasks.task_key
    left join call_totals on call_totals.task_key = tasks.task_key
    left join tool_totals on tool_totals.task_key = tasks.task_key
    left join loop_totals on loop_totals.task_key = tasks.task_key
    left join runs on runs.task_key = tasks.task_key
),

final as (
    select
        joined.task_key as task_id,
        (joined.started_at at time zone 'UTC')::date as usage_date,
        joined.started_at,
        joined.feature,
        joined.team,
        -- The run's own duration when there is one; else first start to last end.
        round(coalesce(joined.run_latency_ms, extract(epoch from joined.ended_at - joined.started_at) * 1000)::numeric, 1) as duration_ms,
        joined.llm_calls + joined.tool_calls as steps,
        joined.llm_calls,
        joined.tool_calls,
        joined.tool_calls_by_tool,
        joined.agent_runs,
        joined.input_tokens,
        joined.output_tokens,
        joined.cost_usd,
        joined.unpriced_llm_calls,
        joined.failed_llm_calls,
        joined.failed_tool_calls,
        joined.max_repeated_tool_calls,
        joined.max_repeated_tool_calls > settings.agent_loop_repeats as has_loop,
        joined.outcome,
        joined.is_error,
        -- Success: a reported outcome of 'resolved'; with no outcome reported, no failure.
        case when joined.outcome is not null then joined.outcome = 'resolved' else not joined.is_error end as is_successful
    from joined
    cross join settings
)

select * from final
