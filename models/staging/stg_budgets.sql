-- Budgets with their defaults applied and an id: one row per scope and month pattern.
with budgets as (
    select * from seeds.budgets
),

final as (
    select
        scope_type || ':' || scope_value || ':' || month as budget_id,
        scope_type,
        scope_value,
        month as budget_month,
        amount_usd,
        coalesce(soft_pct, 80) as soft_pct,
        coalesce(hard_pct, 100) as hard_pct,
        nullif(slack_channel, '') as slack_channel
    from budgets
)

select * from final
