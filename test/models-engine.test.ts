import { readFileSync, writeFileSync } from 'node:fs';
import { writeDocs } from '../pipelines/transform/docs.js';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../pipelines/ingest/ingest.js';
import { localSource } from '../pipelines/ingest/sources/local-source.js';
import { buildModels } from '../pipelines/transform/build.js';
import { buildDag, selectModels } from '../pipelines/transform/dag.js';
import { runDataTests, type TestRun } from '../pipelines/transform/data-tests.js';
import { dayRanges } from '../pipelines/transform/materialize.js';
import { loadProject } from '../pipelines/transform/project.js';
import { loadModels, seedBuildTest } from '../pipelines/transform/transform.js';
import { event, jsonl, tempDir, writeLog } from './support/event-fixtures.js';
import { copyModels, writeModels } from './support/models-fixture.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

const ingestOptions = { maxErrorRate: 0.05, onChangedFile: 'replace' as const, keepText: false, userIdHmacKey: undefined };
// Every incremental model (a new one is covered by adding it), and the marts read most.
const INCREMENTAL = loadProject()
    .models.filter((m) => m.materialized === 'incremental')
    .map((m) => m.id);
const MARTS = [...new Set([...INCREMENTAL, 'marts.mart_cost_anomalies', 'marts.mart_monthly_chargeback', 'marts.mart_slo_status'])];

function dayEvents(day: string, from: number, n: number, extra: Record<string, unknown> = {}): Record<string, unknown>[] {
    return Array.from({ length: n }, (_, i) =>
        event(from + i, {
            request_id: `r_${from + i}`,
            timestamp: `${day}T${String(8 + (i % 12)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00Z`,
            model: i % 3 ? 'gpt-4o-mini' : 'claude-haiku-4-5',
            provider: i % 3 ? 'openai' : 'anthropic',
            feature: i % 2 ? 'support-chat' : 'code-review',
            latency_ms: 100 + i * 7,
            user_id: `u_${i % 13}`,
            session_id: `s_${i % 5}`,
            feedback: i % 4 === 0 ? 1 : i % 4 === 1 ? -1 : null,
            eval_scores: i % 5 === 0 ? { relevance: 0.5 + (i % 7) / 20 } : null,
            status: i % 17 === 0 ? 'error' : 'ok',
            error_type: i % 17 === 0 ? 'timeout' : null,
            ...extra,
        }),
    );
}

const failing = (run: TestRun) => run.results.filter((r) => r.status === 'fail' || r.status === 'error').map((r) => r.name);

async function snapshot(t: TestDatabase): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    for (const rel of MARTS) {
        const rows = await t.query(`select to_jsonb(m)::text as j from ${rel} as m`);
        out[rel] = rows.map((r) => r.j).sort();
    }
    return out;
}

