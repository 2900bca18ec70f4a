import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../pipelines/config/config.js';
import { closeDatabase, openDatabase } from '../pipelines/db/connect.js';
import { migrateToLatest } from '../pipelines/db/migrate.js';
import { loadModels, seedAll, seedBuildTest } from '../pipelines/transform/transform.js';
import { buildModels } from '../pipelines/transform/build.js';
import { runDataTests } from '../pipelines/transform/data-tests.js';
import { projectRoot } from '../pipelines/util/project-root.js';
import { fmt, freshBenchDatabase } from './bench-database.js';
import { measureIngest, writeBenchEvents } from './bench-events.js';
import { addDays } from '../reports/period.js';
import { priceFixModels } from './price-fix.js';

/**
 * bench:compare: the same generated events through tokenmart and through the hand-written
 * baseline, on one server, in one run. Usage: npm run bench:compare [-- N] (default 1,000,000).
 * tokenmart: ingest, seed + full build, the models of the baseline's mart alone (for context),
 * then one new day (33,000 events) ingested, built incrementally and tested (as it goes), then a
 * price fix of the last 7 days (a copy of models/ with one price row more): seed + build timed as
 * the full build is, then tested, its total checked against a full rebuild's. Baseline: a COPY of the lines into a one-column jsonb table (what
 * psql's \\copy does), then the two statements in bench/baseline/, which give the same daily cost
 * mart: their totals are compared to the cent.
 */
const n = Number(process.argv[2] ?? 1_000_000);
const dayEvents = 33_000;
const benchDir = join(projectRoot, '.tokenmart', 'bench');
const logs = join(benchDir, 'compare-logs');
const nextDay = join(benchDir, 'compare-next-day');
const seconds = async <T>(fn: () => Promise<T>): Promise<[number, T]> => {
    const t0 = process.hrtime.bigint();
    const value = await fn();
    return [Number(process.hrtime.bigint() - t0) / 1e9, value];
};

console.log(`bench:compare: generating ${fmt(n)} events (+${fmt(dayEvents)} for the next day) ...`);
writeBenchEvents(logs, n, 10);
writeBenchEvents(nextDay, dayEvents, 1, n);

// tokenmart
const tmUrl = await freshBenchDatabase('tokenmart_bench_compare');
const tmIngest = measureIngest('tokenmart', tmUrl, logs);
const tm = await openDatabase(loadConfig({ env: { DATABASE_URL: tmUrl } }));
const loaded = await loadModels();
const [tmBuild, full] = await seconds(async () => {
    await seedAll(tm.pool, loaded.project, () => undefined);
    return buildModels(tm.pool, loaded.project, loaded.dag, { fullRefresh: true });
});
if (!full.ok) throw new Error('bench:compare: the full build failed');
const tmTotal = (await tm.pool.query<{ t: string }>('select round(sum(cost_usd), 2)::text as t from marts.mart_daily_cost')).rows[0].t;
const slowest = full.results
    .filter((r) => r.ms > 1000)
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 6);
// The same mart as the baseline's, alone: the models mart_daily_cost reads, rebuilt in full.
const [tmSameMart, same] = await seconds(() => buildModels(tm.pool, loaded.project, loaded.dag, { select: ['+mart_daily_cost'], fullRefresh: true }));
if (!same.ok) throw new Error('bench:compare: the build of mart_daily_cost alone failed');
const dayIngest = measureIngest('tokenmart', tmUrl, nextDay);
const [dayBuild, dayOutcome] = await seconds(() => seedBuildTest(tm.pool, loaded, { log: () => undefined }));

// A price fix: the busiest model costs 10% more from 6 days before the last day on (a copy of
// models/, one price row more). The days it applies to are rebuilt; before, every day was.
const lastDay = (await tm.pool.query<{ d: string }>('select max(usage_date)::text as d from marts.fct_requests')).rows[0].d;
const fix = priceFixModels(join(benchDir, 'compare-price-fix'), addDays(lastDay, -6));
const fixModels = await loadModels(fix.root);
// Timed as the full build is: seed + build (the data tests after it, untimed, must pass).
const [fixBuild, fixOutcome] = await seconds(async () => {
    await seedAll(tm.pool, fixModels.project, () => undefined);
    return buildModels(tm.pool, fixModels.project, fixModels.dag);
});
// The generated events are dated 2026-10: freshness is judged as of the last one.
const lastEvent = (await tm.pool.query<{ at: Date }>('select max(event_at) as at from marts.fct_requests')).rows[0].at;
const fixTests = await runDataTests(tm.pool, fixModels.project, { now: lastEvent });
const fixDays = fixOutcome.results.find((r) => r.id === 'marts.fct_requests')?.days ?? '?';
const totalNow = async () => (await tm.pool.query<{ t: string }>('select sum(cost_usd)::text as t from marts.mart_daily_cost')).rows[0].t;
const fixTotal = await totalNow();
const refull = await buildModels(tm.pool, fixModels.project, fixModels.dag, { fullRefresh: true });
const refullTotal = await totalNow();
if (!refull.ok) throw new Error('bench:compare: the full build after the price fix failed');
await closeDatabase(tm);

