import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { projectRoot } from '../pipelines/util/project-root.js';
import { existingBenchDatabase, fmt, freshBenchDatabase } from './bench-database.js';
import { measureIngest, writeBenchEvents } from './bench-events.js';
import { priceFixModels } from './price-fix.js';
import { addDays } from '../reports/period.js';

/**
 * bench:scale: the measured big run. Usage: npm run bench:scale [-- N] (default 10,000,000).
 * N generated events (100,000 per gzip file, one every 2.5 s: 10M span 289 days) are ingested,
 * seeded, built in full and tested; then one more day (34,560 events) is ingested, built
 * incrementally and tested; then a price fix of the last 7 days is seeded, built and tested. Each step runs in its own process, so the peak RSS printed is that
 * step's. Ends with the database's size per million events.
 * npm run bench:scale -- --next-day: only one more day, on the database the last run left (the
 * day after its last event), to measure a new day again without the full run.
 */
const nextDayOnly = process.argv.includes('--next-day');
const n = Number(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 10_000_000);
const dayEvents = 34_560;
const perFile = 100_000;
const benchDir = join(projectRoot, '.tokenmart', 'bench');
const logs = join(benchDir, 'scale-logs');
const nextDay = join(benchDir, 'scale-next-day');
const here = fileURLToPath(new URL('.', import.meta.url));

function buildChild(url: string, mode: 'full' | 'incremental', env: Readonly<Record<string, string>> = {}) {
    const out = execFileSync(process.execPath, [join(here, 'build-child.js'), url, mode], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, ...env },
    });
    return JSON.parse(out.trim().split('\n').pop()!) as { seconds: number; maxRssMb: number; ok: boolean; failedTests: string[]; slowest: string[] };
}

const t0 = Date.now();
if (nextDayOnly) {
    const url = await existingBenchDatabase('tokenmart_bench_scale');
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    // Event i is at 2026-10-01 + i x 2.5 s (bench-events.ts): go on after the last one loaded.
    const { rows } = await db.query<{ next: string }>(
        "select (floor(extract(epoch from max(event_at) - timestamptz '2026-10-01 00:00:00+00') / 2.5) + 1)::bigint::text as next from raw.events",
    );
    await db.end();
    const first = Number(rows[0].next);
    const dir = join(benchDir, `scale-day-${first}`);
    writeBenchEvents(dir, dayEvents, 1, first);
    const dayIngest = measureIngest('tokenmart', url, dir);
    const day = buildChild(url, 'incremental');
    console.log(
        `one new day     ${fmt(dayEvents)} events from event ${fmt(first)}: ingest ${dayIngest.seconds.toFixed(1)} s + incremental build and tests ${day.seconds.toFixed(1)} s = ${(dayIngest.seconds + day.seconds).toFixed(1)} s, peak RSS ${fmt(Math.max(dayIngest.maxRssMb, day.maxRssMb))} MB${day.ok ? '' : ' BUILD FAILED'}${day.failedTests.length ? ` FAILED TESTS ${day.failedTests.join(', ')}` : ''}`,
    );
    for (const s of day.slowest) console.log(`    ${s}`);
    process.exit(0);
}
console.log(`bench:scale: generating ${fmt(n)} events in ${fmt(Math.ceil(n / perFile))} files (+${fmt(dayEvents)} for the next day) ...`);
for (let first = 0; first < n; first += perFile * 10) {
    // Ten files at a time, each in its own folder pass: one file's lines are in memory at once.
    const count = Math.min(perFile * 10, n - first);
    writeBenchEvents(join(logs, `part-${String(first / (perFile * 10)).padStart(4, '0')}`), count, Math.ceil(count / perFile), first);
}
writeBenchEvents(nextDay, dayEvents, 1, n);
console.log(`bench:scale: generated in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

const url = await freshBenchDatabase('tokenmart_bench_scale');
const ingest = measureIngest('tokenmart', url, logs);
console.log(
    `ingest          ${fmt(ingest.rows)} events in ${ingest.seconds.toFixed(1)} s (${fmt(ingest.rows / ingest.seconds)} events/s), peak RSS ${fmt(ingest.maxRssMb)} MB`,
);
const full = buildChild(url, 'full');
console.log(
    `seed+full build and tests ${full.seconds.toFixed(1)} s, peak RSS ${fmt(full.maxRssMb)} MB${full.ok ? '' : ' BUILD FAILED'}${full.failedTests.length ? ` FAILED TESTS ${full.failedTests.join(', ')}` : ''}`,
);
for (const s of full.slowest) console.log(`    ${s}`);
const dayIngest = measureIngest('tokenmart', url, nextDay);
const day = buildChild(url, 'incremental');
console.log(
    `one new day     ${fmt(dayEvents)} events: ingest ${dayIngest.seconds.toFixed(1)} s + incremental build and tests ${day.seconds.toFixed(1)} s = ${(dayIngest.seconds + day.seconds).toFixed(1)} s, peak RSS ${fmt(Math.max(dayIngest.maxRssMb, day.maxRssMb))} MB${day.ok ? '' : ' BUILD FAILED'}`,
);
for (const s of day.slowest) console.log(`    ${s}`);

const db = new pg.Client({ connectionString: url });
await db.connect();
// A price fix of the last 7 days (a copy of models/ with one price row more): only those days of
// the models that read prices are rebuilt, where a full rebuild re-priced all of history before.
const lastDay = (await db.query<{ d: string }>('select max(usage_date)::text as d from marts.fct_requests')).rows[0].d;
const fix = priceFixModels(join(benchDir, 'scale-price-fix'), addDays(lastDay, -6));
const fixed = buildChild(url, 'incremental', { TOKENMART_MODELS_DIR: fix.root });
console.log(
    `price fix       ${fix.model} +10% from ${fix.from}: seed + build and tests ${fixed.seconds.toFixed(1)} s (the full build and tests: ${full.seconds.toFixed(1)} s), peak RSS ${fmt(fixed.maxRssMb)} MB${fixed.ok ? '' : ' BUILD FAILED'}${fixed.failedTests.length ? ` FAILED TESTS ${fixed.failedTests.join(', ')}` : ''}`,
);
for (const s of fixed.slowest) console.log(`    ${s}`);
const size = (
    await db.query<{ total: string; raw: string; marts: string }>(
        `select pg_database_size(current_database())::text as total,
            (select coalesce(sum(pg_total_relation_size(c.oid)), 0) from pg_class as c inner join pg_namespace as s on s.oid = c.relnamespace where s.nspname = 'raw' and c.relkind = 'r')::text as raw,
            (select coalesce(sum(pg_total_relation_size(c.oid)), 0) from pg_class as c inner join pg_namespace as s on s.oid = c.relnamespace where s.nspname in ('staging', 'intermediate', 'marts') and c.relkind = 'r')::text as marts`,
    )
).rows[0];
await db.end();
const perM = (bytes: string) => `${fmt(Number(bytes) / 2 ** 20 / ((n + dayEvents) / 1e6))} MB`;
console.log(
    `database size   ${fmt(Number(size.total) / 2 ** 30, 2)} GB: ${perM(size.total)} per million events (raw ${perM(size.raw)}, staging and marts ${perM(size.marts)})`,
);
console.log(`bench:scale: ${((Date.now() - t0) / 60000).toFixed(1)} min in all`);
