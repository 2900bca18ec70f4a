import { readFileSync, writeFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest, type IngestOptions } from '../pipelines/ingest/ingest.js';
import { localSource } from '../pipelines/ingest/sources/local-source.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { event, jsonl, tempDir, writeLog } from './support/event-fixtures.js';

const options: IngestOptions = { maxErrorRate: 0.5, onChangedFile: 'fail', keepText: false, userIdHmacKey: undefined };

let t: TestDatabase;
beforeAll(async () => {
    t = await createTestDatabase('ingest');
});
afterAll(async () => {
    await t.drop();
});

async function rowsOf(path: string): Promise<number> {
    const [r] = await t.query(
        `select count(*)::int as n from raw.events e join ops.load_manifest m using (file_id) where m.source_uri = $1 and m.status = 'loaded'`,
        [pathToFileURL(path).href],
    );
    return r.n;
}

describe('ingest: exactly once per file', () => {
    it('loads a directory once; a second run adds nothing', async () => {
        const dir = tempDir('twice');
        writeLog(dir, 'a/day1.jsonl', jsonl([event(1), event(2), event(3)]));
        writeLog(dir, 'b/day2.jsonl.gz', jsonl([event(4), event(5)]));
        writeLog(dir, 'notes.txt', 'not a log file');
        const first = await ingest(t.handle.pool, localSource(dir), options);
        expect(first.filesLoaded).toBe(2);
        expect(first.rowsLoaded).toBe(5);
        const second = await ingest(t.handle.pool, localSource(dir), options);
        expect(second.filesLoaded).toBe(0);
        expect(second.filesSkipped).toBe(2);
        expect(second.rowsLoaded).toBe(0);
        // Touching a file (new mtime, same bytes) is still "already loaded": the content hash decides.
        const p = join(dir, 'a/day1.jsonl');
        utimesSync(p, new Date(), new Date(Date.now() + 5000));
        const third = await ingest(t.handle.pool, localSource(dir), options);
        expect(third.filesSkipped).toBe(2);
        expect(await rowsOf(p)).toBe(3);
    });

    it('detects gzip by magic bytes, not by name', async () => {
        const dir = tempDir('magic');
        const p = join(dir, 'misnamed.jsonl');
        writeFileSync(p, gzipSync(jsonl([event(11, { request_id: 'magic_1' }), event(12, { request_id: 'magic_2' })])));
        const s = await ingest(t.handle.pool, localSource(dir), options);
        expect(s.rowsLoaded).toBe(2);
        expect(await rowsOf(p)).toBe(2);
    });

    it('a changed file fails by default and is replaced with --on-changed replace', async () => {
        const dir = tempDir('changed');
        const p = writeLog(dir, 'day.jsonl', jsonl([event(21, { request_id: 'chg_1' }), event(22, { request_id: 'chg_2' })]));
        await ingest(t.handle.pool, localSource(dir), options);
        writeFileSync(p, jsonl([event(21, { request_id: 'chg_1' }), event(22, { request_id: 'chg_2' }), event(23, { request_id: 'chg_3' })]));
        const failed = await ingest(t.handle.pool, localSource(dir), options);
        expect(failed.filesFailed).toBe(1);
        expect(failed.files[0].reason).toMatch(/content changed.*--on-changed replace/);
        expect(await rowsOf(p)).toBe(2);
        const [failure] = await t.query('select reason from ops.load_failures where source_uri = $1', [pathToFileURL(p).href]);
        expect(failure.reason).toMatch(/content changed/);
        const replaced = await ingest(t.handle.pool, localSource(dir), { ...options, onChangedFile: 'replace' });
        expect(replaced.filesLoaded).toBe(1);
        expect(await rowsOf(p)).toBe(3);
        const versions = await t.query('select status from ops.load_manifest where source_uri = $1 order by file_id', [pathToFileURL(p).href]);
        expect(versions.map((v) => v.status)).toEqual(['superseded', 'loaded']);
        const [{ n }] = await t.query("select count(*)::int as n from raw.events where request_id like 'chg_%'");
        expect(n).toBe(3); // the old version's rows are gone, not doubled
    });

    it('a truncated gzip loads nothing of that file and fails it; other files still load', async () => {
        const dir = tempDir('truncated');
        const full = gzipSync(jsonl(Array.from({ length: 2000 }, (_, i) => event(i, { request_id: `trunc_${i}` }))));
        const p = join(dir, 'cut.jsonl.gz');
        writeFileSync(p, full.subarray(0, Math.floor(full.length * 0.6)));
        writeLog(dir, 'good.jsonl', jsonl([event(1, { request_id: 'trunc_good' })]));
        const s = await ingest(t.handle.pool, localSource(dir), options);
        expect(s.filesFailed).toBe(1);
        expect(s.filesLoaded).toBe(1);
        expect(s.files.find((f) => f.uri.endsWith('cut.jsonl.gz'))!.reason).toMatch(/gzip stream is corrupt or truncated.*re-upload/);
        const [{ n }] = await t.query("select count(*)::int as n from raw.events where request_id like 'trunc_%' and request_id <> 'trunc_good'");
        expect(n).toBe(0);
        const [{ m }] = await t.query('select count(*)::int as m from ops.load_manifest where source_uri = $1', [pathToFileURL(p).href]);
        expect(m).toBe(0);
    });
});

