import type { PoolClient } from 'pg';
import { addFirstCopies } from './raw-partitions.js';
import type { RedactionKind } from './scrub-pii.js';
import type { SourceFile } from './sources/source.js';

/**
 * Locks the files (each an advisory lock held to the end of the transaction) and returns the live
 * manifest row of any that is already loaded: two loaders on the same file wait for each other,
 * and the second then sees the first's row. Locks are taken in sorted order, so two runs locking
 * overlapping batches cannot deadlock.
 */
export async function lockFiles(client: PoolClient, uris: readonly string[]): Promise<ReadonlyMap<string, string>> {
    const sorted = [...uris].sort();
    await client.query(
        `select count(pg_advisory_xact_lock(hashtextextended(u, 7)))
         from (select u from unnest($1::text[]) with ordinality as t (u, n) order by n) as s`,
        [sorted],
    );
    const live = await client.query<{ source_uri: string; file_id: string }>(
        "select source_uri, file_id from ops.load_manifest where source_uri = any($1::text[]) and status = 'loaded'",
        [sorted],
    );
    return new Map(live.rows.map((r) => [r.source_uri, r.file_id]));
}

/** File ids for rows about to be loaded (a batch's rows are mapped before its transaction starts). */
export async function allocateFileIds(client: PoolClient, n: number): Promise<string[]> {
    const { rows } = await client.query<{ id: string }>(
        "select nextval(pg_get_serial_sequence('ops.load_manifest', 'file_id'))::text as id from generate_series(1, $1)",
        [n],
    );
    return rows.map((r) => r.id);
}

/** Manifest rows, pending until finishManifests fills in their counts (raw rows reference them). */
export async function insertManifests(
    client: PoolClient,
    loadId: string,
    files: readonly { readonly fileId: string; readonly file: SourceFile }[],
): Promise<void> {
    await client.query(
        `insert into ops.load_manifest (file_id, load_id, source_uri, content_id, size_bytes, modified_at, lines_total, rows_loaded, rows_quarantined, blank_lines, duplicate_rows, unknown_version_rows)
         select f.file_id, $1, f.source_uri, 'pending', f.size_bytes, f.modified_at, 0, 0, 0, 0, 0, 0
         from unnest($2::bigint[], $3::text[], $4::bigint[], $5::timestamptz[]) as f (file_id, source_uri, size_bytes, modified_at)`,
        [loadId, files.map((f) => f.fileId), files.map((f) => f.file.uri), files.map((f) => f.file.size), files.map((f) => f.file.modifiedAt ?? null)],
    );
}

/** What one loaded file's manifest row says. */
export interface ManifestCounts {
    readonly fileId: string;
    readonly contentId: string;
    readonly sizeBytes: number;
    readonly lines: number;
    readonly loaded: number;
    readonly quarantined: number;
    readonly blank: number;
    readonly unknownVersion: number;
    readonly redactions: Readonly<Record<RedactionKind, number>>;
    readonly forgotten: number;
    readonly valuesCut: number;
    readonly format: string;
    readonly skipped: number;
    /** UTC days (YYYY-MM-DD) the file's rows fall on: the days a build must redo. */
    readonly days: readonly string[];
}

/**
 * Records the first copies of files whose rows are in raw.events, then fills in their counts and
 * marks their days dirty in one statement. Returns the duplicate count per file id. A duplicate
 * (kept in raw; staging dedupes) is any copy but the first of its request_id (lowest file id,
 * line, record): a repeat inside the file, or a request_id an earlier file loaded.
 */
export async function finishManifests(client: PoolClient, files: readonly ManifestCounts[]): Promise<ReadonlyMap<string, number>> {
    const col = <T>(f: (m: ManifestCounts) => T) => files.map(f);
    const firsts = await addFirstCopies(client, { fileIds: col((m) => m.fileId), days: files.flatMap((m) => m.days) });
    const { rows } = await client.query<{ file_id: string; duplicate_rows: number }>(
        `with f as (
            select * from unnest($1::bigint[], $2::text[], $3::bigint[], $4::int[], $5::int[], $6::int[], $7::int[], $8::int[], $9::jsonb[],
                $10::int[], $11::int[], $12::text[], $13::int[], $14::text[], $15::int[])
                as f (file_id, content_id, size_bytes, lines_total, rows_loaded, rows_quarantined, blank_lines, unknown_version_rows, redactions,
                    rows_forgotten, values_cut, format, records_skipped, days, duplicate_rows)
        ),
        dirty as (
            insert into ops.dirty_days (usage_date, file_id)
            select d.day::date, f.file_id from f cross join lateral unnest(string_to_array(nullif(f.days, ''), ',')) as d (day)
        )
        update ops.load_manifest as m
        set content_id = f.content_id, size_bytes = f.size_bytes, lines_total = f.lines_total, rows_loaded = f.rows_loaded,
            rows_quarantined = f.rows_quarantined, blank_lines = f.blank_lines, duplicate_rows = f.duplicate_rows, unknown_version_rows = f.unknown_version_rows,
            redactions = f.redactions, rows_forgotten = f.rows_forgotten, values_cut = f.values_cut, format = f.format, records_skipped = f.records_skipped
        from f
        where m.file_id = f.file_id
        returning m.file_id::text, m.duplicate_rows`,
        [
            col((m) => m.fileId),
            col((m) => m.contentId),
            col((m) => m.sizeBytes),
            col((m) => m.lines),
            col((m) => m.loaded),
            col((m) => m.quarantined),
            col((m) => m.blank),
            col((m) => m.unknownVersion),
            col((m) => JSON.stringify(m.redactions)),
            col((m) => m.forgotten),
            col((m) => m.valuesCut),
            col((m) => m.format),
            col((m) => m.skipped),
            col((m) => [...m.days].sort().join(',')),
            col((m) => m.loaded - (firsts.get(m.fileId) ?? 0)),
        ],
    );
    return new Map(rows.map((r) => [r.file_id, r.duplicate_rows]));
}
