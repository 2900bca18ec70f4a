import { once } from 'node:events';
import type { Readable } from 'node:stream';
import type { PoolClient } from 'pg';
import copyStreams from 'pg-copy-streams';
import { RAW_COPY_COLUMNS } from './contract/raw-columns.js';
import { allocateFileIds, finishManifests, insertManifests, lockFiles, type ManifestCounts } from './manifest-rows.js';
import { copyQuarantine, QuarantineSpool } from './quarantine-spool.js';
import { deleteRawRows, ensureRawPartitions, type PartitionMaker } from './raw-partitions.js';
import { checkErrorRate, type FileReading, FileRejected, newFileReading, type ReadOptions, readFailure, readRecords } from './read-records.js';
import type { PiiScrubber, RedactionKind } from './scrub-pii.js';
import type { SourceFile } from './sources/source.js';

export type FileStatus = 'loaded' | 'skipped' | 'failed';

/** The counts a load reports, for one file or summed over a run. */
export interface LoadCounts {
    readonly linesTotal: number;
    readonly rowsLoaded: number;
    readonly rowsQuarantined: number;
    readonly blankLines: number;
    /** Events of erased users or tenants, not loaded (`tokenmart forget`). */
    readonly forgottenRows: number;
    /** Dimension values longer than their bound, cut. */
    readonly valuesCut: number;
    readonly duplicateRows: number;
    readonly unknownVersionRows: number;
    /** Records that are not model calls (other spans, other log events), counted and not loaded. */
    readonly recordsSkipped: number;
    readonly bytes: number;
    readonly redactions: Readonly<Record<RedactionKind, number>>;
}

export interface FileResult extends LoadCounts {
    readonly uri: string;
    readonly status: FileStatus;
    /** The format the file was read as (detected from its first record, or --format). */
    readonly format?: string;
    /** A dry run: a few events as they would land (scrubbed), and the first quarantined lines. */
    readonly samples?: readonly string[];
    readonly quarantineSamples?: readonly { readonly lineNo: number; readonly reason: string }[];
    /** Why it was skipped or failed: one line with the fix. */
    readonly reason?: string;
    readonly fileId?: string;
    /** Loaded (or failed) at a second attempt: why Postgres refused the first (loadFile). */
    readonly retriedAfter?: string;
}

export interface LoadOptions extends ReadOptions {
    readonly loadId: string;
    /** The live manifest row to supersede (policy `replace` for a changed file). */
    readonly replaceFileId?: string;
    /** Do everything but commit: the file is read, mapped and checked, and the transaction rolled back. */
    readonly dryRun?: boolean;
    /** How new day partitions are made (default: in the load's transaction, rolled back with it). */
    readonly makePartitions?: PartitionMaker;
    /**
     * The file id, reserved before the load starts: loads running at once then still take their
     * ids in listing order, and the first copy of a request_id (lowest file id) does not depend on
     * which load reached the sequence first.
     */
    readonly fileId?: string;
}

const EMPTY_REDACTIONS = { email: 0, phone: 0, card: 0, api_key: 0, ip: 0 } as const;

export function emptyResult(uri: string, status: FileStatus, reason?: string): FileResult {
    return {
        uri,
        status,
        reason,
        linesTotal: 0,
        rowsLoaded: 0,
        rowsQuarantined: 0,
        blankLines: 0,
        forgottenRows: 0,
        valuesCut: 0,
        duplicateRows: 0,
        unknownVersionRows: 0,
        recordsSkipped: 0,
        bytes: 0,
        redactions: EMPTY_REDACTIONS,
    };
}

/** Postgres refused a row the contract let through: fail this file, not the whole run. */
function rejectedByPostgres(err: Error): FileRejected {
    const e = err as Error & { where?: string };
    return new FileRejected(
        `Postgres rejected a row (${e.message}${e.where ? `; ${e.where.split('\n')[0]}` : ''}); nothing of the file was loaded: fix the value at that line, or report it if the event is valid`,
    );
}

