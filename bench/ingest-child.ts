import { createReadStream, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { createGunzip } from 'node:zlib';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { loadConfig } from '../pipelines/config/config.js';
import { closeDatabase, openDatabase } from '../pipelines/db/connect.js';
import { migrateToLatest } from '../pipelines/db/migrate.js';
import { ingest } from '../pipelines/ingest/ingest.js';
import { localSource } from '../pipelines/ingest/sources/local-source.js';

/**
 * One measured side of bench:ingest, in its own process so its peak RSS is its own.
 * argv: mode (tokenmart | copy), database URL, log directory. Prints one JSON line.
 */
const [mode, url, dir] = process.argv.slice(2);

async function plainCopy(): Promise<number> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('create table if not exists baseline (doc jsonb)');
    let rows = 0;
    for (const name of readdirSync(dir).sort()) {
        const copy = client.query(copyStreams.from('copy baseline (doc) from stdin'));
        const done = new Promise((resolve, reject) => {
            copy.on('finish', resolve);
            copy.on('error', reject);
        });
        let carry = '';
        for await (const chunk of createReadStream(join(dir, name)).pipe(createGunzip())) {
            const text = carry + (chunk as Buffer).toString('utf8');
            const cut = text.lastIndexOf('\n') + 1;
            carry = text.slice(cut);
            const body = text.slice(0, cut);
            for (let i = body.indexOf('\n'); i !== -1; i = body.indexOf('\n', i + 1)) rows++;
            // COPY text format: only backslashes need escaping in JSON lines.
            if (!copy.write(body.replaceAll('\\', '\\\\'))) await once(copy, 'drain');
        }
        copy.end();
        await done;
    }
    await client.end();
    return rows;
}

/** The loader alone: the schema is migrated before the clock starts, as it is in any real run. */
async function tokenmartIngest(): Promise<{ rows: number; seconds: number }> {
    const config = loadConfig({ env: { DATABASE_URL: url } });
    const handle = await openDatabase(config);
    await migrateToLatest(handle.db);
    const started = process.hrtime.bigint();
    const s = await ingest(handle.pool, localSource(dir), { maxErrorRate: 0.05, onChangedFile: 'fail', keepText: false, userIdHmacKey: undefined });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await closeDatabase(handle);
    return { rows: s.rowsLoaded, seconds };
}

async function timedCopy(): Promise<{ rows: number; seconds: number }> {
    const started = process.hrtime.bigint();
    const rows = await plainCopy();
    return { rows, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

const { rows, seconds } = mode === 'copy' ? await timedCopy() : await tokenmartIngest();
process.stdout.write(`${JSON.stringify({ mode, rows, seconds, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
