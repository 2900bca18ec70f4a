import { createHash } from 'node:crypto';
import { referenceSeed } from '../db/citus.js';
import { readFileSync } from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';
import type { Pool, PoolClient } from 'pg';
import { UserError } from '../util/errors.js';
import { changedSpans, type DatedRow, daysTouched } from './dated-seed-days.js';
import { loadedDays } from './materialize.js';
import type { SeedDef } from './project.js';

export interface SeedResult {
    readonly id: string;
    readonly status: 'loaded' | 'unchanged';
    readonly rows: number;
    readonly contentHash: string;
    /** A dated seed's change: the days marked for rebuilding (first and last, and how many). */
    readonly dirtyDays?: { readonly first: string; readonly last: string; readonly count: number };
}

const q = (ident: string) => `"${ident.replaceAll('"', '""')}"`;

/**
 * What a seed contributes to the models' inputs hash (a change rebuilds them in full): its content
 * and types; for a dated seed its types and dating alone, since a change to its rows marks the days
 * they applied to instead (markDatedDays).
 */
export function seedInputsKey(seed: SeedDef): string {
    if (!seed.datedBy) return seedHash(seed);
    return createHash('sha256')
        .update(JSON.stringify({ columns: seed.columns.map((c) => [c.name, c.type]), datedBy: seed.datedBy }))
        .digest('hex');
}

async function datedRows(client: PoolClient, seed: SeedDef): Promise<DatedRow[]> {
    const d = seed.datedBy!;
    const { rows } = await client.query<{ key: string; from_ms: number | null; row: string }>(
        `select json_build_array(${d.key.map(q).join(', ')})::text as key, (extract(epoch from ${q(d.from)}) * 1000)::float8 as from_ms,
                json_build_array(${seed.columns.map((c) => q(c.name)).join(', ')})::text as row
         from seeds.${q(seed.name)}`,
    );
    return rows.map((r) => ({ key: r.key, fromMs: r.from_ms, row: r.row }));
}

/**
 * A dated seed's rows changed (a price fix): mark the days the changed rows applied to, before or
 * after, for the models that read the seed (ops.dirty_days.seed), in the load's transaction, so
 * they rebuild those days only and the marks commit with the rows or not at all. Days are bounded
 * by those ever loaded.
 */
async function markDatedDays(client: PoolClient, seed: SeedDef, before: readonly DatedRow[]): Promise<SeedResult['dirtyDays']> {
    const spans = changedSpans(before, await datedRows(client, seed));
    if (!spans.length) return undefined;
    const loaded = await loadedDays(client);
    if (!loaded) return undefined;
    const days = daysTouched(spans, loaded.first, loaded.last);
    if (!days.length) return undefined;
    await client.query('insert into ops.dirty_days (usage_date, file_id, seed) select d::date, 0, $2 from unnest($1::text[]) as d', [days, seed.id]);
    return { first: days[0], last: days[days.length - 1], count: days.length };
}

export function seedHash(seed: SeedDef): string {
    return createHash('sha256')
        .update(readFileSync(seed.path))
        .update(JSON.stringify(seed.columns.map((c) => [c.name, c.type])))
        .digest('hex');
}

/**
 * Loads a CSV seed into seeds.<name> with the column types its YAML gives. Unchanged seeds are
 * skipped; a changed one is replaced in one transaction (views on it stay valid).
 */
