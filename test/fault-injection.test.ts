import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureEmbeddedServer, stopEmbeddedServer } from '../pipelines/db/embedded-server.js';
import { generateDemoLogs } from '../pipelines/demo/generate-demo-logs.js';
import { Random } from '../pipelines/demo/random.js';
import { isoDay } from '../reports/period.js';
import { jsonl, tempDir, writeLog } from './support/event-fixtures.js';
import { FakeSlack } from './support/fake-slack.js';
import { projectDir, runCli, startCli, waitForStderr } from './support/run-cli.js';
import { createTestDatabase, martFingerprint, type TestDatabase, useTestDatabase } from './support/test-database.js';

/**
 * Faults a scheduled pipeline meets: the process killed (SIGKILL) anywhere in a load or a build,
 * the database restarted under a run, the disk full during a load or while writing the PDF. After
 * each, a rerun must leave what one clean run of the same data leaves, and nothing that needs a
 * person: no spool, no half-written file, no delivery claimed and never sent.
 */
const logs = join(tempDir('fault-logs'), 'logs');
const yesterday = isoDay(Date.now() - 86_400_000);
generateDemoLogs({ outDir: logs, endDate: yesterday, days: 28, seed: 21, scale: 0.4 });

async function rawByFile(t: TestDatabase): Promise<Map<string, number>> {
    const rows = await t.query(
        "select m.source_uri as uri, count(e.*)::int as n from ops.load_manifest m left join raw.events e using (file_id) where m.status = 'loaded' group by 1",
    );
    return new Map(rows.map((r) => [r.uri as string, r.n as number]));
}

