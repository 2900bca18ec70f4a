-- Events with their owners: the feature's owning team (finance's mapping) wins over the team an
-- event claims; then the event's own team; then 'unassigned'. Cost center comes from the team.
with events as (
    select *
    from staging.stg_events
    where usage_date >= tokenmart.window_start_date()
        and usage_date < tokenmart.window_end_date()
),

features as (
    select * from staging.stg_features
),

teams as (
    select * from staging.stg_teams
),

users as (
    select * from staging.stg_users
),

owned as (
    select
        events.*,
        coalesce(features.owning_team, events.event_team, 'unassigned') as team,
        features.product_area,
        users.user_segment
    from events
    left join features on features.feature = events.feature
    left join users on users.user_id = events.user_id
),

final as (
    select
        owned.*,
        coalesce(teams.cost_center, 'unallocated') as cost_center,
        coalesce(owned.feature, '(none)') as feature_key,
        coalesce(owned.tenant, '(none)') as tenant_key
    from owned
    left join teams on teams.team = owned.team
)

select * from final
