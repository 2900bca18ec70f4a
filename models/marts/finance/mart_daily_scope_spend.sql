-- Spend per UTC day for every budget scope and for all spend, with days without spend as zero
-- rows from the first day of data to the last: the series forecasts and budgets read.
with daily_cost as (
    select * from marts.mart_daily_cost
),

budgets as (
    select * from staging.stg_budgets
),

scopes as (
    select
        'all' as scope_type,
        '*' as scope_value
    union
    select
        scope_type,
        scope_value
    from budgets
),

data_range as (
    select
        min(usage_date) as first_date,
        max(usage_date) as last_date
    from daily_cost
),

calendar as (
    select day::date as usage_date
    from data_range
    cross join lateral generate_series(data_range.first_date, data_range.last_date, interval '1 day') as day
),

scope_costs as (
    select
        scopes.scope_type,
        scopes.scope_value,
        daily_cost.usage_date,
        daily_cost.cost_usd,
        daily_cost.requests,
        daily_cost.unpriced_requests
    from scopes
    inner join daily_cost
        on case scopes.scope_type
            when 'all' then true
            when 'team' then daily_cost.team = scopes.scope_value
            when 'cost_center' then daily_cost.cost_center = scopes.scope_value
            when 'feature' then daily_cost.feature = scopes.scope_value
            when 'tenant' then daily_cost.tenant = scopes.scope_value
        end
),

scope_days as (
    select
        scope_type,
        scope_value,
        usage_date,
        sum(cost_usd) as spend_usd,
        sum(requests) as requests,
        sum(unpriced_requests) as unpriced_requests
    from scope_costs
    group by scope_type, scope_value, usage_date
),

final as (
    select
        scopes.scope_type,
        scopes.scope_value,
        calendar.usage_date,
        coalesce(scope_days.spend_usd, 0) as spend_usd,
        coalesce(scope_days.requests, 0)::bigint as requests,
        coalesce(scope_days.unpriced_requests, 0)::bigint as unpriced_requests
    from scopes
    cross join calendar
    left join scope_days
        on scope_days.scope_type = scopes.scope_type
        and scope_days.scope_value = scopes.scope_value
        and scope_days.usage_date = calendar.usage_date
)

select * from final
