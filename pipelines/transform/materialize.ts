import type { PoolClient } from 'pg';
import type { ModelDef } from './project.js';

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

/** A view: replaced in the caller's transaction (dependents recreated). */
export function viewSteps(model: ModelDef): { statement: Wrapped; run: Step } {
    const statement = wrap(`create view ${rel(model.schema, model.name)} as\n`, model);
    return {
        statement,
        run: async (client) => {
            const views = await dependentViews(client, model.schema, model.name);
            await client.query(`drop view if exists ${rel(model.schema, model.name)} cascade`);
            await client.query(statement.text);
            for (const v of views) await client.query(`create view ${rel(v.schema, v.name)} as ${v.definition}`);
            return undefined;
        },
    };
}

/** A table built under a temporary name and swapped in: readers never see it empty or half-built. */
export function tableSteps(model: ModelDef): { statement: Wrapped; run: Step } {
    const tmp = `${model.name}__building`;
    const statement = wrap(`create table ${rel(model.schema, tmp)} as\n`, model);
    return {
        statement,
        run: async (client) => {
            await client.query(`drop table if exists ${rel(model.schema, tmp)}`);
            const res = await client.query(statement.text);
            for (const [i, cols] of model.indexes.entries()) {
                await client.query(
                    `create index ${quoteIdent(`${model.name}__ix${i}_${Date.now()}`)} on ${rel(model.schema, tmp)} (${cols.map(quoteIdent).join(', ')})`,
                );
            }
            const views = await dependentViews(client, model.schema, model.name);
            await client.query(`drop table if exists ${rel(model.schema, model.name)} cascade`);
            await client.query(`alter table ${rel(model.schema, tmp)} rename to ${quoteIdent(model.name)}`);
            for (const v of views) await client.query(`create view ${rel(v.schema, v.name)} as ${v.definition}`);
            await client.query(`analyze ${rel(model.schema, model.name)}`);
            return res.rowCount ?? 0;
        },
    };
}

export interface DayRange {
    /** Inclusive. */
    readonly start: string;
    /** Exclusive. */
    readonly end: string;
}

/** An incremental model: delete the window's days and insert them again, in one transaction. */
export function incrementalSteps(model: ModelDef, ranges: readonly DayRange[]): { statement: Wrapped; run: Step } {
    const day = quoteIdent(model.dayColumn!);
    const statement = wrap(
        `insert into ${rel(model.schema, model.name)}\nselect * from (\n`,
        model,
        `\n) as model_rows where model_rows.${day} >= $1::date and model_rows.${day} < $2::date`,
    );
    return {
        statement,
        run: async (client) => {
            let rows = 0;
            for (const r of ranges) {
                // The window model SQL reads through tokenmart.window_start()/window_end().
                await client.query(`select set_config('tokenmart.window_start', $1, true), set_config('tokenmart.window_end', $2, true)`, [
                    `${r.start}T00:00:00Z`,
                    `${r.end}T00:00:00Z`,
                ]);
                await client.query(`delete from ${rel(model.schema, model.name)} where ${day} >= $1::date and ${day} < $2::date`, [r.start, r.end]);
                const res = await client.query(statement.text, [r.start, r.end]);
                rows += res.rowCount ?? 0;
            }
            await client.query(`select set_config('tokenmart.window_start', '', true), set_config('tokenmart.window_end', '', true)`);
            await client.query(`analyze ${rel(model.schema, model.name)}`);
            return rows;
        },
    };
}

/** Merges days (and their lookback) into contiguous [start, end) ranges. */
export function dayRanges(days: readonly string[], lookbackDays: number): DayRange[] {
    const all = new Set<number>();
    for (const d of days) {
        const t = Date.parse(`${d}T00:00:00Z`);
        for (let k = 0; k <= lookbackDays; k++) all.add(t - k * 86_400_000);
    }
    const sorted = [...all].sort((a, b) => a - b);
    const out: DayRange[] = [];
    const iso = (t: number) => new Date(t).toISOString().slice(0, 10);
    let start = sorted[0];
    let prev = sorted[0];
    for (const t of sorted.slice(1).concat([Number.NaN])) {
        if (t === prev + 86_400_000) {
            prev = t;
            continue;
        }
        if (start !== undefined) out.push({ start: iso(start), end: iso(prev + 86_400_000) });
        start = t;
        prev = t;
    }
    return out;
}
