import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { projectRoot } from '../pipelines/util/project-root.js';
import { addDays } from '../reports/period.js';
import { writeBenchEvents } from './bench-events.js';
import { priceFixModels } from './price-fix.js';

/**
 * check:citus: the whole pipeline (`tokenmart demo`: migrate, ingest, seed, build, test, weekly
 * report, digests, chargeback) on a Citus cluster and on single-node PostgreSQL, the same demo
 * logs into each; then a daily run with more events, an erasure (forget) and a retention drop on
 * each, a replaced file and a price fix; then every relation compared row for row. Usage, with DATABASE_URL pointing at a
 * database on a Citus coordinator that has its workers added (docs/scaling.md sets one up):
 *
 *     DATABASE_URL=postgres://user:pass@coordinator:5432/db npm run check:citus [-- --scale X]
 *
 * It creates two fresh databases and leaves the given one alone: tokenmart_citus_check on the
 * coordinator and on every worker (the citus extension in each, the workers added), and
 * tokenmart_single_check on the coordinator's server without the extension: plain PostgreSQL of
 * the same version. Exits 1 when a mart differs.
 */
const CITUS_DB = 'tokenmart_citus_check';
const NEXT_DAY_EVENTS = 5000;
const SINGLE_DB = 'tokenmart_single_check';
const scaleArg = process.argv.indexOf('--scale');
const scale = scaleArg > 0 ? process.argv[scaleArg + 1] : '0.5';
// Yesterday, as the demo's default: the freshness test and the as-of dates see the same day on both.
const endDate = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);

const url = process.env.DATABASE_URL;
if (!url) fail('DATABASE_URL is not set; point it at a database on a Citus coordinator with its workers added (docs/scaling.md)');

function fail(message: string): never {
    console.error(`check:citus: ${message}`);
    process.exit(2);
}

const withDb = (base: string, db: string, host?: string, port?: number) => {
    const u = new URL(base);
    u.pathname = `/${db}`;
    if (host) u.hostname = host;
    if (port) u.port = String(port);
    return u.toString();
};

async function onServer<T>(connectionString: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const c = new pg.Client({ connectionString });
    await c.connect();
    try {
        return await fn(c);
    } finally {
        await c.end();
    }
}

async function freshDatabase(serverUrl: string, name: string, citus: boolean): Promise<void> {
    await onServer(withDb(serverUrl, 'postgres'), async (c) => {
        await c.query(`drop database if exists ${name} with (force)`);
        await c.query(`create database ${name}`);
    });
    if (citus) await onServer(withDb(serverUrl, name), (c) => c.query('create extension citus'));
}

interface Node {
    readonly host: string;
    readonly port: number;
}

/** The coordinator and workers DATABASE_URL's Citus metadata lists. */
async function clusterNodes(): Promise<{ coordinator: Node; workers: Node[] }> {
    return onServer(url!, async (c) => {
        const ext = await c.query("select 1 from pg_extension where extname = 'citus'");
        if (!ext.rowCount) fail(`${new URL(url!).pathname.slice(1)} has no citus extension; point DATABASE_URL at a database on a Citus coordinator`);
        const nodes = await c.query<{ host: string; port: number; groupid: number }>(
            "select nodename as host, nodeport as port, groupid from pg_dist_node where noderole = 'primary' and isactive order by groupid",
        );
        const coordinator = nodes.rows.find((n) => n.groupid === 0);
        const workers = nodes.rows.filter((n) => n.groupid !== 0).map(({ host, port }) => ({ host, port }));
        if (!coordinator) fail("the coordinator is not in Citus' metadata; run select citus_set_coordinator_host('<host>', <port>) on it");
        if (!workers.length) fail('the cluster has no active workers; add them with select citus_add_node(<host>, <port>)');
        return { coordinator: { host: coordinator.host, port: coordinator.port }, workers };
    });
}

const homeOf = (name: string) => join(projectRoot, '.tokenmart', 'check-citus', name);

/**
 * A tokenmart command against one database, in its own process; seconds. Both sides use the same
 * TOKENMART_HOME path (emptied before the demo), so paths stored in marts (invoice files) match.
 */
