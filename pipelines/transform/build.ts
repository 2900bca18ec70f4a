import { createHash, randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import type { Pool, PoolClient } from 'pg';
import { addDays } from '../../reports/period.js';
import { projectRoot } from '../util/project-root.js';
import { ancestorsOf, selectModels, type Dag } from './dag.js';
import { hasCitus } from '../db/citus.js';
import {
    chunkedSteps,
    type DayRange,
    dayChunks,
    dayRanges,
    incrementalSteps,
    loadedDays,
    periodStart,
    tableSteps,
    type TableOptions,
    viewSteps,
    type Wrapped,
} from './materialize.js';
import type { ModelDef, Project } from './project.js';
import { seedInputsKey } from './seeds.js';

export type ModelStatus = 'success' | 'error' | 'skipped' | 'up_to_date';

export interface ModelRunResult {
    readonly id: string;
    readonly materialized: string;
    readonly status: ModelStatus;
    readonly mode?: 'view' | 'full' | 'incremental';
    readonly rows?: number;
    readonly ms: number;
    readonly error?: string;
    readonly days?: string;
    /** What an incremental build rebuilt (on the model's day column). */
    readonly ranges?: readonly DayRange[];
}

export interface BuildResult {
    readonly runId: string;
    readonly results: readonly ModelRunResult[];
    readonly ok: boolean;
}

/**
 * The span of days a model built incrementally rebuilt: its tests need read only those rows.
 * Undefined for a model rebuilt in full, left up to date, or not built.
 */
export function rebuiltWindow(r: ModelRunResult): DayRange | undefined {
    if (r.status !== 'success' || r.mode !== 'incremental' || !r.ranges?.length) return undefined;
    return { start: r.ranges[0].start, end: r.ranges[r.ranges.length - 1].end };
}

const SIDE_JOB = '(side job) ';

/** Jobs that run in the build's idle slots (dataTestsAlongside). */
export interface SideJobs {
    /** A model has finished (built, failed, skipped or up to date): jobs waiting for it may be ready. */
    modelDone(result: ModelRunResult): void;
    /** The next ready job, or undefined when none is. */
    next(): (() => Promise<void>) | undefined;
}

export interface BuildOptions {
    readonly select?: readonly string[];
    readonly fullRefresh?: boolean;
    readonly runId?: string;
    readonly log?: (line: string) => void;
    /** Models built at once, each on its own connection (default: defaultBuildThreads()). */
    readonly threads?: number;
    /** work_mem of the build sessions (default 256MB). */
    readonly workMem?: string;
    /** Create tables unlogged (default: when the server's wal_level is minimal, so no replica reads them). */
    readonly unlogged?: boolean;
    /**
     * A model statement running longer is cancelled and the model fails (config
     * build.statementTimeoutMinutes; default: no limit).
     */
    readonly statementTimeoutMinutes?: number;
    /** Work that takes a build connection no ready model needs: the data tests, as their models finish. */
    readonly sideJobs?: SideJobs;
}

/** The indexes as the hash has always read them (plain ones as lists): adding partial or unique ones rebuilds only their model's chain. */
const indexesKey = (m: ModelDef) => JSON.stringify(m.indexes.map((i) => (i.where === undefined && !i.unique ? i.columns : i)));

/** What a model's rows depend on besides raw data: its SQL and config and those of everything upstream. */
function inputsHash(project: Project, dag: Dag, model: ModelDef): string {
    const h = createHash('sha256');
    const byId = new Map(project.models.map((m) => [m.id, m]));
    const seeds = new Map(project.seeds.map((s) => [s.id, s]));
    for (const id of [model.id, ...[...ancestorsOf(dag, model.id)].sort()]) {
        const m = byId.get(id);
        // distributedBy: on Citus, a model newly distributed is rebuilt, which moves its rows to the workers.
        if (m)
            h.update(
                `${id}\n${m.sql}\n${m.materialized}:${m.dayColumn}:${m.grain}:${m.lookbackDays}:${m.lookaheadDays}:${m.distributedBy ?? ''}:${indexesKey(m)}\n`,
            );
        const s = seeds.get(id);
        if (s) h.update(`${id}:${seedInputsKey(s)}\n`);
    }
    return h.digest('hex');
}

/** One line for a failed model: file, line (from Postgres' error position) and the message. */
function describeFailure(model: ModelDef, statement: Wrapped | undefined, err: unknown, timeoutMinutes: number | undefined): string {
    const e = err as Error & { position?: string; hint?: string; code?: string; detail?: string };
    let where = relative(projectRoot, model.path);
    // unique_violation from a unique index (indexes: unique): the key, and where to look.
    if (e.code === '23505')
        return `model ${model.id} (${where}): ${e.message}${e.detail ? ` (${e.detail.replace(/\.$/, '')})` : ''}; the model keeps its last built rows: find the repeated key in its SQL (group by the index's columns having count(*) > 1) and fix what repeats it`;
    // query_canceled by statement_timeout: say which limit, and the two ways out.
    if (e.code === '57014' && timeoutMinutes !== undefined && /statement timeout/.test(e.message))
        return `model ${model.id} (${where}): a statement ran longer than build.statementTimeoutMinutes (${timeoutMinutes} min) and was cancelled; the model keeps its last built rows: find the slow step with EXPLAIN, or raise build.statementTimeoutMinutes in tokenmart.config.json`;
    if (statement && e.position) {
        const pos = Number(e.position) - 1 - statement.offset;
        if (pos >= 0) where += `:${model.sql.slice(0, pos).split('\n').length}`;
    }
    return `model ${model.id} (${where}): ${e.message}${e.hint ? ` (hint: ${e.hint})` : ''}`;
}

async function inTransaction<T>(client: PoolClient, fn: () => Promise<T>): Promise<T> {
    await client.query('begin');
    try {
        const out = await fn();
        await client.query('commit');
        return out;
    } catch (err) {
        await client.query('rollback').catch(() => undefined);
        throw err;
    }
}

/** Independent models build at once, one connection each: by default as many as the CPUs, at most 4. */
export const defaultBuildThreads = (): number => Math.max(1, Math.min(4, availableParallelism()));

/**
 * Per-connection settings for build sessions. Sorts and hashes of a full build fit in memory
 * instead of spilling (at most threads x work_mem x the plan's sort nodes); a lost commit after a
 * crash only means the model rebuilds next time (its state row commits with it); a runaway
 * statement is cancelled after statement_timeout (0 = none) instead of running until someone notices.
 */
const SESSION_SETTINGS = (workMem: string, timeoutMinutes: number | undefined) => [
    `set work_mem = '${workMem.replace(/'/g, '')}'`,
    'set synchronous_commit = off',
    `set statement_timeout = ${timeoutMinutes === undefined ? 0 : Math.round(timeoutMinutes * 60_000)}`,
];
/** Undoes SESSION_SETTINGS before a connection goes back to the pool. */
const RESET_SETTINGS = 'reset work_mem; reset synchronous_commit; reset statement_timeout';

/**
 * Critical path from each model through what reads it, in its last build's milliseconds: the ready
 * model with the longest path starts first, so the slowest chain is never left for last.
 */
function criticalPaths(selected: readonly ModelDef[], dag: Dag, lastMs: ReadonlyMap<string, number>): Map<string, number> {
    const ids = new Set(selected.map((m) => m.id));
    const out = new Map<string, number>();
    for (const m of [...selected].reverse()) {
        const below = (dag.downstream.get(m.id) ?? []).filter((d) => ids.has(d)).map((d) => out.get(d) ?? 0);
        out.set(m.id, (lastMs.get(m.id) ?? 1) + Math.max(0, ...below));
    }
    return out;
}

/**
 * The last change (ops.dirty_days.change_id) this build covers. A load takes its change ids when
 * it marks its days, and commits later: a lower id can commit after a higher one. Waiting for the
 * loads in flight (their row locks on ops.dirty_days) means none at or below the snapshot can still
 * appear, so the next build's `change_id > snapshot` misses nothing.
 */
async function dirtySnapshot(client: PoolClient, log: (line: string) => void): Promise<number> {
    await client.query('begin');
    try {
        await client.query('savepoint try_lock');
        try {
            await client.query('lock table ops.dirty_days in share mode nowait');
        } catch (err) {
            if ((err as { code?: string }).code !== '55P03') throw err; // lock_not_available
            await client.query('rollback to savepoint try_lock');
            log('build: waiting for the loads in flight to commit or roll back (they hold ops.dirty_days)');
            await client.query('lock table ops.dirty_days in share mode');
        }
        const n = Number((await client.query<{ n: string }>('select coalesce(max(change_id), 0)::text as n from ops.dirty_days')).rows[0].n);
        await client.query('commit');
        return n;
    } catch (err) {
        await client.query('rollback').catch(() => undefined);
        throw err;
    }
}

/**
 * Builds the selected models in dependency order, independent ones at once on separate
 * connections (options.threads). Each model is one transaction: a failure keeps the previous
 * version of its relation and skips everything downstream of it.
 */
export async function buildModels(pool: Pool, project: Project, dag: Dag, options: BuildOptions = {}): Promise<BuildResult> {
    const runId = options.runId ?? randomUUID();
    const log = options.log ?? (() => undefined);
    const selected = selectModels(dag, options.select ?? []);
    const threads = Math.max(1, options.threads ?? defaultBuildThreads());
    const settings = SESSION_SETTINGS(options.workMem ?? '256MB', options.statementTimeoutMinutes);
    const failed = new Set<string>();
    const finished = new Set<string>();
    const results = new Map<string, ModelRunResult>();
    let snapshot: number;
    let priority: Map<string, number>;
    let unlogged: boolean;
    let citus: boolean;
    const fullRefresh = options.fullRefresh ?? false;
    {
        const client = await pool.connect();
        try {
            // Unlogged only while raw can rebuild every mart row: under retention, the marts hold
            // the only copy of the days before the horizon (retention makes them logged first).
            const server = (
                await client.query<{ minimal: boolean; horizon: boolean }>(
                    "select current_setting('wal_level') = 'minimal' as minimal, exists (select 1 from ops.retention where raw_horizon is not null) as horizon",
                )
            ).rows[0];
            unlogged = options.unlogged ?? (server.minimal && !server.horizon);
            citus = await hasCitus(client);
            if ((await client.query('select 1 from ops.build_marker limit 1')).rowCount === 0) {
                // Crash recovery empties unlogged tables (and the marker): their saved state is void.
                // Forgetting it in the marker's transaction makes each model rebuild in full on its
                // own, even if this build stops early or selects a few models.
                log('build: no build marker (first build, or the server crashed since the last one): incremental models rebuild in full');
                await client.query('begin');
                await client.query('delete from ops.model_state');
                await client.query('insert into ops.build_marker default values');
                await client.query('commit');
            }
            snapshot = await dirtySnapshot(client, log);
            for (const schema of new Set(selected.map((m) => m.schema))) await client.query(`create schema if not exists ${schema}`);
            const last = await client.query<{ model: string; ms: number }>(
                `select distinct on (model) model, duration_ms as ms from ops.model_runs where status = 'success' order by model, started_at desc`,
            );
            priority = criticalPaths(selected, dag, new Map(last.rows.map((r) => [r.model, r.ms])));
        } finally {
            client.release();
        }
    }

    const buildOne = async (model: ModelDef): Promise<void> => {
        const started = Date.now();
        const blockedBy = (dag.upstream.get(model.id) ?? []).filter((u) => failed.has(u));
        let result: ModelRunResult;
        const client = await pool.connect();
        try {
            if (blockedBy.length) {
                failed.add(model.id);
                result = { id: model.id, materialized: model.materialized, status: 'skipped', ms: 0, error: `upstream ${blockedBy.join(', ')} failed` };
            } else {
                for (const s of settings) await client.query(s);
                let statement: Wrapped | undefined;
                try {
                    if (model.materialized === 'view') {
                        const steps = viewSteps(model);
                        statement = steps.statement;
                        await inTransaction(client, () => steps.run(client));
                        result = { id: model.id, materialized: 'view', status: 'success', mode: 'view', ms: Date.now() - started };
                    } else if (model.materialized === 'table') {
                        const steps = tableSteps(model, { unlogged, citus });
                        statement = steps.statement;
                        const rows = await inTransaction(client, () => steps.run(client));
                        result = { id: model.id, materialized: 'table', status: 'success', mode: 'full', rows, ms: Date.now() - started };
                    } else {
                        result = await buildIncremental(
                            client,
                            { pool, threads, settings, table: { unlogged, citus }, poolSize: pool.options.max ?? 10 },
                            project,
                            dag,
                            model,
                            snapshot,
                            fullRefresh,
                            (w) => (statement = w),
                            started,
                        );
                    }
                } catch (err) {
                    failed.add(model.id);
                    result = {
                        id: model.id,
                        materialized: model.materialized,
                        status: 'error',
                        ms: Date.now() - started,
                        error: describeFailure(model, statement, err, options.statementTimeoutMinutes),
                    };
                }
            }
            results.set(model.id, result);
            await client.query(
                'insert into ops.model_runs (run_id, model, materialized, status, mode, rows_affected, duration_ms, error) values ($1, $2, $3, $4, $5, $6, $7, $8)',
                [runId, model.id, model.materialized, result.status, result.mode ?? null, result.rows ?? null, result.ms, result.error ?? null],
            );
        } finally {
            // The pool hands this connection to others (the loader): the build's settings stay here.
            await client.query(RESET_SETTINGS).catch(() => undefined);
            client.release();
        }
        log(formatModelResult(result));
    };

    // A model starts once everything it reads among the selected ones has finished (built or not).
    // A slot no ready model needs takes a side job; those left when the models are done are the
    // caller's to finish.
    const selectedIds = new Set(selected.map((m) => m.id));
    const waiting = [...selected];
    const running = new Map<string, Promise<string>>();
    let sideJobs = 0;
    const modelsRunning = () => [...running.keys()].filter((k) => !k.startsWith(SIDE_JOB)).length;
    while (waiting.length || modelsRunning()) {
        const ready = waiting
            .filter((m) => (dag.upstream.get(m.id) ?? []).every((u) => !selectedIds.has(u) || finished.has(u)))
            .sort((a, b) => (priority.get(b.id) ?? 0) - (priority.get(a.id) ?? 0));
        for (const m of ready.slice(0, threads - running.size)) {
            waiting.splice(waiting.indexOf(m), 1);
            running.set(
                m.id,
                buildOne(m).then(() => m.id),
            );
        }
        while (running.size < threads) {
            const job = options.sideJobs?.next();
            if (!job) break;
            const key = `${SIDE_JOB}${sideJobs++}`;
            running.set(
                key,
                job().then(() => key),
            );
        }
        if (!running.size) break;
        let done: string;
        try {
            done = await Promise.race(running.values());
        } catch (err) {
            // Not a model's failure (those are results) but the connection or ops.model_runs: let
            // the models already running finish before reporting it.
            await Promise.allSettled(running.values());
            throw err;
        }
        running.delete(done);
        if (done.startsWith(SIDE_JOB)) continue; // one still running when the models are done is the caller's to await
        finished.add(done);
        const result = results.get(done);
        if (result) options.sideJobs?.modelDone(result);
    }
    const ordered = selected.map((m) => results.get(m.id)).filter((r): r is ModelRunResult => r !== undefined);
    return { runId, results: ordered, ok: ordered.length === selected.length && ordered.every((r) => r.status === 'success' || r.status === 'up_to_date') };
}

/** What a build needs besides the model's own connection. */
interface BuildContext {
    readonly pool: Pool;
    readonly threads: number;
    readonly settings: readonly string[];
    /** Tables are created unlogged (see migrations/2026-11-30T0900_build_marker.ts), distributed on Citus. */
    readonly table: TableOptions;
    /** Connections the pool can hand out at once. */
    readonly poolSize: number;
}

/**
 * A full rebuild of an incremental model whose rows depend on no later day (no lookahead), in
 * day chunks on up to `threads` connections at once. Returns undefined when there is nothing to
 * split (one thread, or fewer days than chunks).
 */
async function buildChunked(client: PoolClient, ctx: BuildContext, model: ModelDef, onStatement: (w: Wrapped) => void, saveState: () => Promise<unknown>) {
    if (ctx.threads < 2 || model.lookaheadDays > 0 || !model.chunkedFullRefresh) return undefined;
    const span = await loadedDays(client);
    if (!span) return undefined;
    const chunks = dayChunks(span.first, span.last, ctx.threads * 2, model.grain);
    if (chunks.length < 2) return undefined;
    const steps = chunkedSteps(model, ctx.table);
    onStatement(steps.statement);
    await steps.create(client);
    let rows = 0;
    try {
        const queue = [...chunks];
        const fill = async (c: PoolClient) => {
            try {
                for (let r = queue.shift(); r; r = queue.shift()) {
                    const range = r;
                    const n = await inTransaction(c, () => steps.fill(c, range));
                    rows += n;
                }
            } catch (err) {
                queue.length = 0; // the other connections stop after their current chunk
                throw err;
            }
        };
        const extra = async () => {
            let c: PoolClient | undefined;
            try {
                c = await ctx.pool.connect();
                for (const s of ctx.settings) await c.query(s);
                await fill(c);
            } catch (err) {
                queue.length = 0;
                throw err;
            } finally {
                if (c) {
                    await c.query(RESET_SETTINGS).catch(() => undefined);
                    c.release();
                }
            }
        };
        // The model's own connection fills chunks too; the extra ones stay within the pool even when
        // every build thread is chunking at once (threads x (1 + extra) <= pool size).
        const extras = Math.max(0, Math.min(ctx.threads - 1, chunks.length - 1, Math.floor((ctx.poolSize - ctx.threads) / ctx.threads)));
        const settled = await Promise.allSettled([fill(client), ...Array.from({ length: extras }, extra)]);
        const failure = settled.find((r) => r.status === 'rejected');
        if (failure) throw failure.reason;
        await inTransaction(client, async () => {
            await steps.swap(client);
            await saveState();
        });
    } catch (err) {
        await steps.discard(client).catch(() => undefined);
        throw err;
    }
    return rows;
}

async function buildIncremental(
    client: PoolClient,
    ctx: BuildContext,
    project: Project,
    dag: Dag,
    model: ModelDef,
    snapshot: number,
    fullRefresh: boolean,
    onStatement: (w: Wrapped) => void,
    started: number,
): Promise<ModelRunResult> {
    const hash = inputsHash(project, dag, model);
    const state = (
        await client.query<{ last_change_id: string; inputs_hash: string }>('select last_change_id::text, inputs_hash from ops.model_state where model = $1', [
            model.id,
        ])
    ).rows[0];
    const exists = (await client.query('select to_regclass($1) as r', [model.id])).rows[0].r !== null;
    const saveState = () =>
        client.query(
            `insert into ops.model_state (model, last_change_id, inputs_hash) values ($1, $2, $3)
         on conflict (model) do update set last_change_id = excluded.last_change_id, inputs_hash = excluded.inputs_hash, built_at = now()`,
            [model.id, snapshot, hash],
        );
    const upToDate = (): ModelRunResult => ({
        id: model.id,
        materialized: 'incremental',
        status: 'up_to_date',
        mode: 'incremental',
        rows: 0,
        ms: Date.now() - started,
    });
    let ranges: DayRange[] = [];
    let full = fullRefresh || !exists || !state || state.inputs_hash !== hash;
    // Under retention, the days before the horizon have no raw rows left: never rebuilt.
    const horizon = exists ? (await client.query<{ h: string | null }>('select raw_horizon::text as h from ops.retention')).rows[0]?.h : undefined;
    if (!full) {
        // A day a seed marked (a price fix) counts only for the models that read that seed.
        const seeds = [...ancestorsOf(dag, model.id)].filter((id) => project.seeds.some((s) => s.id === id));
        const days = (
            await client.query<{ d: string }>(
                'select distinct usage_date::text as d from ops.dirty_days where change_id > $1 and change_id <= $2 and (seed is null or seed = any($3::text[])) order by 1',
                [state.last_change_id, snapshot, seeds],
            )
        ).rows.map((r) => r.d);
        if (!days.length) return upToDate();
        // Never rebuild a day before the retention horizon: its raw rows are gone, its mart rows stay.
        const floor = horizon ? periodStart(horizon, model.grain) : undefined;
        ranges = dayRanges(days, model.lookbackDays, model.lookaheadDays, model.grain)
            .map((r) => (floor && r.start < floor ? { ...r, start: floor } : r))
            .filter((r) => r.start < r.end);
        if (!ranges.length) return upToDate();
        // Every day ever loaded (a price fix since the first one): a full rebuild does the same
        // faster (one CREATE TABLE AS, in chunks at once, instead of deleting and re-inserting all).
        const loaded = horizon ? undefined : await loadedDays(client);
        full = loaded !== undefined && ranges.some((r) => r.start <= periodStart(loaded.first, model.grain) && r.end > loaded.last);
    }
    if (full) {
        // Under retention: rebuild from the horizon on and keep the older rows, rather than wipe
        // history that cannot come back.
        if (horizon) {
            // A week or month holding the horizon is rebuilt whole: such models read marts, which keep their rows.
            const steps = incrementalSteps(model, [{ start: periodStart(horizon, model.grain), end: '9999-12-31' }]);
            onStatement(steps.statement);
            const rows = await inTransaction(client, async () => {
                const n = await steps.run(client);
                await saveState();
                return n;
            });
            return {
                id: model.id,
                materialized: 'incremental',
                status: 'success',
                mode: 'full',
                rows,
                ms: Date.now() - started,
                days: `from ${horizon} (retention)`,
            };
        }
        const chunked = await buildChunked(client, ctx, model, onStatement, saveState);
        if (chunked !== undefined)
            return { id: model.id, materialized: 'incremental', status: 'success', mode: 'full', rows: chunked, ms: Date.now() - started };
        const steps = tableSteps(model, ctx.table);
        onStatement(steps.statement);
        const rows = await inTransaction(client, async () => {
            const n = await steps.run(client);
            await saveState();
            return n;
        });
        return { id: model.id, materialized: 'incremental', status: 'success', mode: 'full', rows, ms: Date.now() - started };
    }
    const steps = incrementalSteps(model, ranges);
    onStatement(steps.statement);
    const rows = await inTransaction(client, async () => {
        const n = await steps.run(client);
        await saveState();
        return n;
    });
    const span = ranges
        .map((r) => {
            const last = addDays(r.end, -1);
            return r.start === last ? r.start : `${r.start}..${last}`;
        })
        .join(', ');
    return { id: model.id, materialized: 'incremental', status: 'success', mode: 'incremental', rows, ms: Date.now() - started, days: span, ranges };
}

export function formatModelResult(r: ModelRunResult): string {
    const what =
        r.status === 'success' && r.mode === 'full' && r.days
            ? `full ${r.days}${r.rows !== undefined ? `, ${r.rows} rows` : ''}`
            : r.status === 'success'
              ? `${r.mode === 'incremental' ? `incremental ${r.days}` : r.mode}${r.rows !== undefined ? `, ${r.rows} rows` : ''}`
              : r.status === 'up_to_date'
                ? 'up to date (no new raw rows)'
                : (r.error ?? '');
    return `build: ${r.status.toUpperCase().padEnd(10)} ${r.id.padEnd(40)} ${what} [${(r.ms / 1000).toFixed(2)} s]`;
}
