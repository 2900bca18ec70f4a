import type { Pool } from 'pg';
import { addDays, isoDay } from '../../reports/period.js';
import { deleteRawRows, refreshFirstCopies } from '../ingest/raw-partitions.js';
import { quoteIdent } from '../transform/materialize.js';

export interface RetentionResult {
    /** Raw days before this (UTC) are gone. */
    readonly horizon: string;
    readonly rawEvents: number;
    readonly quarantinedLines: number;
}

/**
 * Drops raw events (their day partitions whole) and quarantined lines older than `rawDays` (UTC days before today minus rawDays)
 * and records the horizon, which only moves forward. Marts keep their rows: the model engine never
 * rebuilds a day before the horizon (it could not: its raw rows are gone), so a price fixed later
 * re-prices only the days after it.
 */
export async function applyRetention(pool: Pool, rawDays: number, now = new Date()): Promise<RetentionResult> {
    const wanted = addDays(isoDay(now.getTime()), -rawDays);
    const client = await pool.connect();
    try {
        await client.query('begin');
        const { rows } = await client.query<{ horizon: string }>(
            `insert into ops.retention (raw_horizon) values ($1::date)
             on conflict (id) do update set raw_horizon = greatest(ops.retention.raw_horizon, excluded.raw_horizon), applied_at = now()
             returning raw_horizon::text as horizon`,
            [wanted],
        );
        const horizon = rows[0].horizon;
        // From now on the marts hold the only copy of the days before the horizon: built tables
        // that crash recovery would empty (unlogged, see build.ts) are made crash-safe first.
        const unlogged = await client.query<{ rel: string }>(
            `select format('%I.%I', n.nspname, c.relname) as rel from pg_class as c inner join pg_namespace as n on n.oid = c.relnamespace
             where c.relpersistence = 'u' and c.relkind = 'r' and n.nspname in ('staging', 'intermediate', 'marts')`,
        );
        for (const { rel } of unlogged.rows) await client.query(`alter table ${rel} set logged`);
        // Whole days go with their partitions (no row-by-row delete, no dead rows left behind);
        // any row before the horizon left elsewhere is deleted.
        const parts = await client.query<{ name: string }>(
            `select c.relname as name
             from pg_inherits as i
             inner join pg_class as c on c.oid = i.inhrelid
             where i.inhparent = 'raw.events'::regclass
                and c.relname ~ '^events_[0-9]{8}$'
                and to_date(substr(c.relname, 8), 'YYYYMMDD') < $1::date`,
            [horizon],
        );
        let rawEvents = 0;
        for (const { name } of parts.rows) {
            const ids = (await client.query<{ request_id: string }>(`select request_id from raw.${quoteIdent(name)}`)).rows.map((r) => r.request_id);
            await client.query(`drop table raw.${quoteIdent(name)}`);
            await refreshFirstCopies(client, ids);
            rawEvents += ids.length;
        }
        // The horizon's UTC midnight as a parameter: Citus refuses a stable expression (a date at a
        // time zone) beside a column in a DELETE on a distributed table.
        const cutoff = `${horizon}T00:00:00Z`;
        rawEvents += await deleteRawRows(client, 'event_at < $1::timestamptz', [cutoff]);
        const quarantinedLines = (await client.query('delete from ops.quarantine where quarantined_at < $1::timestamptz', [cutoff])).rowCount ?? 0;
        await client.query('commit');
        return { horizon, rawEvents, quarantinedLines };
    } catch (err) {
        await client.query('rollback').catch(() => undefined);
        throw err;
    } finally {
        client.release();
    }
}
