import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { loadConfig, type Config } from '../../pipelines/config/config.js';
import { closeDatabase, openDatabase, type DatabaseHandle } from '../../pipelines/db/connect.js';
import { migrateToLatest } from '../../pipelines/db/migrate.js';

export interface TestDatabase {
    readonly url: string;
    readonly config: Config;
    readonly handle: DatabaseHandle;
    query<R extends pg.QueryResultRow = any>(text: string, params?: unknown[]): Promise<R[]>;
    drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
    const u = new URL(url);
    u.pathname = `/${name}`;
    return u.toString();
}

/** A fresh, migrated database on the shared test server; `drop()` removes it. */
export async function createTestDatabase(label: string, overrides: Partial<Config> = {}): Promise<TestDatabase> {
    const adminUrl = inject('adminUrl');
    const name = `tm_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(3).toString('hex')}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = withDatabase(adminUrl, name);
    const config: Config = { ...loadConfig({ env: { DATABASE_URL: url }, cwd: '/nonexistent-config-dir' }), ...overrides };
    const handle = await openDatabase(config);
    await migrateToLatest(handle.db);
    return {
        url,
        config,
        handle,
        async query(text, params) {
            return (await handle.pool.query(text, params)).rows;
        },
        async drop() {
            await closeDatabase(handle);
            const a = new pg.Client({ connectionString: adminUrl });
            await a.connect();
            await a.query(`drop database if exists ${name} with (force)`);
            await a.end();
        },
    };
}

/** A fresh database for the enclosing describe block (or file): created before its tests, dropped after them. */
export function useTestDatabase(label: string): () => TestDatabase {
    let t: TestDatabase | undefined;
    beforeAll(async () => {
        t = await createTestDatabase(label);
    });
    afterAll(async () => {
        await t?.drop();
    });
    return () => {
        if (!t) throw new Error(`test database ${label} is not created yet: use it inside a test`);
        return t;
    };
}

/**
 * Count and hash of every row of the marts a run produces: equal fingerprints, equal marts.
 * `withoutLineage` leaves out where each request was read from (file id, line), for comparing
 * databases loaded from different files.
 */
export async function martFingerprint(
    t: Pick<TestDatabase, 'query'>,
    options: { withoutLineage?: boolean; lineageByUri?: boolean } = {},
): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    // File ids come from a sequence, which a killed load still advances: compare the file's URI instead.
    const byUri =
        "(to_jsonb(m) - 'source_file_id' || jsonb_build_object('source_uri', (select l.source_uri from ops.load_manifest as l where l.file_id = (to_jsonb(m) ->> 'source_file_id')::bigint)))";
    const row = options.withoutLineage ? "(to_jsonb(m) - 'source_file_id' - 'source_line_no')" : options.lineageByUri ? byUri : 'to_jsonb(m)';
    for (const rel of ['marts.fct_requests', 'marts.mart_daily_cost', 'marts.mart_daily_usage', 'marts.mart_daily_quality']) {
        const [r] = await t.query(`select count(*)::text as n, md5(string_agg(${row}::text, '|' order by ${row}::text)) as h from ${rel} as m`);
        out[rel] = `${r.n}:${r.h}`;
    }
    return out;
}