describe('models: incremental builds', () => {
    let t: TestDatabase;
    beforeAll(async () => {
        t = await createTestDatabase('incremental');
    });
    afterAll(async () => {
        await t.drop();
    });

    it('an incremental build after late and duplicate events equals a full rebuild, row for row', async () => {
        const dir = tempDir('incr');
        writeLog(dir, 'd1.jsonl', jsonl(dayEvents('2026-11-01', 0, 120)));
        writeLog(dir, 'd2.jsonl', jsonl(dayEvents('2026-11-02', 1000, 120)));
        writeLog(dir, 'd3.jsonl', jsonl(dayEvents('2026-11-03', 2000, 120)));
        await ingest(t.handle.pool, localSource(dir), ingestOptions);
        const loaded = await loadModels();
        const first = await seedBuildTest(t.handle.pool, loaded, { log: () => undefined });
        expect(first.build.ok).toBe(true);
        expect(failing(first.tests)).toEqual(['freshness__raw_events']); // fixture days are weeks old
        // Every seed has statistics (autovacuum never analyzes tables this small): without them the
        // planner takes a 5-row seed for thousands of rows.
        const unanalyzed = await t.query(
            "select c.relname from pg_class as c inner join pg_namespace as n on n.oid = c.relnamespace where n.nspname = 'seeds' and c.relkind = 'r' and c.reltuples < 0",
        );
        expect(unanalyzed).toEqual([]);

        // Late events for day 1, a new day 4, and duplicates of day-2 and day-3 requests (one with
        // a different timestamp, landing on another day: it must still lose to the first copy).
        writeLog(
            dir,
            'late.jsonl',
            jsonl([
                ...dayEvents('2026-11-01', 5000, 30),
                ...dayEvents('2026-11-04', 6000, 50),
                ...dayEvents('2026-11-02', 1000, 10),
                event(1, { request_id: 'r_2005', timestamp: '2026-11-04T23:00:00Z', input_tokens: 999_999 }),
            ]),
        );
        await ingest(t.handle.pool, localSource(dir), ingestOptions);
        const incr = await seedBuildTest(t.handle.pool, loaded, { log: () => undefined });
        expect(incr.build.ok).toBe(true);
        expect(failing(incr.tests)).toEqual(['freshness__raw_events']);
        const fct = incr.build.results.find((r) => r.id === 'marts.fct_requests')!;
        expect(fct.mode).toBe('incremental');
        // Day 1 (late rows), day 2 (duplicates) and day 4 (new):
        // day 3 got no new rows and is not rebuilt.
        expect(fct.days).toBe('2026-11-01..2026-11-02, 2026-11-04');
        const afterIncremental = await snapshot(t);
        // The models built from daily sums, and the experiments' as-of weeks, hold rows to compare.
        for (const rel of ['marts.fct_daily_sessions', 'marts.fct_daily_pooled_spend', 'marts.mart_daily_slo_calls', 'marts.mart_experiment_results'])
            expect(afterIncremental[rel].length, rel).toBeGreaterThan(0);

        const full = await seedBuildTest(t.handle.pool, loaded, { fullRefresh: true, log: () => undefined });
        expect(full.build.results.find((r) => r.id === 'marts.fct_requests')!.mode).toBe('full');
        expect(await snapshot(t)).toEqual(afterIncremental);
        const [c] = await t.query('select count(*)::int as n from marts.fct_requests');
        expect(c.n).toBe(120 * 3 + 30 + 50);
        const [dup] = await t.query("select input_tokens::int as i, usage_date::text as d from marts.fct_requests where request_id = 'r_2005'");
        expect(dup).toEqual({ i: 2005 + 1000, d: '2026-11-03' });
    });

    it('tokenmart docs describes every model and column with its lineage', async () => {
        const out = tempDir('docs');
        await seedBuildTest(t.handle.pool, await loadModels(), { log: () => undefined });
        const docs = await writeDocs(t.handle.pool, await loadModels(), out);
        const manifest = JSON.parse(readFileSync(docs.manifest, 'utf8')) as {
            relations: { id: string; upstream: string[]; downstream: string[]; columns: { name: string; type: string; description: string }[] }[];
        };
        const byId = Object.fromEntries(manifest.relations.map((r) => [r.id, r]));
        const project = loadProject();
        for (const m of project.models) expect(byId[m.id], m.id).toBeDefined();
        expect(byId['marts.mart_daily_cost'].upstream).toEqual(['marts.fct_daily_requests']);
        expect(byId['marts.fct_requests'].downstream.sort()).toEqual([
            'marts.fct_daily_requests',
            'marts.fct_daily_sessions',
            'marts.fct_request_allocation',
            'marts.mart_agent_tasks',
            'marts.mart_daily_quality',
            'marts.mart_daily_rag',
            'marts.mart_daily_slo_calls',
            'marts.mart_daily_stage_latency',
            'marts.mart_daily_usage',
            'marts.mart_experiment_results',
            'marts.mart_invoice_reconciliation',
            'marts.mart_weekly_feature_requests',
        ]);
        // The drift chain reads the staged requests (no price, no owner), so it builds beside fct_requests.
        expect(byId['marts.mart_weekly_metric_counts'].upstream).toEqual(['staging.stg_events']);
        const cost = byId['marts.mart_daily_cost'].columns.find((c) => c.name === 'cost_usd')!;
        expect(cost).toMatchObject({ type: 'numeric', description: expect.stringContaining('sum of the bucket costs') });
        const html = readFileSync(docs.html, 'utf8');
        expect(html).toContain('id="marts.mart_daily_quality"');
        expect(html).toContain(
            'Read by: <a href="#marts.fct_daily_requests">marts.fct_daily_requests</a>, <a href="#marts.fct_daily_sessions">marts.fct_daily_sessions</a>, <a href="#marts.fct_request_allocation">',
        );
    });

    it('a replaced file re-dirties every affected day and still matches a full rebuild', async () => {
        const dir = tempDir('incr-replace');
        const p = writeLog(dir, 'd1.jsonl', jsonl(dayEvents('2026-11-10', 10_000, 40)));
        await ingest(t.handle.pool, localSource(dir), ingestOptions);
        const loaded = await loadModels();
        await seedBuildTest(t.handle.pool, loaded, { log: () => undefined });
        writeFileSync(p, jsonl(dayEvents('2026-11-11', 10_000, 25)));
        await ingest(t.handle.pool, localSource(dir), ingestOptions);
        await seedBuildTest(t.handle.pool, loaded, { log: () => undefined });
        const incremental = await snapshot(t);
        await seedBuildTest(t.handle.pool, loaded, { fullRefresh: true, log: () => undefined });
        expect(await snapshot(t)).toEqual(incremental);
        const [n] = await t.query("select count(*)::int as n from marts.fct_requests where usage_date in ('2026-11-10', '2026-11-11')");
        expect(n.n).toBe(25);
    });

    it('late events for an old week rebuild the later weeks whose baseline holds it (lookahead), as a full rebuild would', async () => {
        const dir = tempDir('incr-weeks');
        writeLog(dir, 'w1.jsonl', jsonl(dayEvents('2026-09-07', 20_000, 60)));
        writeLog(dir, 'w2.jsonl', jsonl(dayEvents('2026-09-14', 21_000, 60)));
        writeLog(dir, 'w3.jsonl', jsonl(dayEvents('2026-09-21', 22_000, 60)));
        await ingest(t.handle.pool, localSource(dir), ingestOptions);
        const loaded = await loadModels();
        await seedBuildTest(t.handle.pool, loaded, { log: () => undefined });
        // Only week 1 changes, with latencies unlike the rest: weeks 2 and 3 compare against it.
        writeLog(dir, 'late-w1.jsonl', jsonl(dayEvents('2026-09-08', 23_000, 60, { latency_ms: 5000, guardrail_flags: ['toxicity'] })));
        await ingest(t.handle.pool, localSource(dir), ingestOptions);
        const incr = await seedBuildTest(t.handle.pool, loaded, { log: () => undefined });
        expect(incr.build.results.find((r) => r.id === 'marts.mart_quality_drift')).toMatchObject({ mode: 'incremental', days: '2026-09-07..2026-10-11' });
        const incremental = await snapshot(t);
        const [drift] = await t.query(
            "select count(*)::int as n from marts.mart_quality_drift where week_start in ('2026-09-14', '2026-09-21') and metric = 'latency_ms'",
        );
        expect(drift.n).toBeGreaterThan(0);
        // The flag raised in week 1 is compared in week 2 (against week 1), and not in week 3.
        const flagged = await t.query("select distinct week_start::text as w from marts.mart_quality_drift where metric = 'guardrail:toxicity' order by 1");
        expect(flagged.map((r) => r.w)).toEqual(['2026-09-14']);
        await seedBuildTest(t.handle.pool, loaded, { fullRefresh: true, log: () => undefined });
        expect(await snapshot(t)).toEqual(incremental);
    });

    it('unlogged marts emptied by crash recovery are rebuilt in full: the empty build marker says so', async () => {
        const loaded = await loadModels();
        await seedBuildTest(t.handle.pool, loaded, { log: () => undefined });
        const before = await snapshot(t);
        const [{ wal_level }] = await t.query('show wal_level');
        const [fct] = await t.query("select relpersistence from pg_class where oid = 'marts.fct_requests'::regclass");
        expect(fct.relpersistence).toBe(wal_level === 'minimal' ? 'u' : 'p');
        // What crash recovery does to unlogged tables: they come back empty.
        await t.query('truncate marts.fct_requests, marts.mart_daily_cost, ops.build_marker');
        const lines: string[] = [];
        const after = await seedBuildTest(t.handle.pool, loaded, { log: (l) => lines.push(l) });
        expect(lines[0]).toMatch(/no build marker .* incremental models rebuild in full/);
        expect(after.build.results.find((r) => r.id === 'marts.fct_requests')).toMatchObject({ mode: 'full', status: 'success' });
        expect(await snapshot(t)).toEqual(before);
    });

    it('merges dirty days and lookback into contiguous ranges', () => {
        expect(dayRanges(['2026-11-05', '2026-11-01', '2026-11-02'], 0)).toEqual([
            { start: '2026-11-01', end: '2026-11-03' },
            { start: '2026-11-05', end: '2026-11-06' },
        ]);
        expect(dayRanges(['2026-11-05', '2026-11-02'], 2)).toEqual([{ start: '2026-10-31', end: '2026-11-06' }]);
        // Weeks start on Monday (2026-11-02 is one); months on the 1st; lookahead covers the weeks
        // whose baseline holds the changed day.
        expect(dayRanges(['2026-11-04'], 0, 0, 'week')).toEqual([{ start: '2026-11-02', end: '2026-11-09' }]);
        expect(dayRanges(['2026-11-01'], 0, 0, 'week')).toEqual([{ start: '2026-10-26', end: '2026-11-02' }]);
        expect(dayRanges(['2026-11-04'], 0, 28, 'week')).toEqual([{ start: '2026-11-02', end: '2026-12-07' }]);
        expect(dayRanges(['2026-02-14', '2026-11-30'], 0, 0, 'month')).toEqual([
            { start: '2026-02-01', end: '2026-03-01' },
            { start: '2026-11-01', end: '2026-12-01' },
        ]);
        // lookahead_days: all (experiments' as-of weeks): from the changed day's week on, one range.
        expect(dayRanges(['2026-11-04', '2026-10-01', '2026-11-20'], 0, Number.POSITIVE_INFINITY, 'week')).toEqual([
            { start: '2026-09-28', end: '9999-12-31' },
        ]);
    });
});

