import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { createWriteStream, writeFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { buildModels } from '../pipelines/transform/build.js';
import { buildDag } from '../pipelines/transform/dag.js';
import { loadProject } from '../pipelines/transform/project.js';
import { event, jsonl, tempDir } from './support/event-fixtures.js';
import { writeModels } from './support/models-fixture.js';
import { startCli } from './support/run-cli.js';
import { useTestDatabase } from './support/test-database.js';

/** Runs the real CLI and samples its peak resident set (VmHWM, the kernel's high-water mark) until it exits. */
async function peakRss(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; peakMb: number; stderr: string }> {
    const { child, done } = startCli(args, env);
    let peakKb = 0;
    const sample = () => {
        try {
            const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
        } catch {
            // the process has exited
        }
    };
    const timer = setInterval(sample, 25);
    const result = await done;
    clearInterval(timer);
    return { code: result.code, peakMb: peakKb / 1024, stderr: result.stderr };
}

describe('what the test names promise, measured', () => {
    const db = useTestDatabase('measured');

    it('memory stays flat however many lines a file quarantines (peak RSS of the CLI, from /proc)', async () => {
        const small = tempDir('rss-small');
        writeFileSync(join(small, 'ok.jsonl'), jsonl([event(1, { request_id: 'rss_ok' })]));
        // 120,000 invalid lines of ~2,400 characters (288 MB of bad text) among 30,000 good ones: holding
        // the quarantined lines (even cut to 2,000 characters: 240 MB) in memory could not stay under the bound.
        const big = tempDir('rss-big');
        const bad = `{"broken": "${'x'.repeat(2400)}"\n`;
        const gzip = createGzip();
        const written = pipeline(gzip, createWriteStream(join(big, 'mostly-bad.jsonl.gz')));
        for (let i = 0; i < 150_000; i++) {
            if (!gzip.write(i % 5 === 0 ? `${JSON.stringify(event(i, { request_id: `rss_${i}` }))}\n` : bad)) await once(gzip, 'drain');
        }
        gzip.end();
        await written;
        const env = { DATABASE_URL: db().url };
        const baseline = await peakRss(['ingest', small], env);
        expect(baseline.code, baseline.stderr).toBe(0);
        const quarantined = await peakRss(['ingest', big, '--max-error-rate', '1'], env);
        expect(quarantined.code, quarantined.stderr).toBe(0);
        expect(quarantined.stderr).toMatch(/30000 loaded \+ 120000 quarantined \+ 0 blank = 150000 records in 150000 lines/);
        const [q] = await db().query("select count(*)::int as n from ops.quarantine where source_uri like '%mostly-bad.jsonl.gz'");
        expect(q.n).toBe(120_000);
        process.stderr.write(
            `measured: peak RSS ${baseline.peakMb.toFixed(0)} MB loading 1 line, ${quarantined.peakMb.toFixed(0)} MB quarantining 120,000 lines (288 MB)\n`,
        );
        expect(quarantined.peakMb - baseline.peakMb).toBeLessThan(160);
    }, 180_000);

    it('a table model is swapped in one transaction: a concurrent reader never sees it missing, empty or half-built', async () => {
        const root = writeModels({
            'staging/n.sql': 'select 100000 as n',
            'marts/swapped.sql': 'select g as id from generate_series(1, (select n from staging.n)) as g',
        });
        const build = async (n: number) => {
            writeFileSync(join(root, 'staging/n.sql'), `select ${n} as n`);
            const project = loadProject(root);
            const result = await buildModels(db().handle.pool, project, await buildDag(project));
            expect(result.ok).toBe(true);
        };
        await build(100_000);
        const reader = new pg.Client({ connectionString: db().url });
        await reader.connect();
        const seen = new Map<string, number>();
        let stop = false;
        const reading = (async () => {
            while (!stop) {
                const outcome = await reader
                    .query('select count(*)::int as n, min(id) as lo, max(id) as hi from marts.swapped')
                    .then((r) => `${r.rows[0].n}:${r.rows[0].lo}-${r.rows[0].hi}`)
                    .catch((err: Error) => `error: ${err.message}`);
                seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
            }
        })();
        for (let i = 0; i < 12; i++) await build(i % 2 ? 100_000 : 200_000);
        stop = true;
        await reading;
        await reader.end();
        // Only whole versions: 100,000 rows (ids 1-100000) or 200,000 (ids 1-200000); no error, no empty table.
        expect([...seen.keys()].sort()).toEqual(['100000:1-100000', '200000:1-200000']);
        process.stderr.write(`measured: ${[...seen.values()].reduce((a, b) => a + b, 0)} reads during 12 swaps: ${JSON.stringify(Object.fromEntries(seen))}\n`);
        expect([...seen.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(24);
    }, 120_000);
});
