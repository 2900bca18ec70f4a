-- Spend and requests per UTC day x cost center x team x tenant x shared-spend pool (rule_id; NULL
-- is the owning team's direct spend): fct_request_allocation summed by day. The monthly chargeback
-- reads these sums, so a new day re-sums one day instead of pooling every request of its month.
with allocated as (
    select *
    from marts.fct_request_allocation
    where usage_date >= tokenmart.window_start_date()
        and usage_date < tokenmart.window_end_date()
),

final as (
    select
        usage_date,
        month_start,
        cost_center,
        team,
        tenant,
        rule_id,
        sum(cost_usd) as cost_usd,
        count(*) as requests
    from allocated
    group by usage_date, month_start, cost_center, team, tenant, rule_id
)

select * from final