const fixtureProject = (files: Record<string, string>) => writeModels(files);

describe('models: data tests after an incremental build', () => {
    let t: TestDatabase;
    beforeAll(async () => {
        t = await createTestDatabase('scoped_tests');
    });
    afterAll(async () => {
        await t.drop();
    });

    it('read the rebuilt days only, but still count a rebuilt key against every day; tokenmart test reads every row', async () => {
        const dir = tempDir('scoped-tests');
        writeLog(dir, 'd1.jsonl', jsonl([...dayEvents('2026-08-03', 0, 120), ...dayEvents('2026-08-04', 1000, 120)]));
        await ingest(t.handle.pool, localSource(dir), ingestOptions);
        // fct_requests' request_id index made plain: a unique one would refuse the repeated key
        // below at the build (tested with a model of its own), and the scoped lookup is the point.
        const root = copyModels('scoped-tests');
        const marts = join(root, 'marts', '_marts.yml');
        writeFileSync(marts, readFileSync(marts, 'utf8').replace('{ columns: [request_id], unique: true }', '[request_id]'));
        const loaded = await loadModels(root);
        expect(loaded.project.models.find((m) => m.name === 'fct_requests')!.indexes.some((i) => i.unique)).toBe(false);
        expect((await seedBuildTest(t.handle.pool, loaded, { log: () => undefined })).build.ok).toBe(true);
        // Two faults on an old day that the next build will not rebuild: a cost that is not the sum
        // of its buckets, and a copy of a request the next day's file will bring.
        await t.query("update marts.fct_requests set cost_usd = cost_usd + 1 where request_id = 'r_30'");
        await t.query(
            "insert into marts.fct_requests select (jsonb_populate_record(m, jsonb_build_object('request_id', 'r_90005'))).* from marts.fct_requests as m where request_id = 'r_31'",
        );
        writeLog(dir, 'd3.jsonl', jsonl(dayEvents('2026-08-06', 90_000, 40)));
        await ingest(t.handle.pool, localSource(dir), ingestOptions);

        const incr = await seedBuildTest(t.handle.pool, loaded, { log: () => undefined });
        const fct = incr.build.results.find((r) => r.id === 'marts.fct_requests')!;
        expect(fct.days).toBe('2026-08-06'); // the new day only
        const result = (name: string) => incr.tests.results.find((r) => r.name === name)!;
        // The old day's cost fault is outside the rebuilt days: not read.
        expect(result('fct_requests_cost_is_sum_of_buckets')).toMatchObject({ status: 'pass', scope: { start: '2026-08-06', end: '2026-08-07' } });
        // The duplicate key is: the rebuilt day's r_90005 is counted against every day, looked up
        // through fct_requests' request_id index (the path the scoped unique test takes when the key
        // leads an index).
        expect(
            await t.query("select indexdef from pg_indexes where schemaname = 'marts' and tablename = 'fct_requests' and indexdef like '%(request_id)'"),
        ).toHaveLength(1);
        expect(result('unique__marts_fct_requests__request_id')).toMatchObject({
            status: 'fail',
            failures: 1,
            sample: [{ request_id: 'r_90005', duplicate_count: '2' }],
        });
        // A model rebuilt in full is tested in full.
        expect(result('cost_per_outcome_reconciles_to_cost_mart').scope).toBeUndefined();

        // Staging loses a request of the rebuilt day: the scoped check of its days sees it (39 of the
        // day's 40 first copies); the check that reads every copy in raw waits for a full run.
        await t.query("delete from staging.stg_events where request_id = 'r_90007'");
        const scoped = await runDataTests(t.handle.pool, loaded.project, {
            models: new Set(['staging.stg_events']),
            windows: new Map([['staging.stg_events', { start: '2026-08-06', end: '2026-08-07' }]]),
            log: () => undefined,
        });
        const named = (run: TestRun, name: string) => run.results.find((r) => r.name === name)!;
        expect(named(scoped, 'stg_events_days_match_first_copies')).toMatchObject({
            status: 'fail',
            sample: [{ usage_date: '2026-08-06', raw_first_copies: '40', staged_requests: '39' }],
        });
        expect(named(scoped, 'stg_events_one_row_per_raw_request')).toMatchObject({ status: 'pass', scope: { start: '2026-08-06' } });

        const all = await runDataTests(t.handle.pool, loaded.project, { log: () => undefined });
        const cost = all.results.find((r) => r.name === 'fct_requests_cost_is_sum_of_buckets')!;
        expect(cost).toMatchObject({ status: 'fail', failures: 1, sample: [{ request_id: 'r_30' }] });
        expect(cost.scope).toBeUndefined();
        expect(named(all, 'stg_events_one_row_per_raw_request')).toMatchObject({ status: 'fail', failures: 1 });
        expect(named(all, 'stg_events_days_match_first_copies')).toMatchObject({ status: 'fail', failures: 1 });
    });
});

