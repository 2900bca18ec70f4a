import type { Pool } from 'pg';
import { deleteRawRows } from './raw-partitions.js';

/**
 * Retires every loaded file under a URI prefix in one transaction: marks them superseded, deletes
 * their rows, and records as dirty every day whose deduplicated rows may change (their days, and
 * the days of other copies of their request_ids), so incremental models rebuild those days.
 */
export async function retireFilesUnder(pool: Pool, uriPrefix: string): Promise<number> {
    const client = await pool.connect();
    try {
        await client.query('begin');
        const { rows: files } = await client.query<{ file_id: string }>(
            "update ops.load_manifest set status = 'superseded', superseded_at = now() where status = 'loaded' and starts_with(source_uri, $1) returning file_id",
            [uriPrefix],
        );
        const ids = files.map((f) => f.file_id);
        let removed = 0;
        if (ids.length) {
            await client.query(
                `insert into ops.dirty_days (usage_date, file_id)
                 select distinct (o.event_at at time zone 'UTC')::date, $2::bigint from raw.events as o
                 where o.request_id in (select request_id from raw.events where file_id = any($1::bigint[]))`,
                [ids, ids[0]],
            );
            removed = await deleteRawRows(client, 'file_id = any($1::bigint[])', [ids]);
        }
        await client.query('commit');
        return removed;
    } catch (err) {
        await client.query('rollback').catch(() => undefined);
        throw err;
    } finally {
        client.release();
    }
}
