-- Why spend changed, per period (ISO week, calendar month) x team x feature x model, against the
-- period before: volume (requests), model mix (the model's share of its team x feature's
-- requests), intensity (tokens per request) and price (spend per token: rates, tiers, long
-- context and cache hit-rates). A sequential decomposition of
--     spend = requests x share x tokens per request x spend per token:
-- each effect moves one factor from the period before to this one, the factors before it already
-- moved; price is what is left, so the four add up to the change exactly. Method: README, "Why
-- spend changed".
with daily_cost as (
    -- Spend, requests and tokens per day x team x feature x model add up to any period exactly:
    -- the daily mart is far smaller than the requests.
    select * from marts.mart_daily_cost
),

period_types as (
    select period_type
    from (values ('week'), ('month')) as types (period_type)
),

cells as (
    select
        period_types.period_type,
        date_trunc(period_types.period_type, daily_cost.usage_date)::date as period_start,
        daily_cost.team,
        daily_cost.feature,
        daily_cost.model,
        sum(daily_cost.requests)::bigint as requests,
        sum(daily_cost.input_tokens + daily_cost.output_tokens)::bigint as tokens,
        sum(daily_cost.cost_usd) as cost_usd
    from daily_cost
    cross join period_types
    group by period_types.period_type, date_trunc(period_types.period_type, daily_cost.usage_date)::date, daily_cost.team, daily_cost.feature, daily_cost.model
),

periods as (
    -- Every period whose period before has data too.
    select distinct
        this_period.period_type,
        this_period.period_start,
        previous.period_start as previous_start
    from cells as this_period
    inner join cells as previous
        on previous.period_type = this_period.period_type
        and previous.period_start = case
            when this_period.period_type = 'week' then this_period.period_start - 7
            else (this_period.period_start - interval '1 month')::date
        end
),

pair_keys as (
    -- Every team x feature x model with requests in the period or in the one before.
    select distinct
        periods.period_type,
        periods.period_start,
        periods.previous_start,
        cells.team,
        cells.feature,
        cells.model
    from periods
    inner join cells
        on cells.period_type = periods.period_type
        and cells.period_start in (periods.period_start, periods.previous_start)
),

joined as (
    select
        pair_keys.period_type,
        pair_keys.period_start,
        pair_keys.previous_start,
        pair_keys.team,
        pair_keys.feature,
        pair_keys.model,
        coalesce(this_period.requests, 0)::numeric as requests_1,
        coalesce(this_period.tokens, 0)::numeric as tokens_1,
        coalesce(this_period.cost_usd, 0) as cost_1,
        coalesce(previous.requests, 0)::numeric as requests_0,
        coalesce(previous.tokens, 0)::numeric as tokens_0,
        coalesce(previous.cost_usd, 0) as cost_0
    from pair_keys
    left join cells as this_period
        on this_period.period_type = pair_keys.period_type
        and this_period.period_start = pair_keys.period_start
        and this_period.team = pair_keys.team
        and this_period.feature = pair_keys.feature
        and this_period.model = pair_keys.model
    left join cells as previous
        on previous.period_type = pair_keys.period_type
        and previous.period_start = pair_keys.previous_start
        and previous.team = pair_keys.team
        and previous.feature = pair_keys.feature
        and previous.model = pair_keys.model
),

with_groups as (
    select
        joined.*,
        sum(requests_1) over (partition by period_type, period_start, team, feature) as group_requests_1,
        sum(requests_0) over (partition by period_type, period_start, team, feature) as group_requests_0
    from joined
),

own_factors as (
    select
        with_groups.*,
        requests_1 / nullif(group_requests_1, 0) as own_share_1,
        requests_0 / nullif(group_requests_0, 0) as own_share_0,
        tokens_1 / nullif(requests_1, 0) as own_intensity_1,
        tokens_0 / nullif(requests_0, 0) as own_intensity_0,
        cost_1 / nullif(tokens_1, 0) as own_price_1,
        cost_0 / nullif(tokens_0, 0) as own_price_0
    from with_groups
),

factors as (
    -- A factor a period cannot have (no requests, no tokens) borrows the other period's: then a
    -- new team x feature is all volume, a new model all mix, and neither moves the other effects.
    select
        own_factors.*,
        case when group_requests_1 = 0 then own_share_0 else coalesce(own_share_1, 0) end as share_1,
        case when group_requests_0 = 0 then own_share_1 else coalesce(own_share_0, 0) end as share_0,
        coalesce(own_intensity_1, own_intensity_0, 0) as intensity_1,
        coalesce(own_intensity_0, own_intensity_1, 0) as intensity_0,
        coalesce(own_price_1, own_price_0, 0) as price_1,
        coalesce(own_price_0, own_price_1, 0) as price_0
    from own_factors
),

effects as (
    select
        factors.*,
        round((group_requests_1 - group_requests_0) * share_0 * intensity_0 * price_0, 9) as volume_usd,
        round(group_requests_1 * (share_1 - share_0) * intensity_0 * price_0, 9) as mix_usd,
        round(group_requests_1 * share_1 * (intensity_1 - intensity_0) * price_0, 9) as intensity_usd
    from factors
),

final as (
    select
        period_type,
        period_start,
        previous_start,
        team,
        feature,
        model,
        requests_1::bigint as requests,
        requests_0::bigint as previous_requests,
        cost_1 as cost_usd,
        cost_0 as previous_cost_usd,
        cost_1 - cost_0 as change_usd,
        volume_usd,
        mix_usd,
        intensity_usd,
        cost_1 - cost_0 - volume_usd - mix_usd - intensity_usd as price_usd
    from effects
)

select * from final
