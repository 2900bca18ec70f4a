-- What a good outcome costs, per week (Monday, UTC) x feature: spend, requests, sessions, resolved
-- outcomes, thumbs-up and successful agent tasks, and the cost of each. A feature pays for itself
-- when the cost per resolved outcome (or successful task) is below what one is worth to the
-- business. Spend counts every request of the feature, failed ones included: they are paid for too.
with weekly as (
    -- Counted a week at a time (incremental): this table only joins the tasks.
    select * from marts.mart_weekly_feature_requests
),

tasks as (
    -- A table, not incremental: a task's later steps can change a week already built.
    select * from marts.mart_agent_tasks
),

weekly_tasks as (
    select
        date_trunc('week', usage_date)::date as week_start,
        feature,
        count(*) as agent_tasks,
        count(*) filter (where is_successful) as successful_tasks
    from tasks
    group by date_trunc('week', usage_date)::date, feature
),

final as (
    select
        weekly.week_start,
        weekly.feature,
        weekly.requests,
        weekly.unpriced_requests,
        weekly.cost_usd,
        weekly.sessions,
        weekly.resolved_outcomes,
        weekly.thumbs_up,
        round(weekly.cost_usd / nullif(weekly.requests, 0), 6) as cost_per_request_usd,
        round(weekly.cost_usd / nullif(weekly.sessions, 0), 6) as cost_per_session_usd,
        round(weekly.cost_usd / nullif(weekly.resolved_outcomes, 0), 6) as cost_per_resolved_usd,
        round(weekly.cost_usd / nullif(weekly.thumbs_up, 0), 6) as cost_per_thumbs_up_usd,
        coalesce(weekly_tasks.agent_tasks, 0) as agent_tasks,
        coalesce(weekly_tasks.successful_tasks, 0) as successful_tasks,
        round(weekly.cost_usd / nullif(weekly_tasks.successful_tasks, 0), 6) as cost_per_successful_task_usd
    from weekly
    left join weekly_tasks
        on weekly_tasks.week_start = weekly.week_start
        and weekly_tasks.feature = weekly.feature
)

select * from final
