import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListBucketsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { loadConfig } from '../pipelines/config/config.js';
import { closeDatabase, openDatabase } from '../pipelines/db/connect.js';
import { migrateToLatest } from '../pipelines/db/migrate.js';
import { ingest } from '../pipelines/ingest/ingest.js';
import { localSource } from '../pipelines/ingest/sources/local-source.js';
import { createS3Client, s3Source } from '../pipelines/ingest/sources/s3-source.js';
import type { Source } from '../pipelines/ingest/sources/source.js';
import { projectRoot } from '../pipelines/util/project-root.js';
import { fmt, freshBenchDatabase } from './bench-database.js';

/**
 * bench:ingest --small [N]: N one-request objects (as a gateway writes them: one JSON object per
 * request, ~500 bytes), from a directory and from S3 (s3rver, a real S3 protocol server), loaded
 * by the batched loader (small files share a transaction) and by the one-transaction-per-file
 * loader it replaced, in the same run on the same server. Prints objects/s and the ratios.
 */
export async function benchSmallObjects(n: number): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'tokenmart-small-'));
    const body = (i: number) =>
        `${JSON.stringify({
            schema_version: 2,
            request_id: `small_${i}`,
            timestamp: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(),
            provider: 'openai',
            model: 'gpt-4o-mini',
            input_tokens: 800 + (i % 400),
            output_tokens: 120,
            cache_read_tokens: 256,
            status: 'ok',
            latency_ms: 640,
            team: 'support',
            feature: 'support-chat',
            tenant: 'acme',
            user_id: `user_${i % 900}`,
            session_id: `s_${i % 5000}`,
        })}\n`;
    const key = (i: number) => `${String(Math.floor(i / 1000)).padStart(4, '0')}/req-${String(i).padStart(7, '0')}.json`;
    console.log(`bench:ingest --small: writing ${fmt(n)} one-request objects ...`);
    for (let i = 0; i < n; i++) {
        if (i % 1000 === 0) mkdirSync(join(dir, key(i), '..'), { recursive: true });
        writeFileSync(join(dir, key(i)), body(i));
    }

    const measure = async (label: string, source: () => Source, unbatched: boolean): Promise<number> => {
        const url = await freshBenchDatabase(`tokenmart_bench_small_${unbatched ? 'perfile' : 'batched'}`);
        const handle = await openDatabase(loadConfig({ env: { DATABASE_URL: url } }));
        await migrateToLatest(handle.db);
        const started = process.hrtime.bigint();
        const s = await ingest(handle.pool, source(), { maxErrorRate: 0.05, onChangedFile: 'fail', keepText: false, userIdHmacKey: undefined, unbatched });
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        await closeDatabase(handle);
        if (s.filesLoaded !== n || s.rowsLoaded !== n) throw new Error(`${label}: loaded ${s.filesLoaded} files, ${s.rowsLoaded} rows, expected ${n}`);
        console.log(`${label.padEnd(34)}: ${fmt(n)} objects in ${seconds.toFixed(1)} s = ${fmt(n / seconds)} objects/s`);
        return n / seconds;
    };

    const dirBatched = await measure('(a) directory, batched', () => localSource(dir), false);
    const dirPerFile = await measure('(b) directory, one transaction each', () => localSource(dir), true);
    console.log(`ratio (a)/(b)                      : ${(dirBatched / dirPerFile).toFixed(2)}x`);

    // S3: s3rver with its fixed credentials, the objects uploaded 32 at a time.
    const s3dir = mkdtempSync(join(tmpdir(), 'tokenmart-s3rver-'));
    const port = 40000 + Math.floor(Math.random() * 20000);
    const endpoint = `http://127.0.0.1:${port}`;
    const server: ChildProcess = spawn(
        process.execPath,
        [join(projectRoot, 'node_modules/s3rver/bin/s3rver.js'), '-d', s3dir, '-a', '127.0.0.1', '-p', String(port), '-s', '--configure-bucket', 'logs'],
        { env: { ...process.env, NODE_OPTIONS: '--openssl-legacy-provider' }, stdio: 'ignore' },
    );
    try {
        process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
        process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
        const client = createS3Client(endpoint);
        for (let waited = 0; ; waited += 100) {
            const ok = await client
                .send(new ListBucketsCommand({}))
                .then((r) => (r.Buckets ?? []).some((b) => b.Name === 'logs'))
                .catch(() => false);
            if (ok) break;
            if (waited > 30_000) throw new Error('s3rver did not start within 30 s');
            await new Promise((r) => setTimeout(r, 100));
        }
        const up = Date.now();
        for (let i = 0; i < n; i += 32)
            await Promise.all(
                Array.from({ length: Math.min(32, n - i) }, (_, k) =>
                    client.send(new PutObjectCommand({ Bucket: 'logs', Key: `gw/${key(i + k)}`, Body: body(i + k) })),
                ),
            );
        console.log(`bench:ingest --small: uploaded ${fmt(n)} objects to s3rver in ${((Date.now() - up) / 1000).toFixed(1)} s`);
        const s3Batched = await measure('(c) S3 (s3rver), batched', () => s3Source('s3://logs/gw/', endpoint, { client }), false);
        const s3PerFile = await measure('(d) S3 (s3rver), one transaction each', () => s3Source('s3://logs/gw/', endpoint, { client }), true);
        console.log(`ratio (c)/(d)                      : ${(s3Batched / s3PerFile).toFixed(2)}x`);
    } finally {
        server.kill();
        rmSync(s3dir, { recursive: true, force: true });
        rmSync(dir, { recursive: true, force: true });
    }
}
