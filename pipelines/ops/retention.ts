import type { Pool } from 'pg';
import { addDays, isoDay } from '../../reports/period.js';

export interface RetentionResult {
    /** Raw days before this (UTC) are gone. */
    readonly horizon: string;
    readonly rawEvents: number;
    readonly quarantinedLines: number;
}

/**
 * Drops raw events and quarantined lines older than `rawDays` (UTC days before today minus rawDays)
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
        const rawEvents = (await client.query("delete from raw.events where event_at < ($1::date at time zone 'UTC')", [horizon])).rowCount ?? 0;
        const quarantinedLines =
            (await client.query("delete from ops.quarantine where quarantined_at < ($1::date at time zone 'UTC')", [horizon])).rowCount ?? 0;
        await client.query('commit');
        return { horizon, rawEvents, quarantinedLines };
    } catch (err) {
        await client.query('rollback').catch(() => undefined);
        throw err;
    } finally {
        client.release();
    }
}
