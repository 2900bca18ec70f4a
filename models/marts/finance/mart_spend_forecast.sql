-- Month-end spend forecast per scope and as-of day: month-to-date actual plus the remaining days
-- projected at the mean of the same weekday over the trailing 28 days, with 80% and 95% normal
-- prediction intervals. Under 14 days of history there is no weekday pattern to estimate: the
-- remaining days use the plain daily mean and the row is marked low-confidence. Method and its
-- measured accuracy: README, "Budgets and forecasts".
with scope_spend as (
    select * from marts.mart_daily_scope_spend
),

scope_starts as (
    select
        scope_type,
        scope_value,
        min(usage_date) filter (where spend_usd <> 0 or requests > 0) as first_date
    from scope_spend
    group by scope_type, scope_value
),

as_of_days as (
    select
        scope_spend.scope_type,
        scope_spend.scope_value,
        scope_spend.usage_date as as_of_date,
        scope_starts.first_date,
        date_trunc('month', scope_spend.usage_date)::date as month_start,
        (date_trunc('month', scope_spend.usage_date) + interval '1 month - 1 day')::date as month_end,
        scope_spend.usage_date - scope_starts.first_date + 1 as history_days,
        sum(scope_spend.spend_usd) over month_so_far as mtd_spend_usd,
        sum(scope_spend.requests) over month_so_far as mtd_requests,
        sum(scope_spend.unpriced_requests) over month_so_far as mtd_unpriced_requests,
        avg(scope_spend.spend_usd) over last_7_days as burn_rate_usd
    from scope_spend
    inner join scope_starts
        on scope_starts.scope_type = scope_spend.scope_type
        and scope_starts.scope_value = scope_spend.scope_value
    where scope_spend.usage_date >= scope_starts.first_date
    window
        month_so_far as (
            partition by scope_spend.scope_type, scope_spend.scope_value, date_trunc('month', scope_spend.usage_date)
            order by scope_spend.usage_date
        ),
        last_7_days as (
            partition by scope_spend.scope_type, scope_spend.scope_value
            order by scope_spend.usage_date rows between 6 preceding and current row
        )
),

trailing_days as (
    select
        as_of_days.scope_type,
        as_of_days.scope_value,
        as_of_days.as_of_date,
        extract(isodow from scope_spend.usage_date)::int as weekday,
        scope_spend.spend_usd
    from as_of_days
    inner join scope_spend
        on scope_spend.scope_type = as_of_days.scope_type
        and scope_spend.scope_value = as_of_days.scope_value
        and scope_spend.usage_date between greatest(as_of_days.as_of_date - 27, as_of_days.first_date) and as_of_days.as_of_date
),

trailing_means as (
    select
        *,
        avg(spend_usd) over (partition by scope_type, scope_value, as_of_date, weekday) as weekday_mean_usd,
        count(*) over (partition by scope_type, scope_value, as_of_date, weekday) as weekday_days,
        avg(spend_usd) over (partition by scope_type, scope_value, as_of_date) as day_mean_usd
    from trailing_days
),

fits as (
    select
        scope_type,
        scope_value,
        as_of_date,
        count(*) as window_days,
        max(day_mean_usd) as day_mean_usd,
        sum((spend_usd - weekday_mean_usd) ^ 2) as weekday_sse,
        sum((spend_usd - day_mean_usd) ^ 2) as flat_sse
    from trailing_means
    group by scope_type, scope_value, as_of_date
),

weekday_means as (
    select distinct
        scope_type,
        scope_value,
        as_of_date,
        weekday,
        weekday_mean_usd,
        weekday_days
    from trailing_means
),

remaining_days as (
    select
        as_of_days.scope_type,
        as_of_days.scope_value,
        as_of_days.as_of_date,
        extract(isodow from day)::int as weekday,
        count(*) as days
    from as_of_days
    cross join lateral generate_series(as_of_days.as_of_date + 1, as_of_days.month_end, interval '1 day') as day
    group by as_of_days.scope_type, as_of_days.scope_value, as_of_days.as_of_date, extract(isodow from day)
),

projections as (
    -- Weekday model: spend on a day = its weekday's mean + independent noise of variance s^2; the
    -- prediction variance of the remaining total adds the noise of each day and the estimation
    -- error of each weekday mean (shared by all remaining days of that weekday).
    select
        remaining_days.scope_type,
        remaining_days.scope_value,
        remaining_days.as_of_date,
        sum(remaining_days.days) as remaining_days,
        sum(remaining_days.days * weekday_means.weekday_mean_usd) as weekday_projection_usd,
        sum(remaining_days.days) + sum(remaining_days.days ^ 2 / weekday_means.weekday_days) as weekday_variance_factor
    from remaining_days
    left join weekday_means
        on weekday_means.scope_type = remaining_days.scope_type
        and weekday_means.scope_value = remaining_days.scope_value
        and weekday_means.as_of_date = remaining_days.as_of_date
        and weekday_means.weekday = remaining_days.weekday
    group by remaining_days.scope_type, remaining_days.scope_value, remaining_days.as_of_date
),

estimates as (
    select
        as_of_days.*,
        as_of_days.history_days < 14 as is_low_confidence,
        coalesce(projections.remaining_days, 0) as remaining_days,
        case
            when projections.remaining_days is null then 0
            when as_of_days.history_days >= 14 then projections.weekday_projection_usd
            else projections.remaining_days * fits.day_mean_usd
        end as projection_usd,
        case
            when projections.remaining_days is null then 0
            when as_of_days.history_days >= 14
                then sqrt(fits.weekday_sse / (fits.window_days - 7) * projections.weekday_variance_factor)
            when fits.window_days > 1
                then sqrt(fits.flat_sse / (fits.window_days - 1)
                    * (projections.remaining_days + projections.remaining_days ^ 2 / fits.window_days))
        end::numeric as projection_sd_usd
    from as_of_days
    inner join fits
        on fits.scope_type = as_of_days.scope_type
        and fits.scope_value = as_of_days.scope_value
        and fits.as_of_date = as_of_days.as_of_date
    left join projections
        on projections.scope_type = as_of_days.scope_type
        and projections.scope_value = as_of_days.scope_value
        and projections.as_of_date = as_of_days.as_of_date
),

final as (
    select
        scope_type,
        scope_value,
        as_of_date,
        month_start,
        month_end,
        history_days,
        is_low_confidence,
        remaining_days,
        mtd_spend_usd,
        mtd_requests,
        mtd_unpriced_requests,
        round(burn_rate_usd, 6) as burn_rate_usd,
        round(mtd_spend_usd + projection_usd, 2) as forecast_usd,
        round(greatest(mtd_spend_usd, mtd_spend_usd + projection_usd - 1.2816 * projection_sd_usd), 2) as forecast_low_80_usd,
        round(mtd_spend_usd + projection_usd + 1.2816 * projection_sd_usd, 2) as forecast_high_80_usd,
        round(greatest(mtd_spend_usd, mtd_spend_usd + projection_usd - 1.9600 * projection_sd_usd), 2) as forecast_low_95_usd,
        round(mtd_spend_usd + projection_usd + 1.9600 * projection_sd_usd, 2) as forecast_high_95_usd
    from estimates
)

select * from final
