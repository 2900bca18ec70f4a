-- What the providers invoiced against what tokenmart computed, per provider x month (over the days
-- the export covers) and per provider x day where the export has days: the difference, in USD and
-- % of the invoice, a status within seeds.finance_settings' tolerance, and the likely causes.
with lines as (
    select * from staging.stg_invoice_lines
),

requests as (
    select * from marts.fct_requests
),

settings as (
    select * from staging.stg_finance_settings
),

invoiced_months as (
    select
        provider,
        month_start,
        sum(amount_usd) as invoiced_usd,
        coalesce(sum(amount_usd) filter (where amount_usd < 0), 0) as credits_usd,
        bool_and(line_date is not null) as has_days,
        min(line_date) as first_day,
        max(line_date) as last_day
    from lines
    group by provider, month_start
),

invoiced_days as (
    select
        provider,
        line_date,
        sum(amount_usd) as invoiced_usd,
        coalesce(sum(amount_usd) filter (where amount_usd < 0), 0) as credits_usd
    from lines
    where line_date is not null
    group by provider, line_date
),

computed_days as (
    select
        provider,
        usage_date,
        coalesce(sum(cost_usd), 0) as computed_usd,
        count(*) filter (where is_unpriced) as unpriced_requests
    from requests
    where provider in (select lines.provider from lines)
    group by provider, usage_date
),

month_rows as (
    -- A daily export is compared over the days it covers; a monthly one over the whole month.
    select
        'month' as grain,
        invoiced_months.provider,
        invoiced_months.month_start,
        null::date as usage_date,
        case when invoiced_months.has_days then invoiced_months.first_day else invoiced_months.month_start end as covered_from,
        case
            when invoiced_months.has_days then invoiced_months.last_day
            else (invoiced_months.month_start + interval '1 month' - interval '1 day')::date
        end as covered_to,
        invoiced_months.invoiced_usd,
        invoiced_months.credits_usd
    from invoiced_months
),

day_rows as (
    select
        'day' as grain,
        provider,
        date_trunc('month', line_date)::date as month_start,
        line_date as usage_date,
        line_date as covered_from,
        line_date as covered_to,
        invoiced_usd,
        credits_usd
    from invoiced_days
),

periods as (
    select * from month_rows
    union all
    select * from day_rows
),

compared as (
    select
        periods.grain,
        periods.provider,
        periods.month_start,
        periods.usage_date,
        periods.covered_from,
        periods.covered_to,
        periods.invoiced_usd,
        periods.credits_usd,
        coalesce(sum(computed_days.computed_usd), 0) as computed_usd,
        coalesce(sum(computed_days.unpriced_requests), 0) as unpriced_requests
    from periods
    left join computed_days
        on computed_days.provider = periods.provider
        and computed_days.usage_date between periods.covered_from and periods.covered_to
    group by
        periods.grain,
        periods.provider,
        periods.month_start,
        periods.usage_date,
        periods.covered_from,
        periods.covered_to,
        periods.invoiced_usd,
        periods.credits_usd
),

statused as (
    select
        compared.*,
        compared.invoiced_usd - compared.computed_usd as difference_usd,
        case
            when abs(compared.invoiced_usd - compared.computed_usd) <= settings.reconciliation_tolerance_pct / 100 * abs(compared.invoiced_usd) then 'ok'
            when compared.invoiced_usd > compared.computed_usd then 'invoiced_above'
            else 'invoiced_below'
        end as status,
        settings.reconciliation_tolerance_pct
    from compared
    cross join settings
),

final as (
    select
        grain,
        provider,
        month_start,
        to_char(month_start, 'YYYY-MM') as month,
        usage_date,
        covered_from,
        covered_to,
        invoiced_usd,
        computed_usd,
        difference_usd,
        round(100 * difference_usd / nullif(invoiced_usd, 0), 2) as difference_pct,
        reconciliation_tolerance_pct,
        status,
        unpriced_requests,
        credits_usd,
        array_remove(array[
            case when unpriced_requests > 0 then 'unpriced requests (' || unpriced_requests || '): their spend is missing from computed' end,
            case when status = 'invoiced_above' then 'traffic never logged (a key, project or gateway tokenmart does not see), or prices out of date' end,
            case when credits_usd < 0 then 'credits on the invoice (' || credits_usd || ' USD)' end,
            case when status = 'invoiced_below' then 'discounts or credits, a contract price below list, or invoiced later' end
        ], null) as likely_causes
    from statused
)

select * from final