describe('fault injection', () => {
    const clean = useTestDatabase('fault_clean');
    let baseline: { marts: Record<string, string>; raw: Map<string, number> };

    beforeAll(async () => {
        const r = await runCli(['run', '--daily'], {
            DATABASE_URL: clean().url,
            TOKENMART_SOURCE: logs,
            TOKENMART_OUTPUT_DIR: tempDir('fault-out'),
            SLACK_BOT_TOKEN: '',
        });
        expect(r.code, r.stderr).toBe(0);
        baseline = { marts: await martFingerprint(clean(), { lineageByUri: true }), raw: await rawByFile(clean()) };
    }, 120_000);

    it('24 SIGKILLs at random points of loads and builds (seed 2026): the last run leaves the clean marts, no row lost or doubled', async () => {
        const t = await createTestDatabase('fault_kills');
        const spool = join(tempDir('fault-home'), '.tokenmart');
        // Batches of 4 small files, so a load commits several times and a kill can land between.
        const config = join(tempDir('fault-config'), 'tokenmart.config.json');
        writeFileSync(config, JSON.stringify({ ingest: { batchFiles: 4 } }));
        const env = {
            DATABASE_URL: t.url,
            TOKENMART_SOURCE: logs,
            TOKENMART_OUTPUT_DIR: tempDir('fault-out'),
            SLACK_BOT_TOKEN: '',
            TOKENMART_HOME: spool,
            TOKENMART_CONFIG: config,
        };
        const rng = new Random(2026);
        let kills = { ingest: 0, build: 0 };
        let finishedFirst = 0;
        try {
            for (let k = 0; k < 24; k++) {
                const which = k % 2 === 0 ? 'ingest' : 'build';
                // Kills land by progress, not by clock, so each one hits work in flight: a load after 0
                // or 1 committed batches (of 4 small files: ingest.batchFiles in this test's config) and
                // up to 300 ms into the next (loads resume where the last one died); a full build after 1
                // to 10 finished models and up to 300 ms into the next.
                const { child, done } = startCli(which === 'ingest' ? ['ingest', logs] : ['build', '--full-refresh'], env);
                const after = which === 'ingest' ? Math.floor(rng.next() * 2) : 1 + Math.floor(rng.next() * 10);
                const marker = which === 'ingest' ? (after ? /ingest: loaded/ : /ingest: reading/) : /build: (SUCCESS|UP_TO_DATE) /;
                await Promise.race([waitForStderr(child, marker, 60_000, which === 'ingest' ? 1 : after).catch(() => undefined), done]);
                await new Promise((r) => setTimeout(r, Math.floor(rng.next() * 300)));
                if (child.exitCode === null) {
                    child.kill('SIGKILL');
                    kills = { ...kills, [which]: kills[which] + 1 };
                } else finishedFirst++;
                await done;
            }
            const final = await runCli(['run', '--daily'], env);
            expect(final.code, final.stderr).toBe(0);
            const raw = await rawByFile(t);
            let lost = 0;
            let doubled = 0;
            for (const [uri, n] of baseline.raw) {
                const got = raw.get(uri) ?? 0;
                lost += Math.max(0, n - got);
                doubled += Math.max(0, got - n);
            }
            process.stderr.write(
                `fault injection: ${kills.ingest + kills.build} kills survived (${kills.ingest} in loads, ${kills.build} in builds; ${finishedFirst} attempts finished before their kill), rows lost ${lost}, rows duplicated ${doubled}\n`,
            );
            expect(kills.ingest + kills.build).toBeGreaterThanOrEqual(20);
            expect([lost, doubled]).toEqual([0, 0]);
            expect(raw.size).toBe(baseline.raw.size);
            expect(await martFingerprint(t, { lineageByUri: true })).toEqual(baseline.marts);
            // Nothing needs a person: no spool left, no run still marked running.
            expect(existsSync(join(spool, 'spool')) ? readdirSync(join(spool, 'spool')) : []).toEqual([]);
            expect(await t.query("select count(*)::int as n from ops.runs where status = 'running'")).toEqual([{ n: 0 }]);
        } finally {
            await t.drop();
        }
    }, 300_000);

    it('the database restarted in the middle of a run: that run fails in one line; the next leaves the clean marts and one digest', async () => {
        // A server of this test's own, so a restart disturbs nothing else.
        const home = tempDir('fault-pg');
        const options = { home, port: 54000 + Math.floor(Math.random() * 900) };
        const url = await ensureEmbeddedServer(options);
        const slack = new FakeSlack();
        await slack.start();
        try {
            const env = {
                DATABASE_URL: url,
                TOKENMART_SOURCE: logs,
                TOKENMART_OUTPUT_DIR: tempDir('fault-out'),
                SLACK_BOT_TOKEN: slack.token,
                SLACK_API_URL: slack.url,
            };
            const { child, done } = startCli(['run', '--daily'], env);
            await waitForStderr(child, /run: stage build started/, 90_000);
            await stopEmbeddedServer(options);
            await ensureEmbeddedServer(options);
            const broken = await done;
            expect(broken.code).toBe(1);
            expect(broken.stderr.trim().split('\n').at(-1)).toMatch(/^tokenmart: run [0-9a-f-]{36} failed: /);
            expect(broken.stderr).not.toMatch(/\n\s+at /);
            const rerun = await runCli(['run', '--daily'], env);
            expect(rerun.code, rerun.stderr).toBe(0);
            const client = new pg.Client({ connectionString: url });
            await client.connect();
            try {
                expect(await martFingerprint({ query: async (text: string) => (await client.query(text)).rows }, { lineageByUri: true })).toEqual(
                    baseline.marts,
                );
            } finally {
                await client.end();
            }
            expect(slack.messages.map((m) => m.text.split(':')[0])).toEqual([`LLM spend ${yesterday}`]);
        } finally {
            await slack.stop();
            await stopEmbeddedServer(options);
        }
    }, 300_000);

    it('a full disk during a load and while writing the PDF: one line, nothing half written, the rerun completes', async () => {
        const t = await createTestDatabase('fault_disk');
        const home = join(tempDir('fault-disk-home'), '.tokenmart');
        const dir = tempDir('fault-disk-logs');
        // 1,000 bad lines: their spool (about 1.2 MB) outgrows a 64 KiB file-size limit (RLIMIT_FSIZE,
        // which a process sees as EFBIG, as it sees ENOSPC on a full disk). The file is over 1 MiB, so
        // it is loaded alone and streamed, its quarantine spooled to disk (small files' is in memory).
        const lines = Array.from({ length: 2000 }, (_, i) =>
            i % 2
                ? `{"broken": ${i}, "pad": "${'x'.repeat(1200)}"`
                : JSON.stringify({
                      schema_version: 1,
                      request_id: `d_${i}`,
                      timestamp: `${yesterday}T10:00:00Z`,
                      provider: 'openai',
                      model: 'gpt-4o',
                      input_tokens: 10,
                      output_tokens: 1,
                      status: 'ok',
                  }),
        );
        writeLog(dir, 'mostly-bad.jsonl', jsonl(lines));
        const limited = (args: string[]) =>
            execFileSync('bash', ['-c', `ulimit -f 64; exec node --import tsx ${join(projectDir, 'pipelines/cli/main.ts')} "$@"`, '_', ...args], {
                cwd: projectDir,
                env: { ...process.env, DATABASE_URL: t.url, TOKENMART_HOME: home, NO_COLOR: '1' },
                encoding: 'utf8',
                stdio: ['ignore', 'pipe', 'pipe'],
            });
        try {
            let stderr = '';
            try {
                limited(['ingest', dir, '--max-error-rate', '1']);
            } catch (err) {
                stderr = (err as { stderr: string }).stderr;
            }
            expect(stderr).toMatch(
                /ingest: FAILED file:\/\/.*mostly-bad\.jsonl: no room to spool quarantined lines in .*spool \(EFBIG\) at line [1-9]\d*; nothing of the file was loaded: free disk space/,
            );
            expect(await t.query('select count(*)::int as n from raw.events')).toEqual([{ n: 0 }]);
            const again = await runCli(['ingest', dir, '--max-error-rate', '1'], { DATABASE_URL: t.url, TOKENMART_HOME: home });
            expect(again.code, again.stderr).toBe(0);
            expect(again.stderr).toMatch(/1000 loaded \+ 1000 quarantined \+ 0 blank = 2000 records in 2000 lines/);
            expect(readdirSync(join(home, 'spool'))).toEqual([]);
            // The PDF: the renderer's output cannot be written whole; no file named like the report is left.
            expect((await runCli(['build'], { DATABASE_URL: t.url })).code).toBe(0);
            const out = tempDir('fault-disk-out');
            // Chromium must start unhindered (it writes its profile), so the 16 KiB limit is put on the
            // node process only once the browser is its child; the HTML and the PDF are written after.
            const { child, done } = startCli(['report', 'weekly', '--out', out], { DATABASE_URL: t.url });
            for (let i = 0; i < 3000 && child.exitCode === null; i++) {
                const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').split(' ').filter(Boolean);
                if (kids.some((pid) => /chrom/i.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8')))) {
                    execFileSync('prlimit', [`--pid=${child.pid}`, '--fsize=16384']);
                    break;
                }
                await new Promise((r) => setTimeout(r, 10));
            }
            const pdfErr = (await done).stderr;
            expect(pdfErr.trim().split('\n').at(-1)).toMatch(/^tokenmart: cannot write .*weekly-\d{4}-W\d{2}\.(html|pdf) \(EFBIG\); choose another --out/);
            expect(readdirSync(out).filter((f) => f.endsWith('.pdf') || f.endsWith('.tmp'))).toEqual([]);
            const report = await runCli(['report', 'weekly', '--out', out], { DATABASE_URL: t.url });
            expect(report.code, report.stderr).toBe(0);
            expect(readdirSync(out).filter((f) => f.endsWith('.pdf'))).toHaveLength(1);
        } finally {
            await t.drop();
        }
    }, 180_000);
});
