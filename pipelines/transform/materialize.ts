import type { PoolClient } from 'pg';
import { isoDay } from '../../reports/period.js';
import { distributeModelTable } from '../db/citus.js';
import type { Grain, ModelDef } from './project.js';

export const quoteIdent = (ident: string) => `"${ident.replaceAll('"', '""')}"`;
const rel = (schema: string, name: string) => `${quoteIdent(schema)}.${quoteIdent(name)}`;

/** The model's SQL without a trailing semicolon, ready to be wrapped. */
export function modelSelect(model: ModelDef): string {
    return model.sql.replace(/;\s*$/, '').trimEnd();
}

/** Where the model SQL starts in the statement we send, so Postgres' error position maps back. */
export interface Wrapped {
    readonly text: string;
    readonly offset: number;
}

function wrap(prefix: string, model: ModelDef, suffix = ''): Wrapped {
    return { text: `${prefix}${modelSelect(model)}${suffix}`, offset: prefix.length };
}

interface DependentView {
    readonly schema: string;
    readonly name: string;
    readonly definition: string;
}

/**
 * Views (anywhere) that read a relation, recursively, in creation order: dropping the relation
 * for a swap drops them too, so they are recreated right after, in the same transaction.
 */
async function dependentViews(client: PoolClient, schema: string, name: string): Promise<DependentView[]> {
    const { rows } = await client.query<DependentView & { depth: number }>(
        `with recursive deps as (
            select distinct v.oid, 1 as depth
            from pg_depend d
            join pg_rewrite r on r.oid = d.objid
            join pg_class v on v.oid = r.ev_class
            where d.refobjid = to_regclass($1) and v.relkind = 'v' and v.oid <> d.refobjid
            union all
            select distinct v.oid, deps.depth + 1
            from deps
            join pg_depend d on d.refobjid = deps.oid
            join pg_rewrite r on r.oid = d.objid
            join pg_class v on v.oid = r.ev_class
            where v.relkind = 'v' and v.oid <> deps.oid
        )
        select n.nspname as schema, c.relname as name, pg_get_viewdef(c.oid) as definition, max(deps.depth) as depth
        from deps join pg_class c on c.oid = deps.oid join pg_namespace n on n.oid = c.relnamespace
        group by 1, 2, 3 order by depth`,
        [`${schema}.${name}`],
    );
    return rows;
}

export type Step = (client: PoolClient) => Promise<number | undefined>;

/**
 * Models build in parallel, and a swap drops and recreates the views that read the relation:
 * two swaps sharing a dependent view would race (or deadlock) over it. The swap (not the build
 * before it) takes this transaction lock, so swaps run one at a time and each sees the views the
 * previous one left.
 */
const lockSwaps = (client: PoolClient) => client.query(`select pg_advisory_xact_lock(hashtext('tokenmart.swap'))`);

/** A view: replaced in the caller's transaction (dependents recreated). */
export function viewSteps(model: ModelDef): { statement: Wrapped; run: Step } {
    const statement = wrap(`create view ${rel(model.schema, model.name)} as\n`, model);
    return {
        statement,
        run: async (client) => {
            await lockSwaps(client);
            const views = await dependentViews(client, model.schema, model.name);
            await client.query(`drop view if exists ${rel(model.schema, model.name)} cascade`);
            await client.query(statement.text);
            for (const v of views) await client.query(`create view ${rel(v.schema, v.name)} as ${v.definition}`);
            return undefined;
        },
    };
}

/** How built tables are created: unlogged (no WAL), and whether the server is a Citus coordinator. */
export interface TableOptions {
    readonly unlogged: boolean;
    readonly citus: boolean;
}

/**
 * Creates the model's table empty under `tmp` (its columns from the model SQL), distributed on
 * Citus when the model says `distributed_by`.
 */
async function createEmpty(client: PoolClient, model: ModelDef, tmp: string, opts: TableOptions): Promise<void> {
    await client.query(`drop table if exists ${rel(model.schema, tmp)}`);
    await client.query(
        wrap(`create ${opts.unlogged ? 'unlogged ' : ''}table ${rel(model.schema, tmp)} as\nselect * from (\n`, model, '\n) as model_rows\nwith no data').text,
    );
    if (opts.citus && model.distributedBy) await distributeModelTable(client, `${model.schema}.${tmp}`, model.distributedBy);
}

