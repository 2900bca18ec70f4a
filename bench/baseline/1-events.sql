-- The hand-written baseline, statement 1 of 2 (bench:compare): typed, deduplicated events from
-- the JSON lines COPY loaded into baseline (doc jsonb); the first loaded copy of a request_id wins.
create table baseline_events as
select distinct on (doc ->> 'request_id')
    doc ->> 'request_id' as request_id,
    (doc ->> 'timestamp')::timestamptz as event_at,
    lower(doc ->> 'provider') as provider,
    doc ->> 'model' as model,
    doc ->> 'team' as team,
    doc ->> 'feature' as feature,
    coalesce(doc ->> 'service_tier', 'standard') as service_tier,
    coalesce((doc ->> 'cache_hit')::boolean, false) as is_cache_hit,
    (doc ->> 'input_tokens')::bigint as input_tokens,
    (doc ->> 'output_tokens')::bigint as output_tokens,
    coalesce((doc ->> 'cache_read_tokens')::bigint, 0) as cache_read_tokens,
    coalesce((doc ->> 'cache_write_tokens')::bigint, 0) as cache_write_tokens,
    coalesce((doc ->> 'cache_write_1h_tokens')::bigint, 0) as cache_write_1h_tokens,
    coalesce((doc ->> 'reasoning_tokens')::bigint, 0) as reasoning_tokens,
    (doc ->> 'latency_ms')::float8 as latency_ms
from baseline
order by doc ->> 'request_id', ctid
