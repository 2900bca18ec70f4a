import { sql, type Kysely } from 'kysely';
import type { PoolClient } from 'pg';

/**
 * Citus (distributed PostgreSQL): when the database has the citus extension, tokenmart keeps the
 * tables that grow with requests on the workers and everything else on the coordinator.
 *
 * - raw.events (with its day partitions) and raw.first_copies are distributed by request_id, in
 *   one colocation group: the dedupe joins them shard by shard.
 * - Models whose YAML says `distributed_by: request_id` (staging.stg_events, marts.fct_requests)
 *   join that group: each model call's rows live on one worker, beside its raw copies.
 * - Seeds and ops.load_manifest (whose file_id every raw row carries) are reference tables: a copy on
 *   every node, so joins with them stay on the workers.
 * - Other ops tables and the aggregated marts stay plain tables on the coordinator: they are small,
 *   reports read them there, and Citus gathers the workers' partial aggregates into them.
 *
 * On a server without Citus every function here is a no-op, and the SQL is the same.
 */

/** The colocation anchor of everything distributed by request_id. */
export const DISTRIBUTION_ANCHOR = 'raw.events';

/** Source tables and how Citus holds them, in the order they must be converted (referenced first). */
const SOURCE_TABLES: readonly { readonly table: string; readonly by?: string }[] = [
    { table: 'ops.load_manifest' },
    { table: DISTRIBUTION_ANCHOR, by: 'request_id' },
    { table: 'raw.first_copies', by: 'request_id' },
];

const HAS_CITUS = "select exists (select 1 from pg_extension where extname = 'citus') as on";

/** Whether this database has the citus extension. */
export async function hasCitus(client: Pick<PoolClient, 'query'>): Promise<boolean> {
    const { rows } = await client.query<{ on: boolean }>(HAS_CITUS);
    return rows[0].on;
}

/**
 * Converts the source tables on a Citus coordinator (idempotent: a table already in Citus'
 * metadata is left alone). Returns what it did, a line each.
 */
export async function distributeSources(db: Kysely<unknown>): Promise<readonly string[]> {
    const on = await sql.raw<{ on: boolean }>(HAS_CITUS).execute(db);
    if (!on.rows[0].on) return [];
    const done: string[] = [];
    const known = await sql<{ rel: string }>`select logicalrelid::regclass::text as rel from pg_dist_partition`.execute(db);
    const have = new Set(known.rows.map((r) => r.rel));
    for (const { table, by } of SOURCE_TABLES) {
        if (have.has(table)) continue;
        if (by)
            await sql`select create_distributed_table(${table}, ${by}, colocate_with => ${table === DISTRIBUTION_ANCHOR ? 'default' : DISTRIBUTION_ANCHOR})`.execute(
                db,
            );
        else await sql`select create_reference_table(${table})`.execute(db);
        done.push(`citus: ${table} ${by ? `distributed by ${by}` : 'a reference table'}`);
    }
    return done;
}

/** Makes a freshly created seed table a reference table (a copy on every node). */
export async function referenceSeed(client: PoolClient, table: string): Promise<void> {
    if (await hasCitus(client)) await client.query('select create_reference_table($1)', [table]);
}

/** Distributes a freshly created, empty model table by its column, beside raw.events' shards. */
export async function distributeModelTable(client: PoolClient, table: string, column: string): Promise<void> {
    await client.query('select create_distributed_table($1, $2, colocate_with => $3)', [table, column, DISTRIBUTION_ANCHOR]);
}
