import pg from 'pg';

/** The key of tokenmart's one pipeline lock (an arbitrary constant). */
const RUN_LOCK_KEY = 7_348_201_995;

export interface RunLock {
    readonly acquired: boolean;
    /** The lock's connection ended (a database restart): the lock is gone, another run may start. */
    lost(): boolean;
    release(): Promise<void>;
}

/**
 * A session-level advisory lock held on a dedicated connection for the whole run. It is released
 * when the run ends, or by Postgres when the process dies. A transaction-mode pooler (PgBouncer
 * pool_mode=transaction) breaks session locks: point DATABASE_URL at Postgres or a session pooler.
 */
export async function acquireRunLock(url: string): Promise<RunLock> {
    const client = new pg.Client({ connectionString: url, application_name: 'tokenmart run lock' });
    await client.connect();
    let lost = false;
    client.on('error', () => (lost = true));
    client.on('end', () => (lost = true));
    const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [RUN_LOCK_KEY]);
    const acquired = rows[0].ok;
    if (!acquired) await client.end();
    return {
        acquired,
        lost: () => lost,
        release: async () => {
            if (!acquired) return;
            await client.query('select pg_advisory_unlock($1)', [RUN_LOCK_KEY]).catch(() => undefined);
            await client.end().catch(() => undefined);
        },
    };
}
