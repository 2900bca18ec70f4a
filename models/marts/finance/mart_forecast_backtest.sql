-- Forecast against what happened: for every complete month of data, scope and as-of day before
-- its last day, the forecast made that day with its intervals, the month's actual spend, the
-- error and whether the actual fell inside each interval.
with forecasts as (
    select * from marts.mart_spend_forecast
),

scope_spend as (
    select * from marts.mart_daily_scope_spend
),

data_range as (
    select
        min(usage_date) as first_date,
        max(usage_date) as last_date
    from scope_spend
),

month_actuals as (
    select
        scope_type,
        scope_value,
        date_trunc('month', usage_date)::date as month_start,
        sum(spend_usd) as actual_usd
    from scope_spend
    group by scope_type, scope_value, date_trunc('month', usage_date)
),

final as (
    select
        forecasts.scope_type,
        forecasts.scope_value,
        to_char(forecasts.month_start, 'YYYY-MM') as forecast_month,
        forecasts.as_of_date,
        forecasts.month_end - forecasts.as_of_date as horizon_days,
        forecasts.is_low_confidence,
        forecasts.forecast_usd,
        forecasts.forecast_low_80_usd,
        forecasts.forecast_high_80_usd,
        forecasts.forecast_low_95_usd,
        forecasts.forecast_high_95_usd,
        month_actuals.actual_usd,
        forecasts.forecast_usd - month_actuals.actual_usd as error_usd,
        round(100 * abs(forecasts.forecast_usd - month_actuals.actual_usd) / nullif(month_actuals.actual_usd, 0), 2) as abs_pct_error,
        month_actuals.actual_usd between forecasts.forecast_low_80_usd and forecasts.forecast_high_80_usd as is_in_80,
        month_actuals.actual_usd between forecasts.forecast_low_95_usd and forecasts.forecast_high_95_usd as is_in_95
    from forecasts
    inner join month_actuals
        on month_actuals.scope_type = forecasts.scope_type
        and month_actuals.scope_value = forecasts.scope_value
        and month_actuals.month_start = forecasts.month_start
    cross join data_range
    -- Whole months only: begun no earlier than the data and ended by its last day.
    where forecasts.month_start >= data_range.first_date
        and forecasts.month_end <= data_range.last_date
        and forecasts.as_of_date < forecasts.month_end
)

select * from final
