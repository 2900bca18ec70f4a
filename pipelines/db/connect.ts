import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Config } from '../config/config.js';
import { UserError } from '../util/errors.js';
import type { DB } from './database.js';
import { embeddedOptions, ensureEmbeddedServer } from './embedded-server.js';

// bigint (count(*), sum of integers) and numeric come back as strings: money stays exact and the
// code converts only where it must display a figure. A date is its ISO text (2026-11-23), never a
// Date at some local midnight. The generated types (database.ts) say the same.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v);
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);

export interface DatabaseHandle {
    readonly url: string;
    readonly pool: pg.Pool;
    readonly db: Kysely<DB>;
    readonly embedded: boolean;
}

/** DATABASE_URL when set, else the embedded server (started if needed). */
export async function resolveDatabaseUrl(config: Config, log?: (line: string) => void): Promise<{ url: string; embedded: boolean }> {
    if (config.databaseUrl) return { url: config.databaseUrl, embedded: false };
    return { url: await ensureEmbeddedServer(embeddedOptions(), log), embedded: true };
}

export function redactUrl(url: string): string {
    return url.replace(/(\/\/[^:/@]+):[^@]*@/, '$1:***@');
}

export async function openDatabase(config: Config, log?: (line: string) => void): Promise<DatabaseHandle> {
    const { url, embedded } = await resolveDatabaseUrl(config, log);
    const pool = new pg.Pool({ connectionString: url, max: 6, connectionTimeoutMillis: 10_000 });
    // A connection that dies (a database restart) must not crash the process: the query that needed
    // it fails with the reason. The pool's own listener covers idle clients only; this covers the
    // ones checked out between queries (a build holds one for all its models).
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    try {
        const client = await pool.connect();
        client.release();
    } catch (err) {
        await pool.end().catch(() => undefined);
        throw new UserError(`db: cannot connect to ${redactUrl(url)} (${(err as Error).message}); check DATABASE_URL and that the server is up`);
    }
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    return { url, pool, db, embedded };
}

export async function closeDatabase(handle: DatabaseHandle): Promise<void> {
    await handle.db.destroy(); // ends the pool too
}
