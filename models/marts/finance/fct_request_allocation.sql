-- Every priced request with the shared-spend pool it belongs to (seeds.allocation_rules): the first
-- rule, by priority, whose team, feature or tag matches it. No rule: the owning team's direct spend.
with requests as (
    select * from marts.fct_requests
),

rules as (
    select * from staging.stg_allocation_rules
),

pool_rules as (
    -- One row per rule (a fixed rule has a row per receiver).
    select distinct
        rule_id,
        priority,
        pool_type,
        pool_value,
        pool_tag_key,
        pool_tag_value
    from rules
),

final as (
    select
        requests.request_id,
        requests.usage_date,
        date_trunc('month', requests.usage_date)::date as month_start,
        requests.cost_center,
        requests.team,
        requests.tenant,
        requests.feature,
        coalesce(requests.cost_usd, 0) as cost_usd,
        requests.is_unpriced,
        pools.rule_id
    from requests
    left join lateral (
        select pool_rules.rule_id
        from pool_rules
        where (pool_rules.pool_type = 'team' and pool_rules.pool_value = requests.team)
            or (pool_rules.pool_type = 'feature' and pool_rules.pool_value = requests.feature)
            or (pool_rules.pool_type = 'tag' and requests.tags ->> pool_rules.pool_tag_key = pool_rules.pool_tag_value)
        order by pool_rules.priority, pool_rules.rule_id
        limit 1
    ) as pools on true
)

select * from final