export async function loadSeed(pool: Pool, seed: SeedDef): Promise<SeedResult> {
    const contentHash = seedHash(seed);
    const client = await pool.connect();
    try {
        const state = await client.query('select content_hash from ops.seed_state where seed = $1', [seed.id]);
        const exists = await client.query('select 1 from information_schema.tables where table_schema = $1 and table_name = $2', ['seeds', seed.name]);
        if (state.rows[0]?.content_hash === contentHash && exists.rowCount) {
            // Seeds loaded before their statistics were kept get them once.
            const stats = await client.query<{ n: number }>('select reltuples::float8 as n from pg_class where oid = $1::regclass', [`seeds.${q(seed.name)}`]);
            if (stats.rows[0]?.n < 0) await client.query(`analyze seeds.${q(seed.name)}`);
            return { id: seed.id, status: 'unchanged', rows: 0, contentHash };
        }
        let records: string[][];
        try {
            records = parseCsv(readFileSync(seed.path), { bom: true, skip_empty_lines: true, relax_column_count: false }) as string[][];
        } catch (err) {
            throw new UserError(`seed: ${seed.path}: ${(err as Error).message}; fix the CSV`);
        }
        const [header, ...rows] = records;
        const expected = seed.columns.map((c) => c.name);
        if (!header || header.join(',') !== expected.join(',')) {
            throw new UserError(`seed: ${seed.path}: header is "${header?.join(',')}" but the YAML declares "${expected.join(',')}"; make them match`);
        }
        let dirtyDays: SeedResult['dirtyDays'];
        await client.query('begin');
        try {
            await client.query('create schema if not exists seeds');
            const cols = await client.query<{ name: string; type: string }>(
                `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type from pg_attribute a
                 where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped order by a.attnum`,
                [`seeds.${seed.name}`],
            );
            const probe = await client.query<{ type: string }>(
                `select format_type(t::regtype::oid, null) as type from unnest($1::text[]) with ordinality as u(t, i) order by i`,
                [seed.columns.map((c) => c.type)],
            );
            const sameShape =
                cols.rows.length === seed.columns.length && cols.rows.every((c, i) => c.name === seed.columns[i].name && c.type === probe.rows[i].type);
            // A dated seed's rows as they were: the days its change touches are marked below. A
            // missing or reshaped table had none we can read: every day is marked.
            const before = seed.datedBy ? (sameShape ? await datedRows(client, seed) : []) : undefined;
            if (sameShape) await client.query(`delete from seeds.${q(seed.name)}`);
            else {
                await client.query(`drop table if exists seeds.${q(seed.name)} cascade`);
                await client.query(`create table seeds.${q(seed.name)} (${seed.columns.map((c) => `${q(c.name)} ${c.type}`).join(', ')})`);
                await referenceSeed(client, `seeds.${seed.name}`);
            }
            for (let start = 0; start < rows.length; start += 500) {
                const chunk = rows.slice(start, start + 500);
                const params: (string | null)[] = [];
                const tuples = chunk.map(
                    (row) =>
                        `(${row
                            .map((v, j) => {
                                params.push(v === '' ? null : v);
                                return `$${params.length}::${seed.columns[j].type}`;
                            })
                            .join(', ')})`,
                );
                try {
                    await client.query(`insert into seeds.${q(seed.name)} values ${tuples.join(', ')}`, params);
                } catch (err) {
                    throw new UserError(
                        `seed: ${seed.path} (rows ${start + 2}-${start + chunk.length + 1}): ${(err as Error).message}; fix the value or the column type in the YAML`,
                    );
                }
            }
            dirtyDays = before ? await markDatedDays(client, seed, before) : undefined;
            await client.query(
                `insert into ops.seed_state (seed, content_hash, row_count) values ($1, $2, $3)
                 on conflict (seed) do update set content_hash = excluded.content_hash, row_count = excluded.row_count, loaded_at = now()`,
                [seed.id, contentHash, rows.length],
            );
            await client.query('commit');
            // Statistics now: autovacuum never analyzes a table this small (under 50 rows), and without
            // them the planner takes a 5-row seed for thousands of rows and hashes the requests instead
            // (fct_requests' full build: 3.0 s -> 1.9 s per 276,000 requests). After the commit: on
            // Citus, ANALYZE of a reference table cannot follow writes to it in one transaction.
            await client.query(`analyze seeds.${q(seed.name)}`);
        } catch (err) {
            await client.query('rollback');
            throw err;
        }
        return { id: seed.id, status: 'loaded', rows: rows.length, contentHash, ...(dirtyDays ? { dirtyDays } : {}) };
    } finally {
        client.release();
    }
}