/** A table built under a temporary name and swapped in: readers never see it empty or half-built. */
export function tableSteps(model: ModelDef, opts: TableOptions = { unlogged: false, citus: false }): { statement: Wrapped; run: Step } {
    const tmp = `${model.name}__building`;
    if (opts.citus && model.distributedBy) {
        // Citus: CREATE TABLE AS would gather every row on the coordinator; an empty distributed
        // table filled by INSERT ... SELECT runs shard by shard on the workers.
        const statement = wrap(`insert into ${rel(model.schema, tmp)}\nselect * from (\n`, model, '\n) as model_rows');
        return {
            statement,
            run: async (client) => {
                await createEmpty(client, model, tmp, opts);
                const res = await client.query(statement.text);
                await swapIn(client, model, tmp);
                return res.rowCount ?? 0;
            },
        };
    }
    const statement = wrap(`create ${opts.unlogged ? 'unlogged ' : ''}table ${rel(model.schema, tmp)} as\n`, model);
    return {
        statement,
        run: async (client) => {
            await client.query(`drop table if exists ${rel(model.schema, tmp)}`);
            const res = await client.query(statement.text);
            await swapIn(client, model, tmp);
            return res.rowCount ?? 0;
        },
    };
}

/** Indexes and statistics on the built table, then it replaces the model's (dependent views recreated). */
async function swapIn(client: PoolClient, model: ModelDef, tmp: string): Promise<void> {
    for (const [i, index] of model.indexes.entries()) {
        await client.query(
            `create ${index.unique ? 'unique ' : ''}index ${quoteIdent(`${model.name}__ix${i}_${Date.now()}`)} on ${rel(model.schema, tmp)} (${index.columns.map(quoteIdent).join(', ')})${index.unique ? ' nulls not distinct' : ''}${index.where ? ` where ${index.where}` : ''}`,
        );
    }
    await client.query(`analyze ${rel(model.schema, tmp)}`);
    await lockSwaps(client);
    const views = await dependentViews(client, model.schema, model.name);
    await client.query(`drop table if exists ${rel(model.schema, model.name)} cascade`);
    await client.query(`alter table ${rel(model.schema, tmp)} rename to ${quoteIdent(model.name)}`);
    for (const v of views) await client.query(`create view ${rel(v.schema, v.name)} as ${v.definition}`);
}

/**
 * Sets the window the model SQL reads (tokenmart.window_start()/window_end()) for this transaction;
 * '' is open. SET LOCAL rather than set_config(): on Citus, with propagate_set_commands = 'local',
 * it reaches the workers that evaluate the model SQL too (set_config() would not, and a worker
 * would read the whole of time). On a server without Citus that setting is an inert placeholder.
 */
export async function setWindow(client: PoolClient, r: DayRange | undefined): Promise<void> {
    const at = (d: string | undefined) => (!d || d.endsWith('infinity') ? '' : `${isoDay(Date.parse(`${d}T00:00:00Z`))}T00:00:00Z`);
    await client.query(
        `set local citus.propagate_set_commands = 'local'; set local tokenmart.window_start = '${at(r?.start)}'; set local tokenmart.window_end = '${at(r?.end)}'`,
    );
}

/** The model's rows of the days [$1, $2) inserted into `table` (the model's own, or its temporary one). */
function insertDays(model: ModelDef, table: string): Wrapped {
    const day = quoteIdent(model.dayColumn!);
    return wrap(
        `insert into ${rel(model.schema, table)}\nselect * from (\n`,
        model,
        `\n) as model_rows where model_rows.${day} >= $1::date and model_rows.${day} < $2::date`,
    );
}

/**
 * A full rebuild of an incremental model in chunks of days, built at once on separate connections
 * (the model's incremental windows, so they add up to the full build; the incremental-equals-full
 * test holds them to it), then swapped in like a table. The empty table is committed first so the
 * chunks' connections can fill it; until the swap it has its temporary name, so no reader sees it.
 */
export function chunkedSteps(
    model: ModelDef,
    opts: TableOptions,
): {
    readonly statement: Wrapped;
    readonly create: (client: PoolClient) => Promise<void>;
    readonly fill: (client: PoolClient, r: DayRange) => Promise<number>;
    readonly swap: (client: PoolClient) => Promise<void>;
    readonly discard: (client: PoolClient) => Promise<void>;
} {
    const tmp = `${model.name}__building`;
    const statement = insertDays(model, tmp);
    return {
        statement,
        create: (client) => createEmpty(client, model, tmp, opts),
        fill: async (client, r) => {
            await setWindow(client, r);
            return (await client.query(statement.text, [r.start, r.end])).rowCount ?? 0;
        },
        swap: (client) => swapIn(client, model, tmp),
        discard: async (client) => {
            await client.query(`drop table if exists ${rel(model.schema, tmp)}`);
        },
    };
}

/**
 * n chunks of about equal days over [first, last], on period boundaries of the grain; the first
 * starts at -infinity and the last ends at infinity, so no row falls outside them.
 */
