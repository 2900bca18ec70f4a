import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ListBucketsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest, type IngestOptions } from '../pipelines/ingest/ingest.js';
import { localSource } from '../pipelines/ingest/sources/local-source.js';
import { createS3Client, s3Source } from '../pipelines/ingest/sources/s3-source.js';
import { event, jsonl, tempDir, writeLog } from './support/event-fixtures.js';
import { azureTraceEvents, mooncakeEvents, realdataKind, realFile } from './support/realdata.js';
import { projectDir, runCli, startCli } from './support/run-cli.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { waitUntil } from './support/wait.js';

const options: IngestOptions = { maxErrorRate: 0.05, onChangedFile: 'fail', keepText: false, userIdHmacKey: undefined };

let t: TestDatabase;
beforeAll(async () => {
    t = await createTestDatabase('ingest_real');
});
afterAll(async () => {
    await t.drop();
});

async function freePort(): Promise<number> {
    return new Promise((resolve) => {
        const srv = createServer();
        srv.listen(0, '127.0.0.1', () => {
            const port = (srv.address() as { port: number }).port;
            srv.close(() => resolve(port));
        });
    });
}

describe(`ingest: real public traces (${realdataKind})`, () => {
    it('loads the Azure code and conversation traces and the Mooncake trace with every row and token accounted for', async () => {
        const dir = tempDir('real');
        const code = realFile('azureCode');
        const conv = realFile('azureConv');
        const moon = realFile('mooncake');
        writeLog(dir, 'azure/code.jsonl.gz', jsonl(azureTraceEvents(code.path, 'code')));
        writeLog(dir, 'azure/conv.jsonl', jsonl(azureTraceEvents(conv.path, 'conv')));
        writeLog(dir, 'mooncake/trace.jsonl.gz', jsonl(mooncakeEvents(moon.path, '2026-11-01T00:00:00Z')));
        const s = await ingest(t.handle.pool, localSource(dir), options);
        expect(s.filesLoaded).toBe(3);
        expect(s.rowsLoaded).toBe(code.rows + conv.rows + moon.rows);
        expect(s.rowsQuarantined + s.blankLines).toBe(0);
        // Token sums as counted with awk/python over the source files (test/fixtures/realdata/PROVENANCE.md).
        const sums = await t.query(`
            select case when request_id like 'azure_code_%' then 'code' when request_id like 'azure_conv_%' then 'conv' else 'mooncake' end as trace,
                count(*)::int as n, sum(input_tokens)::text as input, sum(output_tokens)::text as output
            from raw.events where request_id like 'azure_%' or request_id like 'mooncake_%' group by 1 order by 1`);
        expect(sums).toEqual([
            { trace: 'code', n: code.rows, input: String(code.input), output: String(code.output) },
            { trace: 'conv', n: conv.rows, input: String(conv.input), output: String(conv.output) },
            { trace: 'mooncake', n: moon.rows, input: String(moon.input), output: String(moon.output) },
        ]);
        const [first] = await t.query("select event_at from raw.events where request_id = 'azure_code_0'");
        expect((first.event_at as Date).toISOString()).toBe('2023-11-16T18:17:03.979Z'); // the file's first row, 18:17:03.9799600 with no zone
    });
});

describe('ingest: S3 through a real S3 protocol server', () => {
    let server: ChildProcess;
    let endpoint: string;
    beforeAll(async () => {
        const port = await freePort();
        endpoint = `http://127.0.0.1:${port}`;
        server = spawn(
            process.execPath,
            [
                join(projectDir, 'node_modules/s3rver/bin/s3rver.js'),
                '-d',
                tempDir('s3rver'),
                '-a',
                '127.0.0.1',
                '-p',
                String(port),
                '-s',
                '--configure-bucket',
                'logs',
            ],
            {
                // s3rver's ListObjectsV2 continuation tokens need the legacy OpenSSL provider on Node 17+.
                env: { ...process.env, NODE_OPTIONS: '--openssl-legacy-provider' },
                stdio: 'ignore',
            },
        );
        // Ready means: a signed request (s3rver's fixed credentials) lists the configured bucket.
        process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
        process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
        const client = createS3Client(endpoint);
        const ready = await waitUntil(async () => ((await client.send(new ListBucketsCommand({}))).Buckets ?? []).some((b) => b.Name === 'logs'), 30_000, 100);
        expect(ready, `s3rver did not answer a signed ListBuckets on ${endpoint} within 30 s`).toBe(true);
    });
    afterAll(() => {
        server?.kill();
    });

    it('lists over several pages, streams gzip objects, and loads each object exactly once', async () => {
        process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
        process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
        const client = createS3Client(endpoint);
        for (let f = 0; f < 23; f++) {
            const body = jsonl(Array.from({ length: 40 }, (_, i) => event(i, { request_id: `s3_${f}_${i}` })));
            await client.send(new PutObjectCommand({ Bucket: 'logs', Key: `usage/2026/11/${String(f).padStart(2, '0')}.jsonl.gz`, Body: gzipSync(body) }));
        }
        await client.send(new PutObjectCommand({ Bucket: 'logs', Key: 'usage/README.txt', Body: 'not a log' }));
        const source = s3Source('s3://logs/usage/', endpoint, { client, pageSize: 10 });
        const s = await ingest(t.handle.pool, source, options);
        expect(s.filesLoaded).toBe(23);
        expect(s.rowsLoaded).toBe(23 * 40);
        const [m] = await t.query("select count(*)::int as n, min(content_id) as c from ops.load_manifest where source_uri like 's3://logs/usage/%'");
        expect(m.n).toBe(23);
        expect(m.c).toMatch(/^etag:/);
        const again = await ingest(t.handle.pool, source, options);
        expect(again.filesSkipped).toBe(23);
        expect(again.rowsLoaded).toBe(0);
    });

    it('fails fast with one line when the bucket does not exist', async () => {
        const r = await runCli(['ingest', 's3://no-such-bucket/x', '--endpoint', endpoint], {
            DATABASE_URL: t.url,
            AWS_ACCESS_KEY_ID: 'S3RVER',
            AWS_SECRET_ACCESS_KEY: 'S3RVER',
        });
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/^tokenmart: ingest: S3 bucket no-such-bucket: NoSuchBucket: .*check the bucket name$/m);
    });
});

