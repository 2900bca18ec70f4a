import { addFirstCopies, ensureRawPartitions } from '../pipelines/ingest/raw-partitions.js';
import type pg from 'pg';
import { loadConfig } from '../pipelines/config/config.js';
import { closeDatabase, openDatabase } from '../pipelines/db/connect.js';
import { migrateToLatest } from '../pipelines/db/migrate.js';
import { buildModels } from '../pipelines/transform/build.js';
import { loadModels, seedAll } from '../pipelines/transform/transform.js';
import { fmt, freshBenchDatabase } from './bench-database.js';

/**
 * bench:build: N days of generated events, a full build, then one more day loaded and an
 * incremental build, in the same run. Usage: npm run bench:build [-- DAYS PER_DAY]
 * Events are generated in SQL (the loader has its own benchmark) with one manifest row and the
 * dirty-day records the loader would write.
 */
const days = Number(process.argv[2] ?? 30);
const perDay = Number(process.argv[3] ?? 200_000);

async function loadDay(pool: pg.Pool, day: number): Promise<void> {
    const date = new Date(Date.UTC(2026, 9, 1) + day * 86_400_000).toISOString().slice(0, 10);
    const client = await pool.connect();
    try {
        await client.query('begin');
        const { rows } = await client.query<{ file_id: string }>(
            `insert into ops.load_manifest (load_id, source_uri, content_id, size_bytes, lines_total, rows_loaded, rows_quarantined, blank_lines, duplicate_rows, unknown_version_rows)
             values (gen_random_uuid(), $1, 'bench', 0, $2, $2, 0, 0, 0, 0) returning file_id`,
            [`bench://day/${date}`, perDay],
        );
        const fileId = rows[0].file_id;
        await ensureRawPartitions(client, [date]);
        await client.query(
            `insert into raw.events (file_id, line_no, schema_version, request_id, event_at, provider, model, input_tokens, output_tokens, status,
                                     user_id, session_id, team, feature, tenant, prompt_version, cache_read_tokens, reasoning_tokens, service_tier,
                                     latency_ms, time_to_first_token_ms, retry_attempt, cache_hit, feedback, eval_scores, error_type)
             select $1, g, 2, 'bench_' || $2 || '_' || g, $2::date + (g % 86400) * interval '1 second',
                    (array['openai','anthropic','gcp.vertex_ai'])[1 + g % 3], (array['gpt-4.1-mini','claude-sonnet-4-5','gemini-2.5-flash'])[1 + g % 3],
                    1000 + g % 5000, 100 + g % 700, case when g % 50 = 0 then 'error' else 'ok' end,
                    'user_' || (g % 900), 's_' || (g % 7000), (array['support','search','growth','platform'])[1 + g % 4],
                    (array['support-chat','ticket-triage','semantic-search','answer-engine','email-drafts','lead-scoring','code-review','doc-summarizer'])[1 + g % 8],
                    (array['acme','globex','initech'])[1 + g % 3], 'v' || (g % 2), (1000 + g % 5000) / 3, case when g % 3 = 2 then 50 else null end, 'standard',
                    200 + (g * 7919) % 3000, 80 + g % 400, case when g % 50 = 0 then 1 else 0 end, g % 10 = 0,
                    case when g % 9 = 0 then 1 when g % 13 = 0 then -1 end,
                    case when g % 5 = 0 then jsonb_build_object('relevance', (g % 100) / 100.0) end,
                    case when g % 50 = 0 then 'timeout' end
             from generate_series(1, $3) as g`,
            [fileId, date, perDay],
        );
        await addFirstCopies(client, { fileIds: [fileId], days: [date] });
        await client.query(`insert into ops.dirty_days (usage_date, file_id) values ($1, $2)`, [date, fileId]);
        await client.query('commit');
    } finally {
        client.release();
    }
}

const url = await freshBenchDatabase('tokenmart_bench_build');
const handle = await openDatabase(loadConfig({ env: { DATABASE_URL: url } }));
await migrateToLatest(handle.db);
const loaded = await loadModels();
console.log(`bench:build: generating ${days} days x ${fmt(perDay)} events ...`);
for (let d = 0; d < days; d++) await loadDay(handle.pool, d);
await handle.pool.query('analyze raw.events');
await seedAll(handle.pool, loaded.project, () => undefined);

let t0 = Date.now();
const full = await buildModels(handle.pool, loaded.project, loaded.dag, { fullRefresh: true });
const fullSeconds = (Date.now() - t0) / 1000;
if (!full.ok) throw new Error(`full build failed: ${JSON.stringify(full.results.filter((r) => r.error))}`);

await loadDay(handle.pool, days);
t0 = Date.now();
const incr = await buildModels(handle.pool, loaded.project, loaded.dag);
const incrSeconds = (Date.now() - t0) / 1000;
if (!incr.ok) throw new Error('incremental build failed');
const [{ n }] = (await handle.pool.query('select count(*)::text as n from marts.fct_requests')).rows;
await closeDatabase(handle);

console.log(`full build        : ${fmt(days * perDay)} events in ${fullSeconds.toFixed(1)} s`);
for (const r of full.results.filter((x) => x.ms > 500)) console.log(`    ${r.id.padEnd(34)} ${(r.ms / 1000).toFixed(1)} s`);
console.log(`incremental build : +1 day (${fmt(perDay)} events) in ${incrSeconds.toFixed(1)} s`);
for (const r of incr.results.filter((x) => x.ms > 200)) console.log(`    ${r.id.padEnd(34)} ${(r.ms / 1000).toFixed(1)} s  ${r.days ?? ''}`);
console.log(`ratio incremental/full: ${((100 * incrSeconds) / fullSeconds).toFixed(1)}%   (target <= 15%); fct_requests now ${fmt(Number(n))} rows`);
