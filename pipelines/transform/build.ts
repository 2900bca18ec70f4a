import { createHash, randomUUID } from 'node:crypto';
import { relative } from 'node:path';
import type { Pool, PoolClient } from 'pg';
import { projectRoot } from '../util/project-root.js';
import { ancestorsOf, selectModels, type Dag } from './dag.js';
import { dayRanges, incrementalSteps, tableSteps, viewSteps, type Wrapped } from './materialize.js';
import type { ModelDef, Project } from './project.js';
import { seedHash } from './seeds.js';

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
}

export interface BuildResult {
    readonly runId: string;
    readonly results: readonly ModelRunResult[];
    readonly ok: boolean;
}

export interface BuildOptions {
    readonly select?: readonly string[];
    readonly fullRefresh?: boolean;
    readonly runId?: string;
    readonly log?: (line: string) => void;
}

/** What a model's rows depend on besides raw data: its SQL and config and those of everything upstream. */
function inputsHash(project: Project, dag: Dag, model: ModelDef): string {
    const h = createHash('sha256');
    const byId = new Map(project.models.map((m) => [m.id, m]));
    const seeds = new Map(project.seeds.map((s) => [s.id, s]));
    for (const id of [model.id, ...[...ancestorsOf(dag, model.id)].sort()]) {
        const m = byId.get(id);
        if (m) h.update(`${id}\n${m.sql}\n${m.materialized}:${m.dayColumn}:${JSON.stringify(m.indexes)}\n`);
        const s = seeds.get(id);
        if (s) h.update(`${id}:${seedHash(s)}\n`);
    }
    return h.digest('hex');
}

/** One line for a failed model: file, line (from Postgres' error position) and the message. */
function describeFailure(model: ModelDef, statement: Wrapped | undefined, err: unknown): string {
    const e = err as Error & { position?: string; hint?: string };
    let where = relative(projectRoot, model.path);
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

/**
 * Builds the selected models in dependency order. Each model is one transaction: a failure keeps
 * the previous version of its relation and skips everything downstream of it.
 */
export async function buildModels(pool: Pool, project: Project, dag: Dag, options: BuildOptions = {}): Promise<BuildResult> {
    const runId = options.runId ?? randomUUID();
    const log = options.log ?? (() => undefined);
    const selected = selectModels(dag, options.select ?? []);
    const failed = new Set<string>();
    const results: ModelRunResult[] = [];
    const client = await pool.connect();
    try {
        const snapshot = Number((await client.query<{ n: string }>('select coalesce(max(change_id), 0)::text as n from ops.dirty_days')).rows[0].n);
        for (const schema of new Set(selected.map((m) => m.schema))) await client.query(`create schema if not exists ${schema}`);
        for (const model of selected) {
            const started = Date.now();
            const blockedBy = (dag.upstream.get(model.id) ?? []).filter((u) => failed.has(u));
            let result: ModelRunResult;
            if (blockedBy.length) {
                failed.add(model.id);
                result = { id: model.id, materialized: model.materialized, status: 'skipped', ms: 0, error: `upstream ${blockedBy.join(', ')} failed` };
            } else {
                let statement: Wrapped | undefined;
                try {
                    if (model.materialized === 'view') {
                        const steps = viewSteps(model);
                        statement = steps.statement;
                        await inTransaction(client, () => steps.run(client));
                        result = { id: model.id, materialized: 'view', status: 'success', mode: 'view', ms: Date.now() - started };
                    } else if (model.materialized === 'table') {
                        const steps = tableSteps(model);
                        statement = steps.statement;
                        const rows = await inTransaction(client, () => steps.run(client));
                        result = { id: model.id, materialized: 'table', status: 'success', mode: 'full', rows, ms: Date.now() - started };
                    } else {
                        result = await buildIncremental(client, project, dag, model, snapshot, options.fullRefresh ?? false, (w) => (statement = w), started);
                    }
                } catch (err) {
                    failed.add(model.id);
                    result = {
                        id: model.id,
                        materialized: model.materialized,
                        status: 'error',
                        ms: Date.now() - started,
                        error: describeFailure(model, statement, err),
                    };
                }
            }
            results.push(result);
            await client.query(
                'insert into ops.model_runs (run_id, model, materialized, status, mode, rows_affected, duration_ms, error) values ($1, $2, $3, $4, $5, $6, $7, $8)',
                [runId, model.id, model.materialized, result.status, result.mode ?? null, result.rows ?? null, result.ms, result.error ?? null],
            );
            log(formatModelResult(result));
        }
    } finally {
        client.release();
    }
    return { runId, results, ok: results.every((r) => r.status === 'success' || r.status === 'up_to_date') };
}

async function buildIncremental(
    client: PoolClient,
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
    if (fullRefresh || !exists || !state || state.inputs_hash !== hash) {
        // Under retention, the days before the horizon have no raw rows left: rebuild from the
        // horizon on and keep the older rows, rather than wipe history that cannot come back.
        const horizon = exists ? (await client.query<{ h: string | null }>('select raw_horizon::text as h from ops.retention')).rows[0]?.h : undefined;
        if (horizon) {
            const steps = incrementalSteps(model, [{ start: horizon, end: '9999-12-31' }]);
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
        const steps = tableSteps(model);
        onStatement(steps.statement);
        const rows = await inTransaction(client, async () => {
            const n = await steps.run(client);
            await saveState();
            return n;
        });
        return { id: model.id, materialized: 'incremental', status: 'success', mode: 'full', rows, ms: Date.now() - started };
    }
    const days = (
        await client.query<{ d: string }>('select distinct usage_date::text as d from ops.dirty_days where change_id > $1 and change_id <= $2 order by 1', [
            state.last_change_id,
            snapshot,
        ])
    ).rows.map((r) => r.d);
    if (!days.length) return { id: model.id, materialized: 'incremental', status: 'up_to_date', mode: 'incremental', rows: 0, ms: Date.now() - started };
    // Never rebuild a day before the retention horizon: its raw rows are gone, its mart rows stay.
    const horizon = (await client.query<{ h: string | null }>('select raw_horizon::text as h from ops.retention')).rows[0]?.h;
    const ranges = dayRanges(days, model.lookbackDays)
        .map((r) => (horizon && r.start < horizon ? { ...r, start: horizon } : r))
        .filter((r) => r.start < r.end);
    if (!ranges.length) return { id: model.id, materialized: 'incremental', status: 'up_to_date', mode: 'incremental', rows: 0, ms: Date.now() - started };
    const steps = incrementalSteps(model, ranges);
    onStatement(steps.statement);
    const rows = await inTransaction(client, async () => {
        const n = await steps.run(client);
        await saveState();
        return n;
    });
    const span = ranges
        .map((r) => {
            const last = new Date(Date.parse(r.end) - 86_400_000).toISOString().slice(0, 10);
            return r.start === last ? r.start : `${r.start}..${last}`;
        })
        .join(', ');
    return { id: model.id, materialized: 'incremental', status: 'success', mode: 'incremental', rows, ms: Date.now() - started, days: span };
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
