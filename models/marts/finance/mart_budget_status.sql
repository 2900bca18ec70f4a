-- One row per budget x month x as-of day: the budget, month-to-date spend and % used, the
-- month-end forecast with its intervals and projected %, the days left at the last 7 days' burn
-- rate, unpriced requests in scope, and the status (hard > soft > projected_over > ok).
with budgets as (
    select * from staging.stg_budgets
),

forecasts as (
    select * from marts.mart_spend_forecast
),

budget_months as (
    -- A budget for a named month replaces the every-month (*) budget of the same scope.
    select distinct on (budgets.scope_type, budgets.scope_value, forecasts.month_start)
        budgets.*,
        forecasts.month_start
    from budgets
    inner join forecasts
        on forecasts.scope_type = budgets.scope_type
        and forecasts.scope_value = budgets.scope_value
        and (budgets.budget_month = '*' or budgets.budget_month = to_char(forecasts.month_start, 'YYYY-MM'))
    order by budgets.scope_type, budgets.scope_value, forecasts.month_start, budgets.budget_month = '*'
),

budget_days as (
    select
        budget_months.budget_id,
        budget_months.scope_type,
        budget_months.scope_value,
        to_char(budget_months.month_start, 'YYYY-MM') as budget_month,
        forecasts.as_of_date,
        budget_months.amount_usd,
        budget_months.soft_pct,
        budget_months.hard_pct,
        budget_months.slack_channel,
        forecasts.mtd_spend_usd,
        forecasts.forecast_usd,
        forecasts.forecast_low_80_usd,
        forecasts.forecast_high_80_usd,
        forecasts.forecast_low_95_usd,
        forecasts.forecast_high_95_usd,
        forecasts.is_low_confidence,
        forecasts.burn_rate_usd,
        forecasts.mtd_requests,
        forecasts.mtd_unpriced_requests as unpriced_requests
    from budget_months
    inner join forecasts
        on forecasts.scope_type = budget_months.scope_type
        and forecasts.scope_value = budget_months.scope_value
        and forecasts.month_start = budget_months.month_start
),

final as (
    select
        budget_id,
        scope_type,
        scope_value,
        budget_month,
        as_of_date,
        amount_usd,
        soft_pct,
        hard_pct,
        slack_channel,
        mtd_spend_usd,
        round(100 * mtd_spend_usd / amount_usd, 2) as pct_used,
        forecast_usd,
        forecast_low_80_usd,
        forecast_high_80_usd,
        forecast_low_95_usd,
        forecast_high_95_usd,
        round(100 * forecast_usd / amount_usd, 2) as projected_pct,
        is_low_confidence,
        burn_rate_usd,
        case
            when mtd_spend_usd >= amount_usd then 0
            when burn_rate_usd > 0 then round((amount_usd - mtd_spend_usd) / burn_rate_usd, 1)
        end as days_until_exhausted,
        mtd_requests,
        unpriced_requests,
        -- Compared unrounded: 100 x spend against threshold x budget.
        case
            when 100 * mtd_spend_usd >= hard_pct * amount_usd then 'hard'
            when 100 * mtd_spend_usd >= soft_pct * amount_usd then 'soft'
            when 100 * forecast_usd > hard_pct * amount_usd then 'projected_over'
            else 'ok'
        end as status
    from budget_days
)

select * from final
