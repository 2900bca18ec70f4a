-- Allocation rules (seeds.allocation_rules): one row per rule x receiver (a fixed rule names each
-- receiver with its share; a proportional rule has one row and finds its receivers in the month's
-- direct spend). A tag pool `key=value` is split into its key and value.
with rules as (
    select * from seeds.allocation_rules
),

final as (
    select
        rule_id,
        coalesce(priority, 100) as priority,
        pool_type,
        pool_value,
        case when pool_type = 'tag' then split_part(pool_value, '=', 1) end as pool_tag_key,
        case when pool_type = 'tag' then substr(pool_value, length(split_part(pool_value, '=', 1)) + 2) end as pool_tag_value,
        method,
        receiver_type,
        nullif(receiver_value, '') as receiver_value,
        fixed_share,
        description
    from rules
)

select * from final
