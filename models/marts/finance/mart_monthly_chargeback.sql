-- The chargeback statement per month x cost center x team (x tenant, for tenant rules): direct
-- spend, the shared spend each rule allocates, and the total. Amounts are cents that add up: the
-- month's spend is rounded once, split over the direct spend and the pools, each pool over its
-- receivers and the direct spend over the teams, every split by largest remainder
-- (tokenmart.allocate_cents). Method: README, "Chargeback".
with pooled as (
    -- Incremental by month (grain: month): a month's statement reads that month's daily sums only.
    select * from marts.fct_daily_pooled_spend
    where month_start >= tokenmart.window_start_date()
        and month_start < tokenmart.window_end_date()
),

rules as (
    select * from staging.stg_allocation_rules
),

teams as (
    select * from staging.stg_teams
),

pool_rules as (
    select distinct
        rule_id,
        method,
        receiver_type
    from rules
),

direct_cells as (
    -- Direct spend and requests per month x cost center x team x tenant.
    select
        month_start,
        cost_center,
        team,
        tenant,
        sum(cost_usd) as direct_usd,
        sum(requests)::bigint as requests
    from pooled
    where rule_id is null
    group by month_start, cost_center, team, tenant
),

pools as (
    select
        month_start,
        rule_id,
        sum(cost_usd) as pool_usd
    from pooled
    where rule_id is not null
    group by month_start, rule_id
),

proportional_receivers as (
    -- The month's direct spend at the rule's level (team, cost center, or team x tenant), weighted
    -- by spend or by requests.
    select
        pools.month_start,
        pools.rule_id,
        direct_cells.cost_center,
        case when pool_rules.receiver_type = 'cost_center' then '(cost center)' else direct_cells.team end as team,
        case when pool_rules.receiver_type = 'tenant' then direct_cells.tenant else '(all)' end as tenant,
        case
            when pool_rules.method = 'proportional_spend' then sum(direct_cells.direct_usd)
            else sum(direct_cells.requests)
        end as weight
    from pools
    inner join pool_rules
        on pool_rules.rule_id = pools.rule_id
        and pool_rules.method <> 'fixed'
    inner join direct_cells on direct_cells.month_start = pools.month_start
    group by
        pools.month_start,
        pools.rule_id,
        pool_rules.method,
        direct_cells.cost_center,
        case when pool_rules.receiver_type = 'cost_center' then '(cost center)' else direct_cells.team end,
        case when pool_rules.receiver_type = 'tenant' then direct_cells.tenant else '(all)' end
),

fixed_receivers as (
    -- A fixed rule's receivers and shares, whether or not they spent anything themselves.
    select
        pools.month_start,
        pools.rule_id,
        case when rules.receiver_type = 'team' then coalesce(teams.cost_center, 'unallocated') else rules.receiver_value end as cost_center,
        case when rules.receiver_type = 'team' then rules.receiver_value else '(cost center)' end as team,
        '(all)' as tenant,
        rules.fixed_share as weight
    from pools
    inner join rules
        on rules.rule_id = pools.rule_id
        and rules.method = 'fixed'
    left join teams on teams.team = rules.receiver_value
),

receivers as (
    select * from proportional_receivers
    where weight > 0
    union all
    select * from fixed_receivers
),

unreceived_pools as (
    -- A pool with no receiver that month (nobody spent at the rule's level) stays on the
    -- statement, unallocated, rather than vanish.
    select
        pools.month_start,
        pools.rule_id,
        'unallocated' as cost_center,
        '(no receivers)' as team,
        '(all)' as tenant,
        1::numeric as weight
    from pools
    left join receivers
        on receivers.month_start = pools.month_start
        and receivers.rule_id = pools.rule_id
    where receivers.rule_id is null
),

all_receivers as (
    select * from receivers
    union all
    select * from unreceived_pools
),

month_parts as (
    -- The month's spend in parts: the direct spend ('' sorts first), then each pool.
    select
        month_start,
        '' as part,
        sum(direct_usd) as amount
    from direct_cells
    group by month_start
    union all
    select
        month_start,
        rule_id as part,
        pool_usd as amount
    from pools
),

month_split as (
    select
        month_start,
        array_agg(part order by part) as parts,
        tokenmart.allocate_cents(round(sum(amount) * 100)::bigint, array_agg(amount order by part)) as cents
    from month_parts
    group by month_start
),

month_part_cents as (
    select
        month_split.month_start,
        split.part,
        split.cents
    from month_split
    cross join lateral unnest(month_split.parts, month_split.cents) as split (part, cents)
),

pool_split as (
    select
        all_receivers.month_start,
        all_receivers.rule_id,
        array_agg(all_receivers.cost_center order by all_receivers.cost_center, all_receivers.team, all_receivers.tenant) as cost_centers,
        array_agg(all_receivers.team order by all_receivers.cost_center, all_receivers.team, all_receivers.tenant) as teams,
        array_agg(all_receivers.tenant order by all_receivers.cost_center, all_receivers.team, all_receivers.tenant) as tenants,
        tokenmart.allocate_cents(
            max(month_part_cents.cents),
            array_agg(all_receivers.weight order by all_receivers.cost_center, all_receivers.team, all_receivers.tenant)
        ) as cents
    from all_receivers
    inner join month_part_cents
        on month_part_cents.month_start = all_receivers.month_start
        and month_part_cents.part = all_receivers.rule_id
    group by all_receivers.month_start, all_receivers.rule_id
),

direct_teams as (
    select
        month_start,
        cost_center,
        team,
        sum(direct_usd) as direct_usd
    from direct_cells
    group by month_start, cost_center, team
),

direct_split as (
    select
        direct_teams.month_start,
        array_agg(direct_teams.cost_center order by direct_teams.cost_center, direct_teams.team) as cost_centers,
        array_agg(direct_teams.team order by direct_teams.cost_center, direct_teams.team) as teams,
        tokenmart.allocate_cents(max(month_part_cents.cents), array_agg(direct_teams.direct_usd order by direct_teams.cost_center, direct_teams.team)) as cents
    from direct_teams
    inner join month_part_cents
        on month_part_cents.month_start = direct_teams.month_start
        and month_part_cents.part = ''
    group by direct_teams.month_start
),

lines as (
    select
        direct_split.month_start,
        line.cost_center,
        line.team,
        '(all)' as tenant,
        null::text as rule_id,
        line.cents
    from direct_split
    cross join lateral unnest(direct_split.cost_centers, direct_split.teams, direct_split.cents) as line (cost_center, team, cents)
    union all
    select
        pool_split.month_start,
        line.cost_center,
        line.team,
        line.tenant,
        pool_split.rule_id,
        line.cents
    from pool_split
    cross join lateral unnest(pool_split.cost_centers, pool_split.teams, pool_split.tenants, pool_split.cents) as line (cost_center, team, tenant, cents)
),

final as (
    select
        month_start,
        to_char(month_start, 'YYYY-MM') as month,
        cost_center,
        team,
        tenant,
        (coalesce(sum(cents) filter (where rule_id is null), 0) / 100.0)::numeric(16, 2) as direct_usd,
        (coalesce(sum(cents) filter (where rule_id is not null), 0) / 100.0)::numeric(16, 2) as allocated_usd,
        coalesce(jsonb_object_agg(rule_id, (cents / 100.0)::numeric(16, 2)) filter (where rule_id is not null), '{}'::jsonb) as allocated_by_rule,
        (sum(cents) / 100.0)::numeric(16, 2) as total_usd
    from lines
    group by month_start, cost_center, team, tenant
)

select * from final