describe('ingest: bad lines are quarantined with file, line and reason', () => {
    it('quarantines every kind of bad line, normalises BOM and CRLF, counts blanks: the identity holds', async () => {
        const dir = tempDir('bad');
        const lines = [
            `\uFEFF${JSON.stringify(event(1, { request_id: 'bad_ok_bom' }))}`, // 1: BOM: loaded
            `${JSON.stringify(event(2, { request_id: 'bad_ok_crlf' }))}\r`, // 2: CRLF: loaded
            '', // 3: blank
            '   ', // 4: blank (whitespace)
            '{"schema_version":1,"request_id":', // 5: invalid JSON
            JSON.stringify({ ...event(6, { request_id: 'bad_missing' }), model: undefined }), // 6: missing model
            JSON.stringify(event(7, { request_id: 'bad_type', input_tokens: '12' })), // 7: wrong type
            JSON.stringify(event(8, { request_id: 'bad_negative', output_tokens: -3 })), // 8: negative tokens
            JSON.stringify(event(9, { request_id: 'bad_ts', timestamp: '02/11/2026 10:00' })), // 9: unparseable timestamp
            JSON.stringify(event(10, { request_id: 'bad_no_offset', timestamp: '2026-11-02T10:00:00' })), // 10: no offset
            JSON.stringify(event(11, { request_id: 'bad_cache', input_tokens: 10, cache_read_tokens: 20 })), // 11: cache > input
            '[1,2,3]', // 12: not an object
            JSON.stringify(event(13, { request_id: 'bad_nul', feature: 'a\u0000b' })), // 13: NUL
            JSON.stringify(event(14, { request_id: 'bad_ok_last' })), // 14: loaded (no trailing newline)
        ];
        const p = writeLog(dir, 'bad.jsonl', lines.join('\n'));
        const s = await ingest(t.handle.pool, localSource(dir), { ...options, maxErrorRate: 1 });
        const f = s.files[0];
        expect(f.status).toBe('loaded');
        expect(f.linesTotal).toBe(14);
        expect(f.rowsLoaded).toBe(3);
        expect(f.blankLines).toBe(2);
        expect(f.rowsQuarantined).toBe(9);
        expect(f.rowsLoaded + f.rowsQuarantined + f.blankLines).toBe(f.linesTotal);
        const q = await t.query('select line_no, reason, line_text, source_uri from ops.quarantine where file_id = $1 order by line_no', [f.fileId]);
        expect(q.map((r) => r.line_no)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13]);
        expect(q.every((r) => r.source_uri === pathToFileURL(p).href)).toBe(true);
        const reasons = Object.fromEntries(q.map((r) => [r.line_no, r.reason]));
        expect(reasons[5]).toMatch(/^invalid JSON/);
        expect(reasons[6]).toBe('missing required field "model"');
        expect(reasons[7]).toMatch(/field "input_tokens" must be integer/);
        expect(reasons[8]).toBe('field "output_tokens" is negative');
        expect(reasons[9]).toMatch(/timestamp.*RFC 3339/);
        expect(reasons[10]).toMatch(/timestamp.*RFC 3339/);
        expect(reasons[11]).toMatch(/exceed input_tokens/);
        expect(reasons[12]).toBe('line is JSON but not an object');
        expect(reasons[13]).toMatch(/NUL/);
        expect(q[0].line_text).toBe('{"schema_version":1,"request_id":');
        const loaded = await t.query('select request_id, line_no from raw.events where file_id = $1 order by line_no', [f.fileId]);
        expect(loaded).toEqual([
            { request_id: 'bad_ok_bom', line_no: 1 },
            { request_id: 'bad_ok_crlf', line_no: 2 },
            { request_id: 'bad_ok_last', line_no: 14 },
        ]);
    });

    it('spools many quarantined lines (not held in memory) and stores every one with its line number', async () => {
        const dir = tempDir('spool');
        const lines = Array.from({ length: 60_000 }, (_, i) =>
            i % 3 === 0 ? `{"broken": ${i}, "pad": "${'x'.repeat(200)}"` : JSON.stringify(event(i, { request_id: `spool_${i}` })),
        );
        writeLog(dir, 'spool.jsonl.gz', jsonl(lines));
        const s = await ingest(t.handle.pool, localSource(dir), { ...options, maxErrorRate: 0.5 });
        expect(s.files[0]).toMatchObject({ status: 'loaded', rowsLoaded: 40_000, rowsQuarantined: 20_000, linesTotal: 60_000 });
        const [q] = await t.query(
            'select count(*)::int as n, min(line_no) as first, max(line_no) as last, count(distinct line_no)::int as d from ops.quarantine where file_id = $1',
            [s.files[0].fileId],
        );
        expect(q).toEqual({ n: 20_000, first: 1, last: 59_998, d: 20_000 });
    });

    it('a row Postgres refuses fails that file only, with the reason, and the next file still loads', async () => {
        const d = await createTestDatabase('ingest_pg_reject');
        try {
            // A constraint a DBA added: the contract allows the value, the database does not.
            await d.query('alter table raw.events add constraint input_below_1m check (input_tokens < 1000000)');
            const dir = tempDir('pg-reject');
            writeLog(dir, 'a.jsonl', jsonl([event(1, { request_id: 'pgr_1' }), event(2, { request_id: 'pgr_2', input_tokens: 5_000_000 })]));
            writeLog(dir, 'b.jsonl', jsonl([event(3, { request_id: 'pgr_3' })]));
            const s = await ingest(d.handle.pool, localSource(dir), options);
            expect(s.files.map((f) => f.status)).toEqual(['failed', 'loaded']);
            expect(s.files[0].reason).toMatch(
                // raw.events is partitioned by day: Postgres names the day's partition.
                /^Postgres rejected a row \(new row for relation "events_20261102" violates check constraint "input_below_1m".*nothing of the file was loaded/,
            );
            const rows = await d.query('select request_id from raw.events order by 1');
            expect(rows.map((r) => r.request_id)).toEqual(['pgr_3']);
        } finally {
            await d.drop();
        }
    });

    it('fails a whole file whose error rate passes the threshold, loading none of it', async () => {
        const dir = tempDir('rate');
        const lines = [...Array.from({ length: 18 }, (_, i) => JSON.stringify(event(i, { request_id: `rate_${i}` }))), 'nope', 'nope'];
        writeLog(dir, 'mostly-good.jsonl', jsonl(lines));
        const s = await ingest(t.handle.pool, localSource(dir), { ...options, maxErrorRate: 0.05 });
        expect(s.filesFailed).toBe(1);
        expect(s.files[0].reason).toMatch(/2 of 20 records are invalid \(10\.0% > 5\.0% allowed; first: line 19: invalid JSON.*--max-error-rate/);
        const [{ n }] = await t.query("select count(*)::int as n from raw.events where request_id like 'rate_%'");
        expect(n).toBe(0);
    });
});

describe('ingest: schema versions, duplicates, PII', () => {
    it('loads v1, v2 and an unknown newer version, keeping unknown fields and reporting the new version', async () => {
        const dir = tempDir('versions');
        writeLog(dir, 'v1.jsonl', jsonl([event(1, { request_id: 'ver_1', custom_field: 'kept' })]));
        writeLog(dir, 'v2.jsonl', jsonl([event(2, { request_id: 'ver_2', schema_version: 2, user_satisfaction_score: 4 })]));
        writeLog(
            dir,
            'v2-bad.jsonl',
            jsonl([
                event(3, { request_id: 'ver_2_bad', schema_version: 2, user_satisfaction_score: 9 }),
                event(4, { request_id: 'ver_2_ok', schema_version: 2 }),
            ]),
        );
        writeLog(dir, 'v9.jsonl', jsonl([event(5, { request_id: 'ver_9', schema_version: 9, region: 'eu' })]));
        const s = await ingest(t.handle.pool, localSource(dir), options);
        expect(s.rowsLoaded).toBe(4);
        expect(s.rowsQuarantined).toBe(1);
        expect(s.unknownVersionRows).toBe(1);
        const rows = await t.query(
            "select request_id, schema_version, user_satisfaction_score, extras from raw.events where request_id like 'ver_%' order by request_id",
        );
        expect(rows.map((r) => [r.request_id, r.schema_version])).toEqual([
            ['ver_1', 1],
            ['ver_2', 2],
            ['ver_2_ok', 2],
            ['ver_9', 9],
        ]);
        expect(rows[0].extras).toEqual({ custom_field: 'kept' });
        expect(rows[1].user_satisfaction_score).toBe(4);
        expect(rows[3].extras).toEqual({ region: 'eu' });
        const [m] = await t.query("select unknown_version_rows from ops.load_manifest where source_uri like '%/v9.jsonl'");
        expect(m.unknown_version_rows).toBe(1);
    });

    it('keeps duplicate request_ids in raw and counts them, within and across files', async () => {
        const dir = tempDir('dupes');
        writeLog(dir, '1.jsonl', jsonl([event(1, { request_id: 'dup_a' }), event(2, { request_id: 'dup_b' }), event(3, { request_id: 'dup_a' })]));
        writeLog(dir, '2.jsonl', jsonl([event(4, { request_id: 'dup_b' }), event(5, { request_id: 'dup_c' })]));
        const s = await ingest(t.handle.pool, localSource(dir), options);
        expect(s.files.map((f) => f.duplicateRows)).toEqual([1, 1]);
        expect(s.duplicateRows).toBe(2);
        const [{ n }] = await t.query("select count(*)::int as n from raw.events where request_id like 'dup_%'");
        expect(n).toBe(5);
    });

    it('scrubs PII before it lands: no email, key, card, phone or IP survives in any raw column', async () => {
        const dir = tempDir('pii');
        const secrets = [
            'jane.doe@example.com',
            'sk-proj-AbCdEfGhIjKlMnOpQrStUv123456',
            'AKIAIOSFODNN7EXAMPLE',
            'xoxb-1234567890-abcdefghij',
            '4111 1111 1111 1111',
            '+1 415 555 0134',
            '192.168.10.44',
        ];
        const ev = event(1, {
            request_id: 'pii_1',
            prompt_text: `my email is ${secrets[0]}`,
            completion_text: 'ok',
            user_id: secrets[0],
            tags: { note: `key ${secrets[1]} and ${secrets[2]}`, slack: secrets[3], [secrets[0]]: 'as a key' },
            feature: `checkout ${secrets[4]}`,
            guardrail_flags: [`caller ${secrets[5]} from ${secrets[6]}`],
        });
        writeLog(dir, 'pii.jsonl', jsonl([ev, event(2, { request_id: 'pii_2', tags: { order: '4111 1111 1111 1112' } })]));
        const s = await ingest(t.handle.pool, localSource(dir), options);
        expect(s.rowsLoaded).toBe(2);
        const rows = await t.query("select e.*::text as all_columns, e.* from raw.events e where request_id like 'pii_%' order by request_id");
        for (const secret of secrets) for (const r of rows) expect(r.all_columns).not.toContain(secret);
        expect(rows[0].prompt_text).toBeNull();
        expect(rows[0].tags.note).toBe('key [redacted:api_key] and [redacted:api_key]');
        expect(rows[0].guardrail_flags[0]).toBe('caller [redacted:phone] from [redacted:ip]');
        expect(rows[1].tags.order).toBe('4111 1111 1111 1112'); // fails Luhn: not a card
        const [m] = await t.query("select redactions, file_id from ops.load_manifest where source_uri like '%/pii.jsonl'");
        expect(m.redactions).toEqual({ email: 2, api_key: 3, card: 1, phone: 1, ip: 1 });
        const [chars] = await t.query('select prompt_chars, completion_chars from raw.events where request_id = $1', ['pii_1']);
        expect(chars).toEqual({ prompt_chars: `my email is ${secrets[0]}`.length, completion_chars: 2 });
    });

    it('replaces user_id by a keyed hash when a key is configured', async () => {
        const dir = tempDir('hmac');
        writeLog(dir, 'u.jsonl', jsonl([event(1, { request_id: 'hmac_1', user_id: 'alice' }), event(2, { request_id: 'hmac_2', user_id: 'alice' })]));
        await ingest(t.handle.pool, localSource(dir), { ...options, userIdHmacKey: 'secret-key' });
        const rows = await t.query("select user_id as u from raw.events where request_id like 'hmac_%'");
        // HMAC-SHA256(key "secret-key", "alice"), first 32 hex digits; computed independently with
        // `echo -n alice | openssl dgst -sha256 -hmac secret-key` = 5c7dff8695e1bf7eab3bf03a9c7950b11f00f74f...
        expect(rows.map((r) => r.u)).toEqual(['u_5c7dff8695e1bf7eab3bf03a9c7950b1', 'u_5c7dff8695e1bf7eab3bf03a9c7950b1']);
        expect(readFileSync(join(dir, 'u.jsonl'), 'utf8')).toContain('alice');
    });
});
