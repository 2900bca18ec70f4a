with users as (
    select * from seeds.users
),

final as (
    select
        user_id,
        coalesce(segment, 'unknown') as user_segment,
        team as user_team
    from users
)

select * from final