describe('models: data tests when nothing they read changed', () => {
    let t: TestDatabase;
    beforeAll(async () => {
        t = await createTestDatabase('carried_tests');
    });
    afterAll(async () => {
        await t.drop();
    });

    it('a build that found a model up to date takes its tests last results (pass or warn, same definition); a changed definition or a failure runs again', async () => {
        const dir = tempDir('carried-tests');
        writeLog(dir, 'd1.jsonl', jsonl(dayEvents('2026-08-03', 0, 60)));
        await ingest(t.handle.pool, localSource(dir), ingestOptions);
        const root = copyModels('carried-tests');
        const first = await seedBuildTest(t.handle.pool, await loadModels(root), { log: () => undefined });
        expect(first.build.ok).toBe(true);
        const name = 'stg_events_buckets_sum_to_totals'; // an expression test on staging.stg_events
        const ran = first.tests.results.find((r) => r.name === name)!;
        expect(ran.status).toBe('pass');

        // Nothing new: every model is up to date, and so are the tests that read only them.
        const again = await seedBuildTest(t.handle.pool, await loadModels(root), { log: () => undefined });
        expect(again.build.results.find((r) => r.id === 'staging.stg_events')!.status).toBe('up_to_date');
        const carried = again.tests.results.find((r) => r.name === name)!;
        expect(carried).toMatchObject({ status: 'pass', ms: 0 });
        const [{ at }] = await t.query(`select min(tested_at) as at from ops.test_results where test_name = $1`, [name]);
        expect(carried.message).toBe(`unchanged since ${at.toISOString()}: what it reads was up to date`);
        // A test on a view (rebuilt at every build) or on a seed runs; so does freshness.
        expect(again.tests.results.find((r) => r.name.startsWith('not_null__seeds_'))!.message).toBeUndefined();
        expect(again.tests.results.find((r) => r.name === 'freshness__raw_events')!.message).toMatch(/^latest event_at/);

        // Its last result a failure: it runs (and passes on the data).
        await t.query(`update ops.test_results set status = 'fail', failures = 3 where test_name = $1 and run_id = $2`, [name, again.tests.runId]);
        const afterFailure = await seedBuildTest(t.handle.pool, await loadModels(root), { log: () => undefined });
        expect(afterFailure.tests.results.find((r) => r.name === name)!.message).toBeUndefined();

        // A new definition of the same test runs too (this one fails on every row).
        const yml = join(root, 'staging', '_staging.yml');
        writeFileSync(yml, readFileSync(yml, 'utf8').replace('or least(uncached_input_tokens,', 'or true or least(uncached_input_tokens,'));
        const redefined = await seedBuildTest(t.handle.pool, await loadModels(root), { log: () => undefined });
        const rerun = redefined.tests.results.find((r) => r.name === name)!;
        expect([rerun.status, rerun.failures, rerun.message]).toEqual(['fail', 60, undefined]);
    });
});

