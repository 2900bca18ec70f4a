import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { event, jsonl, tempDir, writeLog } from './support/event-fixtures.js';
import { runCli } from './support/run-cli.js';
import { useTestDatabase } from './support/test-database.js';

describe('a local source with symbolic links', () => {
    const db = useTestDatabase('local_source');

    it('follows links to files and folders, once each, and names every entry it cannot use', async () => {
        const base = tempDir('links');
        const root = join(base, 'logs');
        const outside = join(base, 'elsewhere');
        writeLog(root, 'real/a.jsonl', jsonl([event(1, { request_id: 'link_a' })]));
        writeLog(outside, 'b.jsonl', jsonl([event(2, { request_id: 'link_b' })]));
        symlinkSync(join(root, 'real/a.jsonl'), join(root, 'same-as-a.jsonl')); // the same file by a second path
        symlinkSync(outside, join(root, 'linked-folder')); // a folder outside the source
        symlinkSync(root, join(root, 'real/loop')); // a loop back to the top
        symlinkSync(join(root, 'missing.jsonl'), join(root, 'broken.jsonl')); // a link to nothing
        writeLog(root, 'notes.txt', 'not a log');
        const r = await runCli(['ingest', root], { DATABASE_URL: db().url });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toContain(`ingest: skipped ${join(root, 'broken.jsonl')}: a symbolic link to nothing (broken); remove it or point it at a log file`);
        expect(r.stderr).toContain(`ingest: skipped ${join(root, 'real/loop')}: a link back to ${root}, already walked; not walked twice`);
        expect(r.stderr).toContain(
            `ingest: skipped ${join(root, 'same-as-a.jsonl')}: the same file as one already listed (${join(root, 'real/a.jsonl')}); loaded once`,
        );
        expect(r.stderr).toContain('ingest: 1 other files ignored (not .jsonl, .json or .ndjson, optionally .gz)');
        const rows = await db().query('select e.request_id, m.source_uri from raw.events e join ops.load_manifest m using (file_id) order by 1');
        expect(rows.map((x) => [x.request_id, x.source_uri.replace(`file://${root}/`, '')])).toEqual([
            ['link_a', 'real/a.jsonl'],
            ['link_b', 'linked-folder/b.jsonl'],
        ]);
    });

    it('never ends in a silent zero: a source without log files says so', async () => {
        const empty = tempDir('empty-source');
        mkdirSync(join(empty, 'sub'));
        writeLog(empty, 'sub/readme.md', '# nothing here');
        const r = await runCli(['ingest', empty], { DATABASE_URL: db().url });
        expect(r.code).toBe(0);
        expect(r.stderr).toContain(
            `ingest: no log files in ${empty} (names ending .jsonl, .json, .ndjson, optionally .gz; 1 other files there); check the source`,
        );
    });
});