function tokenmart(name: string, databaseUrl: string, args: readonly string[], env: Readonly<Record<string, string>> = {}): number {
    const home = homeOf('home');
    const t0 = process.hrtime.bigint();
    try {
        execFileSync(process.execPath, [join(projectRoot, 'dist', 'pipelines', 'cli', 'main.js'), ...args], {
            env: { ...process.env, DATABASE_URL: databaseUrl, TOKENMART_HOME: home, TOKENMART_OUTPUT_DIR: join(homeOf(name), 'out'), ...env },
            stdio: ['ignore', 'pipe', 'pipe'],
            encoding: 'utf8',
            maxBuffer: 256 * 1024 * 1024,
        });
    } catch (err) {
        const e = err as { stdout?: string; stderr?: string };
        console.error(`${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(-25).join('\n'));
        fail(`tokenmart ${args[0]} failed on ${name} (last lines above)`);
    }
    return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** The demo (63 days) on one database, from an empty TOKENMART_HOME. */
function runDemo(name: string, databaseUrl: string): number {
    rmSync(homeOf('home'), { recursive: true, force: true });
    mkdirSync(homeOf(name), { recursive: true });
    return tokenmart(name, databaseUrl, ['demo', '--end-date', endDate, '--days', '63', '--scale', scale]);
}

/** Every built mart's rows as sorted text, floating-point values to 9 significant digits (sums in another order differ in the last bits). */
async function martRows(databaseUrl: string): Promise<Map<string, string[]>> {
    return onServer(databaseUrl, async (c) => {
        const tables = await c.query<{ rel: string }>(
            "select format('%I.%I', table_schema, table_name) as rel from information_schema.tables where table_schema in ('staging', 'intermediate', 'marts') and table_name not like '%\\_\\_building' order by 1",
        );
        const out = new Map<string, string[]>();
        for (const { rel } of tables.rows) {
            const cols = await c.query<{ name: string; type: string }>(
                `select attname as name, format_type(atttypid, null) as type from pg_attribute where attrelid = $1::regclass and attnum > 0 and not attisdropped order by attnum`,
                [rel],
            );
            const exprs = cols.rows.map(({ name, type }) => {
                const q = `"${name.replaceAll('"', '""')}"`;
                return type === 'double precision' || type === 'real'
                    ? `case when ${q} is null then null else to_char(${q}, '9.99999999EEEE') end`
                    : `${q}::text`;
            });
            const rows = await c.query<{ r: string }>(
                `select concat_ws('|', ${exprs.map((e) => `coalesce(${e}, '∅')`).join(', ')}) as r from ${rel} order by 1`,
            );
            out.set(
                rel,
                rows.rows.map((r) => r.r),
            );
        }
        return out;
    });
}

const { coordinator, workers } = await clusterNodes();
console.log(
    `check:citus: coordinator ${coordinator.host}:${coordinator.port}, workers ${workers.map((w) => `${w.host}:${w.port}`).join(', ')}; demo scale ${scale}`,
);
const citusUrl = withDb(url!, CITUS_DB);
for (const w of workers) await freshDatabase(withDb(url!, 'postgres', w.host, w.port), CITUS_DB, true);
await freshDatabase(url!, CITUS_DB, true);
await onServer(citusUrl, async (c) => {
    await c.query('select citus_set_coordinator_host($1, $2)', [coordinator.host, coordinator.port]);
    for (const w of workers) await c.query('select citus_add_node($1, $2)', [w.host, w.port]);
});
const singleUrl = withDb(url!, SINGLE_DB);
await freshDatabase(url!, SINGLE_DB, false);

const singleSeconds = runDemo('single', singleUrl);
const citusSeconds = runDemo('citus', citusUrl);
// Then one more batch of events on the demo's last day: an incremental daily run on each.
const nextDay = homeOf('next-day');
const nextDayFirst = (Date.parse(`${endDate}T00:00:00Z`) - Date.parse('2026-10-01T00:00:00Z')) / 2500;
writeBenchEvents(nextDay, NEXT_DAY_EVENTS, 1, nextDayFirst);
const singleDay = tokenmart('single', singleUrl, ['run', '--daily', '--source', nextDay]);
const citusDay = tokenmart('citus', citusUrl, ['run', '--daily', '--source', nextDay]);
// Then what deletes raw rows (distributed deletes, first copies recomputed): the busiest user
// erased, and raw older than 30 days dropped by retention, each rebuilding what it touched.
const busiest = await onServer(singleUrl, async (c) => {
    const { rows } = await c.query<{ user_id: string }>(
        'select user_id from raw.events where user_id is not null group by user_id order by count(*) desc, user_id limit 1',
    );
    return rows[0].user_id;
});
const deletes = (name: string, u: string) =>
    tokenmart(name, u, ['forget', '--user', busiest]) + tokenmart(name, u, ['retention', '--raw-days', '30']) + tokenmart(name, u, ['build']);