describe('models: the engine', () => {
    let t: TestDatabase;
    beforeAll(async () => {
        t = await createTestDatabase('engine');
    });
    afterAll(async () => {
        await t.drop();
    });

    it('finds models in layer subfolders (schema from the top folder) and builds them; YAML may sit beside them', async () => {
        const root = fixtureProject({
            'staging/a.sql': 'select 1 as id',
            'marts/finance/budget_lines.sql': 'select id, 2.5::numeric as amount_usd from staging.a',
            'marts/finance/_finance.yml': 'models:\n  - name: budget_lines\n    description: Lines of a budget\n',
            'marts/quality/deep/er/quality_lines.sql': 'select id from marts.budget_lines',
        });
        const project = loadProject(root);
        expect(project.models.map((m) => [m.id, m.folder])).toEqual([
            ['staging.a', ''],
            ['marts.budget_lines', 'finance'],
            ['marts.quality_lines', 'quality/deep/er'],
        ]);
        expect(project.models.find((m) => m.name === 'budget_lines')!.description).toBe('Lines of a budget');
        const built = await buildModels(t.handle.pool, project, await buildDag(project));
        expect(built.ok).toBe(true);
        const [r] = await t.query('select amount_usd::text as a from marts.budget_lines');
        expect(r.a).toBe('2.5');
    });

    it('refuses what it does not know, naming the file: a stray file type, a folder outside the layers, two models with one name', () => {
        const stray = fixtureProject({ 'staging/a.sql': 'select 1 as id', 'marts/finance/notes.txt': 'hello' });
        expect(() => loadProject(stray)).toThrow(/models: .*marts\/finance\/notes\.txt is neither a model \(\.sql\) nor its YAML \(\.yml\)/);
        const outside = fixtureProject({ 'staging/a.sql': 'select 1 as id', 'mart/b.sql': 'select 1 as id' });
        expect(() => loadProject(outside)).toThrow(/models: .*models\/mart is outside the layers; models\/ holds only staging\/, intermediate\/, marts\//);
        const twins = fixtureProject({ 'staging/a.sql': 'select 1 as id', 'marts/finance/a.sql': 'select 1 as id' });
        expect(() => loadProject(twins)).toThrow(/two models are named "a" \(.*staging\/a\.sql and .*marts\/finance\/a\.sql\)/);
        const twice = fixtureProject({
            'marts/b.sql': 'select 1 as id',
            'marts/x/_x.yml': 'models:\n  - name: b\n',
            'marts/y/_y.yml': 'models:\n  - name: b\n',
        });
        expect(() => loadProject(twice)).toThrow(/model "b" is described twice, in .*marts\/x\/_x\.yml and .*marts\/y\/_y\.yml/);
        const seedDir = fixtureProject({ 'seeds/sub/x.csv': 'a\n1\n' });
        expect(() => loadProject(seedDir)).toThrow(/seeds\/sub is not a seed \(\.csv\) or its YAML; seeds\/ is flat/);
    });

    it('infers dependencies with the Postgres parser, ignoring CTEs, comments and strings', async () => {
        const root = fixtureProject({
            'staging/a.sql': "-- reads staging.not_a_dependency in a comment\nselect 1 as id, 'from staging.b' as note",
            'intermediate/b.sql': 'with staging_a as (select * from staging.a) select * from staging_a',
            'marts/c.sql': 'select b.id from intermediate.b as b join (select id from staging.a) as x using (id)',
        });
        const dag = await buildDag(loadProject(root));
        expect(dag.order.map((m) => m.id)).toEqual(['staging.a', 'intermediate.b', 'marts.c']);
        expect(dag.upstream.get('marts.c')).toEqual(['intermediate.b', 'staging.a']);
        expect(selectModels(dag, ['b+']).map((m) => m.id)).toEqual(['intermediate.b', 'marts.c']);
        expect(selectModels(dag, ['+b']).map((m) => m.id)).toEqual(['staging.a', 'intermediate.b']);
        expect(selectModels(dag, ['c']).map((m) => m.id)).toEqual(['marts.c']);
    });

    it('names the file of a cycle, an unknown reference and unparseable SQL', async () => {
        const cycle = fixtureProject({ 'staging/a.sql': 'select * from staging.b', 'staging/b.sql': 'select * from staging.a' });
        await expect(buildDag(loadProject(cycle))).rejects.toThrow(
            /models: .*staging\/(a|b)\.sql: dependency cycle staging\.(a|b) -> staging\.(a|b) -> staging\.(a|b)/,
        );
        const unknown = fixtureProject({ 'staging/a.sql': 'select * from staging.nope' });
        await expect(buildDag(loadProject(unknown))).rejects.toThrow(/staging\/a\.sql: reads staging\.nope, which is no model, seed or source/);
        const bad = fixtureProject({ 'staging/a.sql': 'select 1 as x\nfrom\nwhere' });
        await expect(buildDag(loadProject(bad))).rejects.toThrow(/staging\/a\.sql:3: SQL does not parse: syntax error at or near "where"/);
        const unqualified = fixtureProject({ 'staging/a.sql': 'select * from events' });
        await expect(buildDag(loadProject(unqualified))).rejects.toThrow(/"events" is neither a CTE nor schema-qualified/);
    });

    it('a failing model keeps its previous table, names file and line, and skips its downstream', async () => {
        const files = {
            'staging/a.sql': 'select 1 as id union all select 2',
            'marts/b.sql': 'select id, id * 10 as v from staging.a',
            'marts/c.sql': 'select sum(v) as total from marts.b',
        };
        const root = fixtureProject(files);
        const ok = await buildModels(t.handle.pool, loadProject(root), await buildDag(loadProject(root)));
        expect(ok.ok).toBe(true);
        writeFileSync(join(root, 'marts/b.sql'), 'select id,\n    id / (id - id) as v\nfrom staging.a');
        const broken = await buildModels(t.handle.pool, loadProject(root), await buildDag(loadProject(root)));
        expect(broken.ok).toBe(false);
        const b = broken.results.find((r) => r.id === 'marts.b')!;
        expect(b.status).toBe('error');
        expect(b.error).toMatch(/^model marts\.b \(.*marts\/b\.sql\): division by zero$/);
        expect(broken.results.find((r) => r.id === 'marts.c')).toMatchObject({ status: 'skipped', error: 'upstream marts.b failed' });
        const [prev] = await t.query('select sum(v)::int as s from marts.b');
        expect(prev.s).toBe(30);
        writeFileSync(join(root, 'marts/b.sql'), 'select id,\n    no_such_column as v\nfrom staging.a');
        const typo = await buildModels(t.handle.pool, loadProject(root), await buildDag(loadProject(root)));
        expect(typo.results.find((r) => r.id === 'marts.b')!.error).toMatch(/marts\/b\.sql:2\): column "no_such_column" does not exist/);
        const runs = await t.query('select status from ops.model_runs where run_id = $1 order by model', [typo.runId]);
        expect(runs.map((r) => r.status)).toEqual(['error', 'skipped', 'success']);
    });

    it('a table is swapped in one transaction and views on it survive the swap', async () => {
        const root = fixtureProject({
            'staging/a.sql': 'select generate_series(1, 3) as id',
            'marts/t.sql': 'select id from staging.a',
        });
        await buildModels(t.handle.pool, loadProject(root), await buildDag(loadProject(root)));
        await t.query('create view public.analyst_view as select count(*) as n from marts.t');
        writeFileSync(join(root, 'staging/a.sql'), 'select generate_series(1, 5) as id');
        await buildModels(t.handle.pool, loadProject(root), await buildDag(loadProject(root)));
        const [v] = await t.query('select n::int from public.analyst_view');
        expect(v.n).toBe(5);
    });

    it('indexes: a list of columns, or columns with a where (partial: only the rows that match); a malformed entry is one line', async () => {
        const root = fixtureProject({
            'marts/calls.sql': "select g as id, case when g % 4 = 0 then 'task_' || g end as task_id from generate_series(1, 100) as g",
            'marts/_marts.yml':
                'models:\n  - name: calls\n    config:\n      indexes:\n        - [id]\n        - { columns: [task_id], where: task_id is not null }\n',
        });
        const project = loadProject(root);
        expect(project.models[0].indexes).toEqual([{ columns: ['id'] }, { columns: ['task_id'], where: 'task_id is not null' }]);
        expect((await buildModels(t.handle.pool, project, await buildDag(project))).ok).toBe(true);
        const indexes = await t.query(
            "select regexp_replace(indexdef, '^.* USING ', '') as def, (select reltuples from pg_class where relname = indexname)::int as entries from pg_indexes where schemaname = 'marts' and tablename = 'calls' order by 1",
        );
        // 25 of the 100 calls have a task_id: the partial index holds those alone.
        expect(indexes).toEqual([
            { def: 'btree (id)', entries: 100 },
            { def: 'btree (task_id) WHERE (task_id IS NOT NULL)', entries: 25 },
        ]);
        writeFileSync(join(root, 'marts/_marts.yml'), 'models:\n  - name: calls\n    config:\n      indexes: [{ columns: [task_id], when: x }]\n');
        expect(() => loadProject(root)).toThrow(
            /^models: .*marts\/_marts\.yml: calls: indexes entry 1 must be a list of columns or \{ columns: \[\.\.\.\], where: <predicate>, unique: true \}: fix it in the model's YAML$/,
        );
    });

    it('a unique index: the build refuses a repeated key (one line with the key, the last rows kept), and the unique test is kept by the index', async () => {
        const yaml =
            'models:\n  - name: keyed\n    config:\n      indexes: [{ columns: [id], unique: true }]\n    columns:\n      - { name: id, tests: [unique] }\n';
        const root = fixtureProject({ 'marts/keyed.sql': 'select g as id from generate_series(1, 100) as g', 'marts/_marts.yml': yaml });
        const project = loadProject(root);
        expect(project.models[0].indexes).toEqual([{ columns: ['id'], unique: true }]);
        expect((await buildModels(t.handle.pool, project, await buildDag(project))).ok).toBe(true);
        const tests = await runDataTests(t.handle.pool, project, { models: new Set(['marts.keyed']) });
        const unique = tests.results.find((r) => r.name === 'unique__marts_keyed__id')!;
        expect(unique.status).toBe('pass');
        expect(unique.message).toMatch(/^enforced by the unique index keyed__ix0_\d+: the build refuses a repeated key$/);
        // Two rows with id 7, then two with no id (NULLS NOT DISTINCT: a repeated null, as the test counts it).
        for (const sql of ['select g as id from generate_series(1, 100) as g union all select 7', 'select null::int as id union all select null::int']) {
            writeFileSync(join(root, 'marts/keyed.sql'), sql);
            const again = loadProject(root);
            const failed = await buildModels(t.handle.pool, again, await buildDag(again));
            expect(failed.ok).toBe(false);
            expect(failed.results[0].error).toMatch(
                /^model marts\.keyed \(.*marts\/keyed\.sql\): could not create unique index "keyed__ix0_\d+" \(Key \(id\)=\((7|null)\) is duplicated\); the model keeps its last built rows: find the repeated key in its SQL \(group by the index's columns having count\(\*\) > 1\) and fix what repeats it$/,
            );
            expect((await t.query('select count(*)::int as n from marts.keyed'))[0].n).toBe(100);
        }
        // Without the index, the same test counts the rows again.
        writeFileSync(join(root, 'marts/_marts.yml'), yaml.replace('{ columns: [id], unique: true }', '[id]'));
        writeFileSync(join(root, 'marts/keyed.sql'), 'select g as id from generate_series(1, 100) as g union all select 7');
        const plain = loadProject(root);
        expect((await buildModels(t.handle.pool, plain, await buildDag(plain))).ok).toBe(true);
        const counted = (await runDataTests(t.handle.pool, plain, { models: new Set(['marts.keyed']) })).results.find(
            (r) => r.name === 'unique__marts_keyed__id',
        )!;
        expect([counted.status, counted.failures, counted.message]).toEqual(['fail', 1, undefined]);
    });

    it('seeds: dated_by names the key and from columns of the seed; anything else is one line', () => {
        const seed = (config: string) =>
            fixtureProject({
                'staging/a.sql': 'select 1 as id',
                'seeds/rates.csv': 'sku,starts,rate\na,2026-01-01T00:00:00Z,1\n',
                'seeds/_seeds.yml': `seeds:\n  - name: rates\n    config: ${config}\n    columns:\n      - { name: sku, type: text }\n      - { name: starts, type: timestamptz }\n      - { name: rate, type: numeric }\n`,
            });
        expect(loadProject(seed('{ dated_by: { key: [sku], from: starts } }')).seeds[0].datedBy).toEqual({ key: ['sku'], from: 'starts' });
        expect(() => loadProject(seed('{ dated_by: { key: [sku], from: started } }'))).toThrow(
            /^models: seeds: rates: config\.dated_by must be \{ key: \[columns\], from: column \}, columns of the seed \(e\.g\. \{ key: \[provider, model\], from: effective_from \}\)$/,
        );
        expect(() => loadProject(seed('{ dated: true }'))).toThrow(/^models: seeds: rates: unknown config dated; known: dated_by$/);
    });

    it('data tests run as the build goes: a test starts once the models it reads are built, while a slow model still builds', async () => {
        // Each expression test fails on purpose with one row holding the time it ran (its sample).
        const ranAt = (from: string) => `select clock_timestamp()::text as ran_at from ${from}`;
        const root = fixtureProject({
            'staging/quick.sql': 'select 1 as id',
            'marts/slow.sql': 'select id from staging.quick cross join lateral (select pg_sleep(1.5)) as wait',
            'staging/_staging.yml': `models:\n  - name: quick\n    tests:\n      - expression: { name: quick_alone, severity: warn, sql: "${ranAt('staging.quick')}" }\n      - expression: { name: quick_and_slow, severity: warn, sql: "${ranAt('staging.quick cross join (select 1 from marts.slow limit 1) as s')}" }\n`,
        });
        const project = loadProject(root);
        const out = await seedBuildTest(t.handle.pool, { project, dag: await buildDag(project) }, { log: () => undefined });
        expect(out.build.ok).toBe(true);
        const [slow] = await t.query("select started_at as finished_at, duration_ms from ops.model_runs where run_id = $1 and model = 'marts.slow'", [
            out.build.runId,
        ]);
        const at = (name: string) => Date.parse(out.tests.results.find((r) => r.name === name)!.sample[0].ran_at as string);
        const slowFinished = (slow.finished_at as Date).getTime();
        expect(slow.duration_ms).toBeGreaterThanOrEqual(1500);
        // The test of quick alone ran while slow was building; the one that reads slow, after it.
        expect(at('quick_alone')).toBeLessThan(slowFinished - 1000);
        expect(at('quick_and_slow')).toBeGreaterThanOrEqual(slowFinished - 50);
        // Both recorded under the build's run.
        expect(await t.query('select test_name, status from ops.test_results where run_id = $1 order by 1', [out.build.runId])).toEqual([
            { test_name: 'quick_alone', status: 'warn' },
            { test_name: 'quick_and_slow', status: 'warn' },
        ]);
    });

    it('a model statement over build.statementTimeoutMinutes is cancelled: one line naming the key, and the table keeps its last rows', async () => {
        const root = fixtureProject({ 'marts/slow.sql': 'select generate_series(1, 3) as id' });
        await buildModels(t.handle.pool, loadProject(root), await buildDag(loadProject(root)));
        writeFileSync(join(root, 'marts/slow.sql'), 'select generate_series(1, 5) as id from (select pg_sleep(5)) as wait');
        const started = Date.now();
        // 0.005 minutes = 0.3 s (the config's own minimum is 1 minute).
        const slow = await buildModels(t.handle.pool, loadProject(root), await buildDag(loadProject(root)), { statementTimeoutMinutes: 0.005 });
        expect(Date.now() - started).toBeLessThan(4000); // cancelled, not waited out
        expect(slow.ok).toBe(false);
        expect(slow.results[0].error).toMatch(
            /^model marts\.slow \(.*slow\.sql\): a statement ran longer than build\.statementTimeoutMinutes \(0\.005 min\) and was cancelled; the model keeps its last built rows: find the slow step with EXPLAIN, or raise build\.statementTimeoutMinutes in tokenmart\.config\.json$/,
        );
        const [n] = await t.query('select count(*)::int as n from marts.slow');
        expect(n.n).toBe(3);
        // Every connection went back to the pool without the limit (the pool holds at most 6).
        const clients = await Promise.all(Array.from({ length: 6 }, () => t.handle.pool.connect()));
        try {
            const settings = await Promise.all(clients.map(async (c) => (await c.query("select current_setting('statement_timeout') as v")).rows[0].v));
            expect(settings).toEqual(Array(6).fill('0'));
        } finally {
            for (const c of clients) c.release();
        }
    });

    it('every data test kind fails on a fixture built to break it, with counts and samples', async () => {
        const root = fixtureProject({
            'staging/people.sql': "select * from (values (1, 'a', 'red', 10), (1, 'b', 'blue', 20), (null, 'c', 'pink', 99)) as v(id, name, colour, team_id)",
            'staging/teams.sql': 'select * from (values (10), (20)) as v(team_id)',
            'staging/_models.yml': `
sources:
  - name: raw.events
    freshness: { column: event_at, warn_after_hours: 1, error_after_hours: 2 }
models:
  - name: people
    columns:
      - name: id
        tests: [not_null, unique]
      - name: colour
        tests: [{ accepted_values: { values: [red, blue] } }]
      - name: team_id
        tests: [{ relationships: { to: staging.teams, field: team_id, severity: warn } }]
    tests:
      - expression: { name: no_pink, sql: "select * from staging.people where colour = 'pink'" }
      - unique: { columns: [name] }
`,
        });
        const project = loadProject(root);
        await buildModels(t.handle.pool, project, await buildDag(project));
        await t.query(`insert into ops.load_manifest (load_id, source_uri, content_id, size_bytes, lines_total, rows_loaded, rows_quarantined, blank_lines, duplicate_rows, unknown_version_rows)
                       values (gen_random_uuid(), 'file:///old', 'x', 1, 1, 1, 0, 0, 0, 0)`);
        // Rows written by hand need their day's partition (the loader makes it).
        await t.query("select tokenmart.ensure_raw_partition(((now() - d * interval '1 minute') at time zone 'UTC')::date) from unnest(array[90, 300]) as d");
        await t.query(`insert into raw.events (file_id, line_no, schema_version, request_id, event_at, provider, model, input_tokens, output_tokens, status)
                       select max(file_id), 1, 1, 'old', now() - interval '5 hours', 'openai', 'gpt-4o', 1, 1, 'ok' from ops.load_manifest`);
        const run = await runDataTests(t.handle.pool, project);
        const by = Object.fromEntries(run.results.map((r) => [r.name, r]));
        expect(by.not_null__staging_people__id).toMatchObject({ status: 'fail', failures: 1 });
        expect(by.unique__staging_people__id).toMatchObject({ status: 'fail', failures: 1 });
        expect(by.unique__staging_people__id.sample[0]).toMatchObject({ id: 1, duplicate_count: '2' });
        expect(by.accepted_values__staging_people__colour).toMatchObject({ status: 'fail', failures: 1 });
        expect(by.accepted_values__staging_people__colour.sample[0]).toMatchObject({ value: 'pink' });
        expect(by.relationships__staging_people__team_id).toMatchObject({ status: 'warn', failures: 1, severity: 'warn' });
        expect(by.no_pink).toMatchObject({ status: 'fail', failures: 1 });
        expect(by.unique__staging_people__name).toMatchObject({ status: 'pass', failures: 0 });
        expect(by.freshness__raw_events).toMatchObject({ status: 'fail' });
        expect(by.freshness__raw_events.message).toMatch(/h old; warn after 1 h, error after 2 h/);
        expect(run.ok).toBe(false);
        const [rec] = await t.query('select count(*)::int as n from ops.test_results where run_id = $1', [run.runId]);
        expect(rec.n).toBe(run.results.length);

        // A newer event inside the error window: found among the window's rows alone (the stale
        // case above needed every row), 1.5 h old: a warning.
        await t.query(`insert into raw.events (file_id, line_no, schema_version, request_id, event_at, provider, model, input_tokens, output_tokens, status)
                       select max(file_id), 2, 1, 'newer', now() - interval '90 minutes', 'openai', 'gpt-4o', 1, 1, 'ok' from ops.load_manifest`);
        const again = (await runDataTests(t.handle.pool, project)).results.find((r) => r.name === 'freshness__raw_events')!;
        expect(again).toMatchObject({ status: 'warn', severity: 'warn' });
        expect(again.message).toMatch(/\(1\.5 h old; warn after 1 h, error after 2 h\)/);
    });
});