// the hand-written baseline
const baseUrl = await freshBenchDatabase('tokenmart_bench_baseline');
const copy = measureIngest('copy', baseUrl, logs);
const base = await openDatabase(loadConfig({ env: { DATABASE_URL: baseUrl } }));
await migrateToLatest(base.db);
await seedAll(base.pool, loaded.project, () => undefined); // the same price seeds (not timed)
const statements = ['1-events.sql', '2-daily-cost.sql'].map((f) => readFileSync(join(projectRoot, 'bench', 'baseline', f), 'utf8'));
const [baseBuild] = await seconds(async () => {
    for (const s of statements) await base.pool.query(s);
});
const baseTotal = (await base.pool.query<{ t: string }>('select round(sum(cost_usd), 2)::text as t from baseline_daily_cost')).rows[0].t;
await closeDatabase(base);

const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
console.log(`\nbench:compare, ${fmt(n)} events, one run on one server:`);
console.log(
    `ingest          tokenmart ${tmIngest.seconds.toFixed(1)} s (peak RSS ${fmt(tmIngest.maxRssMb)} MB)   COPY jsonb ${copy.seconds.toFixed(1)} s   speed ${ratio(copy.seconds, tmIngest.seconds)} the COPY's (target >= 0.8x)`,
);
console.log(
    `seed+full build tokenmart ${tmBuild.toFixed(1)} s   hand-written SQL ${baseBuild.toFixed(1)} s   time ${ratio(tmBuild, baseBuild)} the SQL's (target <= 2x)`,
);
for (const r of slowest) console.log(`    ${r.id.padEnd(40)} ${(r.ms / 1000).toFixed(1)} s`);
console.log(
    `the same mart   tokenmart ${tmSameMart.toFixed(1)} s for the ${same.results.length} models mart_daily_cost reads (not a target: the full build makes ${full.results.length})   time ${ratio(tmSameMart, baseBuild)} the SQL's`,
);
console.log(`raw -> daily mart tokenmart ${(tmIngest.seconds + tmBuild).toFixed(1)} s   hand-written ${(copy.seconds + baseBuild).toFixed(1)} s`);
console.log(
    `one new day     ${fmt(dayEvents)} events: ingest ${dayIngest.seconds.toFixed(1)} s + incremental build and data tests ${dayBuild.toFixed(1)} s = ${(dayIngest.seconds + dayBuild).toFixed(1)} s (target < 2 s)${dayOutcome.build.ok ? '' : ' BUILD FAILED'}`,
);
for (const r of dayOutcome.build.results
    .filter((x) => x.ms > 500)
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 6))
    console.log(`    ${r.id.padEnd(40)} ${(r.ms / 1000).toFixed(1)} s ${r.mode ?? ''}`);
console.log(
    `price fix       ${fix.model} +10% from ${fix.from} (fct_requests days ${fixDays}): seed + build ${fixBuild.toFixed(1)} s vs seed + full build ${tmBuild.toFixed(1)} s = ${ratio(fixBuild, tmBuild)}${fixOutcome.ok ? '' : ' BUILD FAILED'}${fixTests.ok ? '' : ' TESTS FAILED'}; total $${fixTotal} vs a full rebuild's $${refullTotal}: ${fixTotal === refullTotal ? 'equal' : 'DIFFERENT'}`,
);
if (fixTotal !== refullTotal) process.exitCode = 1;
console.log(`daily cost mart total: tokenmart $${tmTotal}, hand-written $${baseTotal}: ${tmTotal === baseTotal ? 'equal to the cent' : 'DIFFERENT'}`);
if (tmTotal !== baseTotal) process.exitCode = 1;
