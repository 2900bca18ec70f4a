with features as (
    select * from seeds.features
),

final as (
    select
        feature,
        team as owning_team,
        product_area,
        description as feature_description
    from features
)

select * from final
