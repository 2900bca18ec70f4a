with teams as (
    select * from seeds.teams
),

final as (
    select
        team,
        cost_center,
        department,
        nullif(slack_channel, '') as slack_channel
    from teams
)

select * from final