const singleDeletes = deletes('single', singleUrl);
const citusDeletes = deletes('citus', citusUrl);
// Then the next day's file again, 1,000 events shorter (ingest --on-changed replace: its rows
// replaced, first copies recomputed, its days rebuilt), and a price fix: the demo's busiest model
// 10% dearer from 6 days before the last day (a copy of models/ with that row more), which
// rebuilds those days of the models that read prices.
writeBenchEvents(nextDay, NEXT_DAY_EVENTS - 1000, 1, nextDayFirst);
const fix = priceFixModels(homeOf('models'), addDays(endDate, -6));
const changes = (name: string, u: string) =>
    tokenmart(name, u, ['ingest', nextDay, '--on-changed', 'replace']) +
    tokenmart(name, u, ['build']) +
    tokenmart(name, u, ['build'], { TOKENMART_MODELS_DIR: fix.root });
const singleChanges = changes('single', singleUrl);
const citusChanges = changes('citus', citusUrl);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x the single node's time`;
console.log(
    `demo (migrate, ingest, seed, build, test, weekly report, digests, chargeback): single node ${singleSeconds.toFixed(1)} s, citus ${citusSeconds.toFixed(1)} s (${ratio(citusSeconds, singleSeconds)})`,
);
console.log(
    `then ${NEXT_DAY_EVENTS} events on ${endDate}, tokenmart run --daily (ingest, incremental build, tests, report): single node ${singleDay.toFixed(1)} s, citus ${citusDay.toFixed(1)} s (${ratio(citusDay, singleDay)})`,
);
console.log(
    `then forget --user (the busiest), retention --raw-days 30, build: single node ${singleDeletes.toFixed(1)} s, citus ${citusDeletes.toFixed(1)} s (${ratio(citusDeletes, singleDeletes)})`,
);
console.log(
    `then the next day's file replaced (1,000 events shorter), build, a price fix (${fix.model} from ${fix.from}), build: single node ${singleChanges.toFixed(1)} s, citus ${citusChanges.toFixed(1)} s (${ratio(citusChanges, singleChanges)})`,
);

const distributed = await onServer(citusUrl, (c) =>
    c.query<{ rel: string; how: string }>(
        "select logicalrelid::regclass::text as rel, case when partmethod = 'h' then 'distributed' when repmodel = 't' then 'reference' else 'coordinator' end as how from pg_dist_partition where logicalrelid::regclass::text not like 'raw.events\\_%' order by 1",
    ),
);
console.log(`citus tables: ${distributed.rows.map((r) => `${r.rel} (${r.how})`).join(', ')}`);

const [single, citus] = [await martRows(singleUrl), await martRows(citusUrl)];
let differ = 0;
let rows = 0;
for (const [rel, want] of single) {
    const got = citus.get(rel);
    const same = got !== undefined && got.length === want.length && got.every((r, i) => r === want[i]);
    rows += want.length;
    if (!same) {
        differ++;
        const missing = want.filter((r) => !got?.includes(r)).slice(0, 2);
        console.log(`DIFFERENT ${rel}: ${want.length} rows single, ${got?.length ?? 'no table'} on citus; e.g. single-only ${JSON.stringify(missing)}`);
    }
}
for (const rel of citus.keys()) if (!single.has(rel)) console.log(`DIFFERENT ${rel}: only on citus`);
const total = async (u: string) =>
    onServer(u, async (c) => (await c.query<{ t: string }>('select round(sum(cost_usd), 2)::text as t from marts.mart_daily_cost')).rows[0].t);
const [singleTotal, citusTotal] = [await total(singleUrl), await total(citusUrl)];
console.log(
    `compared ${single.size} relations, ${rows} rows: ${differ ? `${differ} DIFFER` : 'all equal'}; daily cost total single $${singleTotal}, citus $${citusTotal}${singleTotal === citusTotal ? ' (equal to the cent)' : ' DIFFERENT'}`,
);
if (differ || singleTotal !== citusTotal) process.exitCode = 1;