/** The redactions counted since `before` (a snapshot of the scrubber's counts). */
export function redactionsSince(scrubber: PiiScrubber, before: Readonly<Record<RedactionKind, number>>): Record<RedactionKind, number> {
    return Object.fromEntries(Object.entries(scrubber.counts).map(([k, v]) => [k, v - before[k as RedactionKind]])) as Record<RedactionKind, number>;
}

/** The manifest counts of a file read in full. */
export function manifestCounts(
    fileId: string,
    file: SourceFile,
    r: FileReading,
    quarantined: QuarantineSpool,
    redactions: Record<RedactionKind, number>,
): ManifestCounts {
    return {
        fileId,
        contentId: file.knownContentId ?? `sha256:${r.stats.hash.digest('hex')}`,
        sizeBytes: r.stats.rawBytes,
        lines: r.lines,
        loaded: r.loaded,
        quarantined: quarantined.count,
        blank: r.blank,
        unknownVersion: r.unknownVersion,
        redactions,
        forgotten: r.forgotten,
        valuesCut: r.ctx.cutValues,
        format: r.format?.name ?? 'native',
        skipped: r.skipped,
        days: [...r.days],
    };
}

/** A loaded file's result, from its manifest counts. */
export function loadedResult(file: SourceFile, m: ManifestCounts, duplicateRows: number): FileResult {
    return {
        uri: file.uri,
        status: 'loaded',
        format: m.format,
        fileId: m.fileId,
        linesTotal: m.lines,
        rowsLoaded: m.loaded,
        rowsQuarantined: m.quarantined,
        blankLines: m.blank,
        forgottenRows: m.forgotten,
        valuesCut: m.valuesCut,
        duplicateRows,
        unknownVersionRows: m.unknownVersion,
        recordsSkipped: m.skipped,
        bytes: m.sizeBytes,
        redactions: m.redactions,
    };
}

/** One COPY into raw.events on the load's connection: write with backpressure, finish, or abort. */
function startCopy(client: PoolClient) {
    const stream = client.query(copyStreams.from(`copy raw.events (${RAW_COPY_COLUMNS.join(', ')}) from stdin`));
    let failed: Error | undefined;
    const done = new Promise<void>((resolve, reject) => {
        stream.on('finish', resolve);
        stream.on('error', reject);
    });
    done.catch((err: Error) => (failed = err)); // surfaced by finish() or error(), never as an unhandled rejection
    return {
        write: async (rows: string) => {
            if (!stream.write(rows)) await once(stream, 'drain');
        },
        finish: async () => {
            stream.end();
            await done.catch((err: Error) => {
                throw rejectedByPostgres(err);
            });
        },
        abort: async (err: Error) => {
            stream.destroy(err);
            await done.catch(() => undefined);
        },
        error: () => failed,
    };
}

/** Postgres' refusal of a row no partition of raw.events takes. */
const NO_PARTITION = 'no partition of relation "events" found for row';

/**
 * Loads one file all-or-nothing, streaming: its rows, its quarantined lines and its manifest row
 * commit in one transaction, or none of them does. The caller has decided the file is new (or to
 * be replaced). Small files go through load-batch.ts instead.
 *
 * A load whose COPY is refused for want of a partition is loaded again, once: every day's
 * partition is made before its rows are sent, so the COPY routed with a partition list from
 * before another load made the day (raw-partitions.ts: seen once in 100 files side by side at
 * 10M events, after the locks meant to prevent it). The new transaction reads every partition
 * made so far; a row that still finds none fails the file as before.
 */
export async function loadFile(client: PoolClient, file: SourceFile, scrubber: PiiScrubber, options: LoadOptions): Promise<FileResult> {
    const first = await loadFileOnce(client, file, scrubber, options);
    if (first.status !== 'failed' || !first.reason?.includes(NO_PARTITION)) return first;
    return { ...(await loadFileOnce(client, file, scrubber, options, first.reason)), retriedAfter: first.reason };
}

