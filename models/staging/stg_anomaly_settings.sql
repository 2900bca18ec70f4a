-- The anomaly flag settings (one row).
with settings as (
    select * from seeds.anomaly_settings
),

final as (
    select
        spend_floor_usd,
        min_score,
        min_ratio
    from settings
)

select * from final