describe('ingest: crash safety and the CLI', () => {
    it('a loader killed mid-file (SIGKILL) leaves no rows of that file; the rerun loads it exactly once', async () => {
        const dir = tempDir('kill');
        const n = 250_000;
        const p = writeLog(dir, 'big.jsonl', jsonl(Array.from({ length: n }, (_, i) => event(i, { request_id: `kill_${i}` }))));
        const { child, done } = startCli(['ingest', dir], { DATABASE_URL: t.url });
        // Wait until the COPY of this file is under way on the server, then kill the loader hard.
        const copying = await waitUntil(
            async () =>
                (
                    await t.query(
                        'select 1 from pg_stat_progress_copy c join pg_database d on d.oid = c.datid where d.datname = current_database() and c.tuples_processed > 1000',
                    )
                ).length > 0,
        );
        expect(copying).toBe(true);
        child.kill('SIGKILL');
        const killed = await done;
        expect(killed.signal).toBe('SIGKILL');
        // The server aborts the dead client's transaction: nothing of the file, no manifest row.
        await waitUntil(
            async () => (await t.query("select 1 from pg_stat_activity where datname = current_database() and query ilike 'copy raw.events%'")).length === 0,
        );
        const [before] = await t.query("select count(*)::int as n from raw.events where request_id like 'kill_%'");
        expect(before.n).toBe(0);
        const [m0] = await t.query('select count(*)::int as n from ops.load_manifest where source_uri = $1', [pathToFileURL(p).href]);
        expect(m0.n).toBe(0);
        const rerun = await runCli(['ingest', dir], { DATABASE_URL: t.url });
        expect(rerun.code).toBe(0);
        expect(rerun.stderr).toContain(`${n} loaded + 0 quarantined + 0 blank = ${n} records in ${n} lines`);
        const [after] = await t.query("select count(*)::int as n, count(distinct request_id)::int as d from raw.events where request_id like 'kill_%'");
        expect(after).toEqual({ n, d: n });
    }, 120_000);

    it('exits non-zero with one line naming the file when a file is not loaded; zero when all loaded', async () => {
        const dir = tempDir('cli');
        writeLog(dir, 'good.jsonl', jsonl([event(1, { request_id: 'cli_1' })]));
        const ok = await runCli(['ingest', dir], { DATABASE_URL: t.url });
        expect(ok.code).toBe(0);
        expect(ok.stderr).toContain('1 loaded + 0 quarantined + 0 blank = 1 records in 1 lines');
        writeLog(dir, 'bad.jsonl', 'garbage\n');
        const bad = await runCli(['ingest', dir], { DATABASE_URL: t.url });
        expect(bad.code).toBe(1);
        expect(bad.stderr).toMatch(/ingest: FAILED file:\/\/.*bad\.jsonl: 1 of 1 records are invalid .*first: line 1: invalid JSON/);
        expect(bad.stderr).toMatch(/^tokenmart: ingest: 1 file\(s\) not loaded/m);
        const unreachable = await runCli(['ingest', dir], { DATABASE_URL: 'postgres://x:y@127.0.0.1:9/none' });
        expect(unreachable.code).toBe(1);
        expect(unreachable.stderr.trim()).toMatch(/^tokenmart: db: cannot connect to postgres:\/\/x:\*\*\*@127\.0\.0\.1:9\/none .*check DATABASE_URL/);
    });

    it('keeps a failing exit code when it had to initialise the embedded server first', async () => {
        const home = tempDir('embedded-home');
        const env = { DATABASE_URL: '', TOKENMART_HOME: home, TOKENMART_PG_PORT: '54349' };
        try {
            const r = await runCli(['ingest', '/nonexistent-logs'], env);
            expect(r.stderr).toContain('db: initialising embedded PostgreSQL');
            expect(r.stderr).toMatch(/^tokenmart: ingest: source \/nonexistent-logs does not exist/m);
            expect(r.code).toBe(1);
            const url = await runCli(['db', 'url'], env);
            expect(url.stdout.trim()).toBe('postgres://postgres:tokenmart@127.0.0.1:54349/tokenmart');
        } finally {
            await runCli(['db', 'stop'], env);
        }
    }, 60_000);
});