/** `retriedAfter`: why the first attempt was refused, kept in the manifest row of a second. */
async function loadFileOnce(client: PoolClient, file: SourceFile, scrubber: PiiScrubber, options: LoadOptions, retriedAfter?: string): Promise<FileResult> {
    const before = { ...scrubber.counts };
    const r = newFileReading(scrubber, options);
    const quarantined = new QuarantineSpool(file.uri, options.spoolDir);
    await client.query('begin');
    try {
        const live = (await lockFiles(client, [file.uri])).get(file.uri);
        if (live && live !== options.replaceFileId) {
            await client.query('rollback');
            return emptyResult(file.uri, 'skipped', 'already loaded (by a concurrent run)');
        }
        // Every day whose deduplicated rows may change when a file is replaced: the old rows' days,
        // and the days of any other row sharing a request_id with them (a losing duplicate may now
        // win). Marked dirty at the end: a build waits for loads that hold ops.dirty_days.
        let replacedDays: readonly string[] = [];
        if (options.replaceFileId) {
            // On Citus, the delete below runs on every shard at once, and a transaction may not
            // write a reference table (the manifest) after such a parallel write: one connection
            // per worker instead. An inert placeholder setting on plain Postgres.
            await client.query("set local citus.multi_shard_modify_mode = 'sequential'");
            replacedDays = (
                await client.query<{ day: string }>(
                    `select distinct (o.event_at at time zone 'UTC')::date::text as day from raw.events o
                     where o.request_id in (select request_id from raw.events where file_id = $1)`,
                    [options.replaceFileId],
                )
            ).rows.map((r) => r.day);
            await client.query("update ops.load_manifest set status = 'superseded', superseded_at = now() where file_id = $1", [options.replaceFileId]);
            await deleteRawRows(client, 'file_id = $1', [options.replaceFileId]);
        }
        const fileId = options.fileId ?? (await allocateFileIds(client, 1))[0];
        await insertManifests(client, options.loadId, [{ fileId, file }]);
        // A day's rows need its raw.events partition before they are sent; a running COPY does
        // not see a partition created after it started, so a new day ends it and starts another.
        const partitioned = new Set<string>();
        let copy = startCopy(client);
        let input: Readable | undefined;
        try {
            input = await file.open();
            await readRecords(input, r, scrubber, options, `${fileId}\t`, quarantined, async (rows) => {
                const fresh = [...r.days].filter((d) => !partitioned.has(d));
                if (fresh.length) {
                    await copy.finish();
                    await (options.makePartitions ?? ensureRawPartitions)(client, fresh);
                    for (const d of fresh) partitioned.add(d);
                    copy = startCopy(client);
                }
                await copy.write(rows);
            });
        } catch (err) {
            // Postgres refusing a row ends the COPY first and breaks our writes: report its reason.
            const refused = copy.error();
            input?.destroy(); // stop reading (and downloading) a file we will not load
            await copy.abort(err as Error);
            throw refused ? rejectedByPostgres(refused) : readFailure(err, r, options.spoolDir);
        }
        await copy.finish();
        checkErrorRate(r, quarantined, options.maxErrorRate);
        await copyQuarantine(client, [{ spool: quarantined, fileId }]);
        if (replacedDays.length)
            await client.query('insert into ops.dirty_days (usage_date, file_id) select d::date, $2::bigint from unnest($1::text[]) as d', [
                replacedDays,
                options.replaceFileId,
            ]);
        const counts = manifestCounts(fileId, file, r, quarantined, redactionsSince(scrubber, before));
        const duplicates = await finishManifests(client, [counts]);
        if (retriedAfter) await client.query('update ops.load_manifest set retried_after = $2 where file_id = $1', [fileId, retriedAfter]);
        await client.query(options.dryRun ? 'rollback' : 'commit');
        return {
            ...loadedResult(file, counts, duplicates.get(fileId) ?? 0),
            ...(options.dryRun ? { samples: r.samples, quarantineSamples: quarantined.samples } : {}),
        };
    } catch (err) {
        await client.query('rollback').catch(() => undefined);
        // Counts made inside a rolled-back load never happened.
        Object.assign(scrubber.counts, before);
        if (err instanceof FileRejected) return { ...emptyResult(file.uri, 'failed', err.message), linesTotal: r.lines, bytes: r.stats.rawBytes };
        throw err;
    } finally {
        quarantined.dispose();
    }
}
