import { Migrator } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrations } from '../migrations/index.js';
import { migrateToLatest } from '../pipelines/db/migrate.js';
import { ingest } from '../pipelines/ingest/ingest.js';
import { localSource } from '../pipelines/ingest/sources/local-source.js';
import { event, jsonl, tempDir, writeLog } from './support/event-fixtures.js';
import { useTestDatabase, type TestDatabase } from './support/test-database.js';

const ingestOptions = { maxErrorRate: 0.05, onChangedFile: 'replace' as const, keepText: false, userIdHmacKey: undefined };

async function partitions(t: TestDatabase): Promise<Record<string, number>> {
    const parts = await t.query<{ name: string }>(
        "select c.relname as name from pg_inherits as i inner join pg_class as c on c.oid = i.inhrelid where i.inhparent = 'raw.events'::regclass order by 1",
    );
    const out: Record<string, number> = {};
    for (const { name } of parts) out[name] = (await t.query(`select count(*)::int as n from raw.${name}`))[0].n;
    return out;
}

/** The first copy of each request_id, computed from raw without raw.first_copies. */
const EXPECTED_FIRSTS = `select distinct on (request_id) request_id, file_id::text, line_no, record_no
    from raw.events order by request_id, file_id, line_no, record_no`;

describe('raw.events: partitioned by UTC day', () => {
    const db = useTestDatabase('raw_partitions');

    it('the loader creates each UTC day partition in its load, streamed or batched; there is no default partition', async () => {
        const dir = tempDir('partitions');
        // Either side of midnight UTC (23:59:59 and 00:00:00 belong to different days).
        writeLog(
            dir,
            'a.jsonl',
            jsonl([
                event(1, { timestamp: '2026-10-01T23:59:59Z' }),
                event(2, { timestamp: '2026-10-02T00:00:00Z' }),
                event(3, { timestamp: '2026-10-02T12:00:00+05:00' }),
            ]),
        );
        await ingest(db().handle.pool, localSource(dir), ingestOptions);
        // A second file, streamed: a new day mid-file, and a copy of req_1 on another day (it loses).
        writeLog(
            dir,
            'b.jsonl',
            jsonl([
                event(4, { timestamp: '2026-10-02T08:00:00Z' }),
                event(5, { timestamp: '2026-10-05T08:00:00Z' }),
                event(1, { timestamp: '2026-10-05T09:00:00Z' }),
            ]),
        );
        const second = await ingest(db().handle.pool, localSource(dir), { ...ingestOptions, unbatched: true });
        expect(second.duplicateRows).toBe(1);
        expect(await partitions(db())).toEqual({ events_20261001: 1, events_20261002: 3, events_20261005: 2 });
        const [kind] = await db().query("select relkind from pg_class where oid = 'raw.events'::regclass");
        expect(kind.relkind).toBe('p');
        const firsts = await db().query('select request_id, file_id::text, line_no, record_no from raw.first_copies order by request_id');
        expect(firsts).toEqual(await db().query(`${EXPECTED_FIRSTS}`));
        expect(firsts.map((f) => f.request_id)).toEqual(['req_1', 'req_2', 'req_3', 'req_4', 'req_5']);
        // req_1's first copy is line 1 of the first file, not the later copy on 2026-10-05.
        const [one] = await db().query(
            "select e.event_at::text as at from raw.events as e inner join raw.first_copies as f using (request_id, file_id, line_no, record_no) where f.request_id = 'req_1'",
        );
        expect(one.at).toBe('2026-10-01 23:59:59+00');

        // Replacing the first file: req_1's first copy is now the one left, on 2026-10-05.
        writeLog(dir, 'a.jsonl', jsonl([event(2, { timestamp: '2026-10-02T00:00:00Z' })]));
        await ingest(db().handle.pool, localSource(dir), ingestOptions);
        expect(await db().query('select request_id, file_id::text, line_no, record_no from raw.first_copies order by request_id')).toEqual(
            await db().query(`${EXPECTED_FIRSTS}`),
        );
        const [moved] = await db().query(
            "select e.event_at::text as at from raw.events as e inner join raw.first_copies as f using (request_id, file_id, line_no, record_no) where f.request_id = 'req_1'",
        );
        expect(moved.at).toBe('2026-10-05 09:00:00+00');
        // No foreign key checks it row by row (migration 2026-12-06T1000): the loader's order does.
        const orphans = await db().query(
            'select count(*)::int as n from raw.events as e left join ops.load_manifest as m on m.file_id = e.file_id where m.file_id is null',
        );
        expect(orphans[0].n).toBe(0);
        const [fk] = await db().query("select count(*)::int as n from pg_constraint where conrelid = 'raw.events'::regclass and contype = 'f'");
        expect(fk.n).toBe(0);
    });

    it('converts an existing, unpartitioned raw.events in place, keeping every row, and records its first copies', async () => {
        const t = db();
        const migrator = new Migrator({ db: t.handle.db, provider: { getMigrations: async () => ({ ...migrations }) }, migrationTableSchema: 'ops' });
        const down = await migrator.migrateTo('2026-11-30T0900_build_marker');
        expect(down.error).toBeUndefined();
        const [kind] = await t.query("select relkind from pg_class where oid = 'raw.events'::regclass");
        expect(kind.relkind).toBe('r');
        const before = await t.query<{ n: number; tokens: string }>('select count(*)::int as n, sum(input_tokens)::text as tokens from raw.events');
        // Rows written straight into the plain table, as an older tokenmart did (a file of two days).
        await t.query(
            `insert into ops.load_manifest (file_id, load_id, source_uri, content_id, size_bytes, lines_total, rows_loaded, rows_quarantined, blank_lines, duplicate_rows, unknown_version_rows)
             values (9001, gen_random_uuid(), 'file:///old.jsonl', 'c9001', 100, 3, 3, 0, 0, 0, 0)`,
        );
        await t.query(
            `insert into raw.events (file_id, line_no, schema_version, request_id, event_at, provider, model, input_tokens, output_tokens, status)
             values (9001, 1, 1, 'old_1', '2026-09-30T10:00:00Z', 'openai', 'gpt-4o-mini', 10, 1, 'ok'),
                    (9001, 2, 1, 'old_2', '2026-09-29T10:00:00Z', 'openai', 'gpt-4o-mini', 20, 1, 'ok'),
                    (9001, 3, 1, 'req_2', '2026-09-29T11:00:00Z', 'openai', 'gpt-4o-mini', 30, 1, 'ok')`,
        );
        await migrateToLatest(t.handle.db);
        const [after] = await t.query<{ n: number; tokens: string }>('select count(*)::int as n, sum(input_tokens)::text as tokens from raw.events');
        expect(after).toEqual({ n: before[0].n + 3, tokens: String(Number(before[0].tokens) + 60) });
        const parts = await partitions(t);
        expect(parts).toMatchObject({ events_20260929: 2, events_20260930: 1 });
        expect(parts).not.toHaveProperty('events_default');
        expect(await t.query('select request_id, file_id::text, line_no, record_no from raw.first_copies order by request_id')).toEqual(
            await t.query(`${EXPECTED_FIRSTS}`),
        );
    });
    it('drops the default partition in place: rows written into it by hand move to their days first', async () => {
        const t = db();
        const migrator = new Migrator({ db: t.handle.db, provider: { getMigrations: async () => ({ ...migrations }) }, migrationTableSchema: 'ops' });
        expect((await migrator.migrateTo('2026-12-06T1000_raw_without_fk')).error).toBeUndefined();
        expect(await partitions(t)).toHaveProperty('events_default', 0);
        const before = await t.query<{ n: number }>('select count(*)::int as n from raw.events');
        // Days without a partition: the rows land in the default partition.
        await t.query(
            `insert into raw.events (file_id, line_no, schema_version, request_id, event_at, provider, model, input_tokens, output_tokens, status)
             values (9001, 4, 1, 'hand_1', '2025-01-02T10:00:00Z', 'openai', 'gpt-4o-mini', 1, 1, 'ok'),
                    (9001, 5, 1, 'hand_2', '2025-01-03T23:59:59Z', 'openai', 'gpt-4o-mini', 1, 1, 'ok'),
                    (9001, 6, 1, 'hand_3', '2025-01-03T00:00:00Z', 'openai', 'gpt-4o-mini', 1, 1, 'ok')`,
        );
        expect(await partitions(t)).toHaveProperty('events_default', 3);
        await migrateToLatest(t.handle.db);
        const parts = await partitions(t);
        expect(parts).not.toHaveProperty('events_default');
        expect(parts).toMatchObject({ events_20250102: 1, events_20250103: 2 });
        expect((await t.query<{ n: number }>('select count(*)::int as n from raw.events'))[0].n).toBe(before[0].n + 3);
        // Without it, a row for a day with no partition is refused (the loader makes the partition first).
        await expect(
            t.query(
                `insert into raw.events (file_id, line_no, schema_version, request_id, event_at, provider, model, input_tokens, output_tokens, status)
                 values (9001, 7, 1, 'hand_4', '2025-02-01T10:00:00Z', 'openai', 'gpt-4o-mini', 1, 1, 'ok')`,
            ),
        ).rejects.toThrow(/no partition of relation "events" found for row/);
    });
    it('a file whose events spread over more days than ingest.maxDaysPerFile fails whole, naming the line, and creates no partition', async () => {
        const dir = tempDir('many-days');
        // Wrong timestamps: a day each, 2001-01-01 on (the contract accepts years 2000 to 2100).
        const day = (i: number) => new Date(Date.UTC(2001, 0, 1 + i)).toISOString();
        writeLog(dir, 'spread.jsonl', jsonl(Array.from({ length: 6 }, (_, i) => event(100 + i, { timestamp: day(i) }))));
        const before = Object.keys(await partitions(db())).length;
        for (const unbatched of [false, true]) {
            const run = await ingest(db().handle.pool, localSource(dir), { ...ingestOptions, maxDaysPerFile: 5, unbatched });
            expect(run.filesFailed).toBe(1);
            expect(run.rowsLoaded).toBe(0);
            expect(run.files[0].reason).toMatch(/^events on more than 5 different UTC days \(line 6 adds 2001-01-06\).*raise ingest\.maxDaysPerFile$/);
        }
        expect(Object.keys(await partitions(db())).length).toBe(before);
        const [failures] = await db().query("select count(*)::int as n from ops.load_failures where source_uri like '%spread.jsonl'");
        expect(failures.n).toBe(2);
        // At the limit it loads: five days, five new partitions.
        writeLog(dir, 'spread.jsonl', jsonl(Array.from({ length: 5 }, (_, i) => event(100 + i, { timestamp: day(i) }))));
        const ok = await ingest(db().handle.pool, localSource(dir), { ...ingestOptions, maxDaysPerFile: 5 });
        expect(ok.rowsLoaded).toBe(5);
        expect(Object.keys(await partitions(db())).length).toBe(before + 5);
    });
});
