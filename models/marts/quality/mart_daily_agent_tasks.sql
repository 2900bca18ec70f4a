-- Agent tasks per day (UTC, of the task's start) x feature: success rate, cost per successful
-- task, steps per task (p50/p95, percentile_cont), duration and loops. Cost per successful task
-- charges the failed tasks' cost to the successful ones: it is what a success costs.
with tasks as (
    select * from marts.mart_agent_tasks
),

daily as (
    select
        usage_date,
        feature,
        count(*) as tasks,
        count(*) filter (where is_successful) as successful_tasks,
        count(*) filter (where is_error) as failed_tasks,
        count(*) filter (where has_loop) as loop_tasks,
        sum(llm_calls) as llm_calls,
        sum(tool_calls) as tool_calls,
        sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens,
        sum(cost_usd) as cost_usd,
        sum(unpriced_llm_calls) as unpriced_llm_calls,
        percentile_cont(0.5) within group (order by steps) as steps_p50,
        percentile_cont(0.95) within group (order by steps) as steps_p95,
        percentile_cont(0.5) within group (order by duration_ms) as duration_p50_ms,
        percentile_cont(0.95) within group (order by duration_ms) as duration_p95_ms
    from tasks
    group by usage_date, feature
),

final as (
    select
        usage_date,
        feature,
        tasks,
        successful_tasks,
        failed_tasks,
        loop_tasks,
        round(successful_tasks::numeric / tasks, 4) as success_rate,
        llm_calls,
        tool_calls,
        input_tokens,
        output_tokens,
        cost_usd,
        unpriced_llm_calls,
        round(cost_usd / tasks, 6) as cost_per_task_usd,
        round(cost_usd / nullif(successful_tasks, 0), 6) as cost_per_successful_task_usd,
        round(steps_p50::numeric, 1) as steps_p50,
        round(steps_p95::numeric, 1) as steps_p95,
        round(duration_p50_ms::numeric, 1) as duration_p50_ms,
        round(duration_p95_ms::numeric, 1) as duration_p95_ms
    from daily
)

select * from final
