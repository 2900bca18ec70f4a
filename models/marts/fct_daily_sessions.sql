-- One row per UTC day x tenant x session: the day's requests of the session. Distinct
-- sessions over a week or a month are the distinct session_ids of its days here, so the monthly
-- marts count them without reading every request of the month again.
with requests as (
    select *
    from marts.fct_requests
    where usage_date >= tokenmart.window_start_date()
        and usage_date < tokenmart.window_end_date()
),

final as (
    select
        usage_date,
        tenant,
        session_id,
        count(*) as requests
    from requests
    group by usage_date, tenant, session_id
)

select * from final
