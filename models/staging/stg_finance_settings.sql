-- Finance settings (one row).
with settings as (
    select * from seeds.finance_settings
),

final as (
    select reconciliation_tolerance_pct
    from settings
)

select * from final