export function dayChunks(first: string, last: string, n: number, grain: Grain): DayRange[] {
    const lo = period(Date.parse(`${first}T00:00:00Z`), grain)[0];
    const hi = period(Date.parse(`${last}T00:00:00Z`), grain)[1] + DAY_MS;
    const cuts = new Set<number>();
    for (let k = 1; k < n; k++) {
        const t = period(lo + Math.round(((hi - lo) / DAY_MS) * (k / n)) * DAY_MS, grain)[0];
        if (t > lo && t < hi) cuts.add(t);
    }
    const bounds = [...cuts].sort((a, b) => a - b);
    const starts = ['-infinity', ...bounds.map(isoDay)];
    const ends = [...bounds.map(isoDay), 'infinity'];
    return starts.map((start, i) => ({ start, end: ends[i] }));
}

/** The first and last UTC day ever loaded (every load marks its days in ops.dirty_days), or undefined before any. */
export async function loadedDays(client: Pick<PoolClient, 'query'>): Promise<{ readonly first: string; readonly last: string } | undefined> {
    const { rows } = await client.query<{ lo: string | null; hi: string | null }>(
        'select min(usage_date)::text as lo, max(usage_date)::text as hi from ops.dirty_days',
    );
    return rows[0].lo && rows[0].hi ? { first: rows[0].lo, last: rows[0].hi } : undefined;
}

export interface DayRange {
    /** Inclusive. */
    readonly start: string;
    /** Exclusive. */
    readonly end: string;
}

/** Rewritten rows, as a share of an incremental model's table, past which its statistics are refreshed. */
const ANALYZE_SHARE = 0.1;

/** An incremental model: delete the window's days and insert them again, in one transaction. */
export function incrementalSteps(model: ModelDef, ranges: readonly DayRange[]): { statement: Wrapped; run: Step } {
    const day = quoteIdent(model.dayColumn!);
    const statement = insertDays(model, model.name);
    return {
        statement,
        run: async (client) => {
            let rows = 0;
            // Every range deleted before any is inserted: a row that moves between two ranges (a
            // request whose first copy moved to another day) would otherwise meet its old copy in
            // a unique index.
            for (const r of ranges)
                await client.query(`delete from ${rel(model.schema, model.name)} where ${day} >= $1::date and ${day} < $2::date`, [r.start, r.end]);
            for (const r of ranges) {
                // The window model SQL reads through tokenmart.window_start()/window_end().
                await setWindow(client, r);
                const res = await client.query(statement.text, [r.start, r.end]);
                rows += res.rowCount ?? 0;
            }
            await setWindow(client, undefined);
            // Statistics again only when the rows rewritten are a good share of the table (as
            // autovacuum's 10%): ANALYZE samples the whole table (1.1 s for a 1M-row fct_requests),
            // and a new day past the histogram's end is estimated from the index's actual bounds.
            const { rows: stats } = await client.query<{ n: number }>('select reltuples::float8 as n from pg_class where oid = $1::regclass', [
                `${rel(model.schema, model.name)}`,
            ]);
            if (!(stats[0]?.n > 0) || rows > ANALYZE_SHARE * stats[0].n) await client.query(`analyze ${rel(model.schema, model.name)}`);
            return rows;
        },
    };
}

const DAY_MS = 86_400_000;

/** The first and last day (ms) of the period holding day t: the day, its ISO week (Monday on), its month. */
function period(t: number, grain: Grain): [number, number] {
    const d = new Date(t);
    if (grain === 'week') {
        const monday = t - ((d.getUTCDay() + 6) % 7) * DAY_MS;
        return [monday, monday + 6 * DAY_MS];
    }
    if (grain === 'month') return [Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - DAY_MS];
    return [t, t];
}

/** The first day of the period (of the grain) holding the day, as YYYY-MM-DD. */
export function periodStart(day: string, grain: Grain): string {
    return isoDay(period(Date.parse(`${day}T00:00:00Z`), grain)[0]);
}

/** The end of an open-ended range (lookahead_days: all): later than any day a model holds. */
export const LAST_DAY = '9999-12-31';

/**
 * Merges changed days into contiguous [start, end) ranges: each day with its lookback (the days
 * before it) and lookahead (the days after it whose rows depend on it; Infinity: every later day),
 * widened to whole periods.
 */
export function dayRanges(days: readonly string[], lookbackDays: number, lookaheadDays = 0, grain: Grain = 'day'): DayRange[] {
    const spans = days
        .map((d) => {
            const t = Date.parse(`${d}T00:00:00Z`);
            const [first] = period(t - lookbackDays * DAY_MS, grain);
            const end = Number.isFinite(lookaheadDays) ? period(t + lookaheadDays * DAY_MS, grain)[1] + DAY_MS : Number.POSITIVE_INFINITY;
            return [first, end] as const;
        })
        .sort((a, b) => a[0] - b[0]);
    const out: { start: number; end: number }[] = [];
    for (const [start, end] of spans) {
        const last = out[out.length - 1];
        if (last && start <= last.end) last.end = Math.max(last.end, end);
        else out.push({ start, end });
    }
    return out.map((r) => ({ start: isoDay(r.start), end: Number.isFinite(r.end) ? isoDay(r.end) : LAST_DAY }));
}
