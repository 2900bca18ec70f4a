import { createHash, randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { defaultBuildThreads, rebuiltWindow, type SideJobs } from './build.js';
import { readRelations } from './dependencies.js';
import { addDays } from '../../reports/period.js';
import { type DayRange, quoteIdent, setWindow } from './materialize.js';
import type { DataTestSpec, Project, Severity, SourceDef } from './project.js';

export type TestStatus = 'pass' | 'warn' | 'fail' | 'error';

export interface TestResult {
    readonly name: string;
    readonly model: string;
    readonly severity: Severity;
    readonly status: TestStatus;
    readonly failures: number;
    readonly sample: readonly Record<string, unknown>[];
    readonly message?: string;
    readonly ms: number;
    /** The days the test read, when it was scoped to the days an incremental build rebuilt. */
    readonly scope?: DayRange;
}

/** A test narrowed to the rows of the days its model's incremental build rebuilt. */
export interface TestScope {
    readonly column: string;
    readonly range: DayRange;
    /** Columns of the model that lead a btree index: a rebuilt key is then looked up, not scanned for. */
    readonly indexed?: ReadonlySet<string>;
}

export interface TestRun {
    readonly runId: string;
    readonly results: readonly TestResult[];
    /** True when no error-severity test failed or errored: reports may go out. */
    readonly ok: boolean;
}

const lit = (v: string) => `'${v.replaceAll("'", "''")}'`;

/**
 * The query returning a test's failing rows; with a scope, only the rows of the rebuilt days (a
 * unique key without the day column is still checked against every row of the model).
 */
export function failingRowsSql(t: DataTestSpec, scope?: TestScope): string {
    const inScope = scope
        ? `${quoteIdent(scope.column)} >= ${lit(scope.range.start)}::date and ${quoteIdent(scope.column)} < ${lit(scope.range.end)}::date`
        : undefined;
    const filters = [t.where, inScope].filter((f): f is string => f !== undefined);
    const from = filters.length ? `(select * from ${t.model} where ${filters.map((f) => `(${f})`).join(' and ')}) as m` : `${t.model} as m`;
    const cols = t.columns.map((c) => `m.${quoteIdent(c)}`);
    switch (t.kind) {
        case 'not_null':
            return `select * from ${from} where ${cols.map((c) => `${c} is null`).join(' or ')}`;
        case 'unique': {
            if (!scope || t.columns.includes(scope.column))
                return `select ${cols.join(', ')}, count(*) as duplicate_count from ${from} group by ${cols.join(', ')} having count(*) > 1`;
            // A rebuilt row may repeat a key of a day outside the window: count each rebuilt key everywhere.
            if (t.columns.length === 1 && scope.indexed?.has(t.columns[0])) {
                // Through the key's index, one lookup per rebuilt key: the scan below reads every
                // row of the model, which grows with history (6.7 s at 10M requests).
                const key = quoteIdent(t.columns[0]);
                const also = t.where ? ` and (${t.where})` : '';
                return `select keys.${key}, counted.duplicate_count from (select distinct ${cols[0]} from ${from} where ${cols[0]} is not null) as keys cross join lateral (select count(*) as duplicate_count from ${t.model} where ${key} = keys.${key}${also}) as counted where counted.duplicate_count > 1`;
            }
            const all = t.where ? `(select * from ${t.model} where ${t.where}) as m` : `${t.model} as m`;
            return `select ${cols.join(', ')}, count(*) as duplicate_count from ${all} where (${cols.join(', ')}) in (select ${cols.join(', ')} from ${from}) group by ${cols.join(', ')} having count(*) > 1`;
        }
        case 'accepted_values':
            return `select ${cols[0]} as value, count(*) as row_count from ${from} where ${cols[0]} is not null and ${cols[0]}::text not in (${t.values!.map(lit).join(', ')}) group by 1`;
        case 'relationships':
            return `select ${cols[0]} as value, count(*) as row_count from ${from} left join ${t.to} as parent on parent.${quoteIdent(t.field!)} = ${cols[0]} where ${cols[0]} is not null and parent.${quoteIdent(t.field!)} is null group by 1`;
        case 'expression':
            return t.sql!.replace(/;\s*$/, '');
    }
}

/**
 * The unique index (NULLS NOT DISTINCT, whole table) that keeps a `unique` test's columns unique:
 * Postgres refused every repeated key as it was written, so counting them again finds none.
 */
async function enforcingIndex(client: PoolClient, t: DataTestSpec): Promise<string | undefined> {
    if (t.kind !== 'unique' || t.where !== undefined) return undefined;
    const { rows } = await client.query<{ name: string }>(
        `select c.relname as name
         from pg_index as i
         inner join pg_class as c on c.oid = i.indexrelid
         where i.indrelid = to_regclass($1) and i.indisunique and i.indisvalid and i.indnullsnotdistinct
             and i.indpred is null and i.indexprs is null
             and (select array_agg(a.attname::text order by a.attname::text) from pg_attribute as a where a.attrelid = i.indrelid and a.attnum = any(i.indkey))
                 = (select array_agg(x order by x) from unnest($2::text[]) as x)
         limit 1`,
        [t.model, t.columns],
    );
    return rows[0]?.name;
}

async function runOne(pool: Pool, t: DataTestSpec, scope?: TestScope): Promise<TestResult> {
    const started = Date.now();
    const sql = failingRowsSql(t, scope);
    const client = await pool.connect();
    try {
        const index = await enforcingIndex(client, t);
        if (index) {
            const message = `enforced by the unique index ${index}: the build refuses a repeated key`;
            return { name: t.name, model: t.model, severity: t.severity, status: 'pass', failures: 0, sample: [], message, ms: Date.now() - started };
        }
        await client.query('begin read only');
        // Expression tests narrow themselves through tokenmart.window_start_date()/window_end_date().
        if (scope) await setWindow(client, scope.range);
        const count = Number((await client.query<{ n: string }>(`select count(*)::text as n from (${sql}) as failing`)).rows[0].n);
        const sample = count ? (await client.query(`select * from (${sql}) as failing limit 5`)).rows : [];
        await client.query('commit');
        const status: TestStatus = count === 0 ? 'pass' : t.severity === 'warn' ? 'warn' : 'fail';
        return { name: t.name, model: t.model, severity: t.severity, status, failures: count, sample, ms: Date.now() - started, scope: scope?.range };
    } catch (err) {
        await client.query('rollback').catch(() => undefined);
        return {
            name: t.name,
            model: t.model,
            severity: t.severity,
            status: 'error',
            failures: 0,
            sample: [],
            message: `test ${t.name} on ${t.model}: ${(err as Error).message}`,
            ms: Date.now() - started,
        };
    } finally {
        client.release();
    }
}

async function freshness(pool: Pool, source: SourceDef, now: Date): Promise<TestResult> {
    const started = Date.now();
    const f = source.freshness!;
    const name = `freshness__${source.id.replace('.', '_')}`;
    const column = quoteIdent(f.column);
    // Fresh data is found among the rows of the error window alone (on a partitioned raw, its
    // last partitions: 2.5 s -> milliseconds at 10M events); only stale data needs every row.
    const since = new Date(now.getTime() - f.errorAfterHours * 3_600_000);
    const latest =
        (await pool.query<{ latest: Date | null }>(`select max(${column}) as latest from ${source.id} where ${column} >= $1`, [since])).rows[0].latest ??
        (await pool.query<{ latest: Date | null }>(`select max(${column}) as latest from ${source.id}`)).rows[0].latest;
    if (!latest)
        return {
            name,
            model: source.id,
            severity: 'error',
            status: 'fail',
            failures: 1,
            sample: [],
            message: `${source.id} has no rows`,
            ms: Date.now() - started,
        };
    const hours = (now.getTime() - latest.getTime()) / 3_600_000;
    const status: TestStatus = hours > f.errorAfterHours ? 'fail' : hours > f.warnAfterHours ? 'warn' : 'pass';
    const message = `latest ${f.column} is ${latest.toISOString()} (${hours.toFixed(1)} h old; warn after ${f.warnAfterHours} h, error after ${f.errorAfterHours} h)`;
    return {
        name,
        model: source.id,
        severity: status === 'warn' ? 'warn' : 'error',
        status,
        failures: status === 'pass' ? 0 : 1,
        sample: [],
        message,
        ms: Date.now() - started,
    };
}

export interface TestOptions {
    readonly models?: ReadonlySet<string>;
    readonly runId?: string;
    readonly now?: Date;
    readonly log?: (line: string) => void;
    /** Tests run at once, each on its own connection (default: as many as the build's threads). */
    readonly threads?: number;
    /**
     * Per model, the days an incremental build just rebuilt (rebuiltWindow): that model's tests read
     * only those rows, the rest being unchanged since they were last tested. Without it, every row.
     */
    readonly windows?: ReadonlyMap<string, DayRange>;
}

/**
 * The data tests of a build, run as the build goes (buildModels' sideJobs): a test starts once its
 * model and every model it reads have finished, on a connection no ready model needs, so the
 * tests of the early models run while the last chain builds instead of after it.
 */
export interface TestsAlongside {
    readonly jobs: SideJobs;
    /** Runs the tests not run yet, waits for all of them and records them: the build's test run. */
    finish(): Promise<TestRun>;
    /** After a failed build: waits for the tests running, starts no more, records none. */
    abandon(): Promise<void>;
}

interface Check {
    readonly index: number;
    /** The built models it reads: it waits for them. */
    readonly reads: ReadonlySet<string>;
    readonly lastMs: number;
    readonly run: () => Promise<TestResult>;
}

/**
 * The relations a test reads: its model, a relationship's parent, and the relations of an
 * expression's SQL; undefined when that SQL does not parse here.
 */
async function testReads(t: DataTestSpec): Promise<Set<string> | undefined> {
    const reads = new Set([t.model, ...(t.to ? [t.to] : [])]);
    if (t.kind === 'expression') {
        try {
            for (const r of await readRelations(t.sql!, t.name)) reads.add(r.id);
        } catch {
            return undefined;
        }
    }
    return reads;
}

/** What a test is (kind, model, columns, SQL, severity...): a result is carried over only for the same. */
const specHash = (t: DataTestSpec): string =>
    createHash('sha256')
        .update(JSON.stringify({ ...t, description: undefined }))
        .digest('hex')
        .slice(0, 16);

/** A test's last recorded result. */
interface LastResult {
    readonly status: TestStatus;
    readonly failures: string;
    readonly sample: Record<string, unknown>[] | null;
    readonly spec_hash: string | null;
    readonly message: string | null;
    readonly tested_at: Date;
    readonly ms: number;
}

/**
 * Starts the data tests (and source freshness) of `options.models` alongside a build of the models
 * in `building` (none: every test is ready now). Models rebuilt incrementally narrow their tests to
 * the days rebuilt, as `options.windows` does.
 */
export async function dataTestsAlongside(pool: Pool, project: Project, building: ReadonlySet<string>, options: TestOptions = {}): Promise<TestsAlongside> {
    const runId = options.runId ?? randomUUID();
    const log = options.log ?? (() => undefined);
    const now = options.now ?? new Date();
    const windows = new Map(options.windows ?? []);
    const sources = project.sources.filter((s) => s.freshness && (!options.models || options.models.has(s.id)));
    const selected = project.tests.filter((t) => !options.models || options.models.has(t.model));
    const last = await pool.query<LastResult & { test_name: string }>(
        `select distinct on (test_name) test_name, status, failures::text as failures, sample, spec_hash, message, tested_at, duration_ms as ms
         from ops.test_results order by test_name, tested_at desc`,
    );
    const lastResults = new Map(last.rows.map((r) => [r.test_name, r]));
    // Models this build found up to date: nothing of theirs changed since they were last tested.
    const unchanged = new Set<string>();
    /**
     * The last result of a test whose every input is unchanged: its model and every model it reads
     * were up to date in this build (raw, which only loads change, also marks them dirty), and it
     * passed or warned, as the same test. Anything else (a seed, an ops table, a new definition, a
     * failure) and it runs.
     */
    const carried = (t: DataTestSpec, reads: ReadonlySet<string> | undefined): TestResult | undefined => {
        const prior = lastResults.get(t.name);
        if (!reads || !unchanged.has(t.model) || !prior || prior.spec_hash !== specHash(t) || (prior.status !== 'pass' && prior.status !== 'warn'))
            return undefined;
        if (![...reads].every((id) => unchanged.has(id) || id.startsWith('raw.'))) return undefined;
        // A result carried before keeps the time it was last run.
        const at = /unchanged since (\S+):/.exec(prior.message ?? '')?.[1] ?? prior.tested_at.toISOString();
        const since = `unchanged since ${at}: what it reads was up to date`;
        const failures = Number(prior.failures);
        const message = prior.status === 'pass' ? since : `${failures} failing row(s) then; ${since}`;
        return { name: t.name, model: t.model, severity: t.severity, status: prior.status, failures, sample: prior.sample ?? [], message, ms: 0 };
    };
    const dayColumns = new Map(project.models.map((m) => [m.id, m.dayColumn]));
    const indexed = new Map<string, Set<string>>();
    if (windows.size || building.size) {
        const { rows } = await pool.query<{ rel: string; col: string }>(
            `select n.nspname || '.' || c.relname as rel, a.attname as col
             from pg_index as i
             inner join pg_class as c on c.oid = i.indrelid
             inner join pg_namespace as n on n.oid = c.relnamespace
             inner join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
             where n.nspname = any($1::text[]) and i.indpred is null`,
            [[...new Set(project.models.map((m) => m.schema))]],
        );
        for (const r of rows) indexed.set(r.rel, (indexed.get(r.rel) ?? new Set()).add(r.col));
    }
    const scopeOf = (t: DataTestSpec): TestScope | undefined => {
        const range = windows.get(t.model);
        const column = dayColumns.get(t.model);
        return range && column ? { column, range, indexed: indexed.get(t.model) } : undefined;
    };
    const checks: Check[] = [
        ...sources.map((s, index) => ({ index, reads: new Set<string>(), lastMs: Number.POSITIVE_INFINITY, run: () => freshness(pool, s, now) })),
        ...(await Promise.all(
            selected.map(async (t, i) => {
                const reads = await testReads(t);
                return {
                    index: sources.length + i,
                    // Unparseable here: it waits for the whole build (and fails on its own when run).
                    reads: new Set([...(reads ?? building)].filter((id) => building.has(id))),
                    lastMs: lastResults.get(t.name)?.ms ?? 0,
                    run: async () => carried(t, reads) ?? runOne(pool, t, scopeOf(t)),
                };
            }),
        )),
    ];
    const results: TestResult[] = new Array(checks.length);
    const done = new Set<string>();
    let pending = checks;
    const running = new Set<Promise<void>>();
    let stopped = false;
    let failure: unknown; // not a test's failure (those are results) but the database's: finish() throws it
    // The ready check that ran longest last time first, so one long test does not start last.
    const next = (): (() => Promise<void>) | undefined => {
        if (stopped) return undefined;
        const ready = pending.filter((c) => [...c.reads].every((id) => done.has(id)));
        if (!ready.length) return undefined;
        const check = ready.reduce((a, b) => (b.lastMs > a.lastMs ? b : a));
        pending = pending.filter((c) => c !== check);
        return () => {
            const p = check.run().then(
                (r) => {
                    results[check.index] = r;
                },
                (err: unknown) => {
                    failure ??= err;
                },
            );
            running.add(p);
            return p.finally(() => running.delete(p));
        };
    };
    const jobs: SideJobs = {
        modelDone: (r) => {
            done.add(r.id);
            if (r.status === 'up_to_date') unchanged.add(r.id);
            const rebuilt = rebuiltWindow(r);
            if (rebuilt) windows.set(r.id, rebuilt);
        },
        next,
    };
    return {
        jobs,
        abandon: async () => {
            stopped = true;
            await Promise.allSettled([...running]);
        },
        finish: async () => {
            for (const id of building) done.add(id);
            const worker = async () => {
                for (let job = next(); job; job = next()) await job();
            };
            await Promise.all([...running, ...Array.from({ length: Math.max(1, Math.min(options.threads ?? defaultBuildThreads(), pending.length)) }, worker)]);
            if (failure) throw failure;
            const specs = new Map(selected.map((t) => [t.name, specHash(t)]));
            for (const r of results) {
                await pool.query(
                    `insert into ops.test_results (run_id, test_name, model, severity, status, failures, sample, message, duration_ms, spec_hash) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                     on conflict (run_id, test_name) do update set status = excluded.status, failures = excluded.failures, sample = excluded.sample, message = excluded.message, spec_hash = excluded.spec_hash`,
                    [runId, r.name, r.model, r.severity, r.status, r.failures, JSON.stringify(r.sample), r.message ?? null, r.ms, specs.get(r.name) ?? null],
                );
                // Passing tests stay quiet (the summary counts them); freshness always says how old the data is.
                if (r.status !== 'pass' || r.name.startsWith('freshness__')) for (const line of formatTestResult(r)) log(line);
            }
            return { runId, results, ok: results.every((r) => r.status === 'pass' || r.status === 'warn') };
        },
    };
}

/**
 * Runs the data tests (and source freshness) and records every result. Tests run in parallel,
 * the slowest of the last run first (so one long test does not start last); results keep the
 * project's order.
 */
export async function runDataTests(pool: Pool, project: Project, options: TestOptions = {}): Promise<TestRun> {
    return (await dataTestsAlongside(pool, project, new Set(), options)).finish();
}

export function formatTestResult(r: TestResult): string[] {
    if (r.status === 'pass') return [`test: PASS  ${r.name}${r.message ? ` (${r.message})` : ''}`];
    const where = r.scope ? ` (rows of ${r.scope.start} to ${addDays(r.scope.end, -1)}, the days rebuilt)` : '';
    const head = `test: ${r.status.toUpperCase().padEnd(5)} ${r.name} on ${r.model}${where}: ${r.message ?? `${r.failures} failing row(s)`}`;
    return [head, ...r.sample.slice(0, 3).map((row) => `        e.g. ${JSON.stringify(row)}`)];
}
