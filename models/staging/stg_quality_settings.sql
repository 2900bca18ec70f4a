-- The drift and agent-loop flag settings (one row).
with settings as (
    select * from seeds.quality_settings
),

final as (
    select
        psi_moderate,
        psi_major,
        ks_max_p_value,
        min_sample,
        rate_change_points,
        agent_loop_repeats
    from settings
)

select * from final
