import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { event, tempDir } from './support/event-fixtures.js';
import { runCli, startCli, waitForStderr } from './support/run-cli.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

/**
 * A gateway that writes one object per request: 2,500 one-request files load in batches of 1,000
 * per transaction (ingest.ts BATCH_FILES), each file still with its own manifest row, and a
 * loader killed inside a batch leaves none of that batch.
 */
const FILES = 2500;
const dir = join(tempDir('small-objects'), 'gateway');
for (let i = 0; i < FILES; i++) {
    const sub = join(dir, String(Math.floor(i / 500)));
    if (i % 500 === 0) mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `req-${String(i).padStart(5, '0')}.json`), `${JSON.stringify(event(i, { request_id: `obj_${i}` }))}\n`);
}

/** Loaded files, their raw rows, and rows whose file has no live manifest row. */
async function state(t: TestDatabase) {
    const [s] = await t.query(
        `select (select count(*)::int from ops.load_manifest where status = 'loaded') as files,
                (select count(*)::int from raw.events) as rows,
                (select count(distinct request_id)::int from raw.events) as distinct_requests,
                (select count(*)::int from ops.load_manifest where content_id = 'pending') as pending,
                (select count(*)::int from raw.events e where not exists (select 1 from ops.load_manifest m where m.file_id = e.file_id and m.status = 'loaded')) as orphans,
                (select count(*)::int from (select file_id from raw.events group by file_id having count(*) <> 1) as x) as files_not_one_row`,
    );
    return s as { files: number; rows: number; distinct_requests: number; pending: number; orphans: number; files_not_one_row: number };
}

describe('many small objects', () => {
    it('2,500 one-request files: three transactions, a manifest row and one raw row per file, one progress line per batch; a rerun adds nothing', async () => {
        const t = await createTestDatabase('small_objects');
        try {
            const first = await runCli(['ingest', dir], { DATABASE_URL: t.url });
            expect(first.code, first.stderr).toBe(0);
            const batchLines = first.stderr.split('\n').filter((l) => l.startsWith('ingest: loaded '));
            expect(batchLines.map((l) => /^ingest: loaded (\d+) small files together .*: (\d+) rows, 0 quarantined/.exec(l)?.slice(1))).toEqual([
                ['1000', '1000'],
                ['1000', '1000'],
                ['500', '500'],
            ]);
            expect(first.stderr).toMatch(/ingest: 2500 files: 2500 loaded, 0 already loaded, 0 failed/);
            expect(await state(t)).toEqual({ files: 2500, rows: 2500, distinct_requests: 2500, pending: 0, orphans: 0, files_not_one_row: 0 });
            // One load id for the run, and each file's counts in its own manifest row.
            const [m] = await t.query(
                'select count(distinct load_id)::int as loads, sum(rows_loaded)::int as rows, sum(lines_total)::int as lines, count(distinct format)::int as formats from ops.load_manifest',
            );
            expect(m).toEqual({ loads: 1, rows: 2500, lines: 2500, formats: 1 });
            const again = await runCli(['ingest', dir], { DATABASE_URL: t.url });
            expect(again.stderr).toMatch(/ingest: 2500 files: 0 loaded, 2500 already loaded, 0 failed/);
            expect((await state(t)).rows).toBe(2500);
        } finally {
            await t.drop();
        }
    }, 120_000);

    it('SIGKILL inside a batch leaves none of that batch (whole batches only), and the rerun loads every file exactly once', async () => {
        const t = await createTestDatabase('small_objects_kill');
        try {
            const seen: number[] = [];
            // Killed between 0 and 400 ms after the first batch committed: inside the second batch.
            for (const delay of [0, 150, 400]) {
                const { child, done } = startCli(['ingest', dir], { DATABASE_URL: t.url });
                await Promise.race([waitForStderr(child, /ingest: loaded \d+ small files together/, 60_000).catch(() => undefined), done]);
                await new Promise((r) => setTimeout(r, delay));
                child.kill('SIGKILL');
                await done;
                const s = await state(t);
                seen.push(s.files);
                // All or nothing per batch: loaded files come in whole batches, each with its one row.
                expect(s.files % 1000 === 0 || s.files === FILES, `files loaded after a kill: ${s.files}`).toBe(true);
                expect(s).toMatchObject({ rows: s.files, distinct_requests: s.files, pending: 0, orphans: 0, files_not_one_row: 0 });
            }
            process.stderr.write(`small objects: files loaded after each of 3 kills: ${seen.join(', ')} of ${FILES}\n`);
            expect(seen[0]).toBeLessThan(FILES); // at least the first kill landed before the end
            const rerun = await runCli(['ingest', dir], { DATABASE_URL: t.url });
            expect(rerun.code, rerun.stderr).toBe(0);
            expect(await state(t)).toEqual({ files: 2500, rows: 2500, distinct_requests: 2500, pending: 0, orphans: 0, files_not_one_row: 0 });
        } finally {
            await t.drop();
        }
    }, 180_000);
});
