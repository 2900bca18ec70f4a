import { createHash, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool, PoolClient } from 'pg';
import type { OnChangedFile } from '../config/config.js';
import { loadBatch } from './load-batch.js';
import { emptyResult, loadFile, type FileResult, type LoadCounts, type LoadOptions } from './load-file.js';
import { allocateFileIds } from './manifest-rows.js';
import { committedPartitions, type PartitionMaker } from './raw-partitions.js';
import type { ForgottenSubjects } from './forgotten.js';
import { removeLeftoverSpools } from './quarantine-spool.js';
import { PiiScrubber, type RedactionKind } from './scrub-pii.js';
import type { Source, SourceFile } from './sources/source.js';
import { type AttributeMapping, DEFAULT_ATTRIBUTE_MAPPING, FORMATS, inputFormats } from './formats/format.js';
import { partsInOrder } from '../util/load-parts.js';
import { UserError } from '../util/errors.js';

export interface IngestOptions {
    readonly maxErrorRate: number;
    /** Distinct UTC days (raw.events partitions) one file may touch (default: read-records.ts DEFAULT_MAX_DAYS_PER_FILE). */
    readonly maxDaysPerFile?: number;
    readonly onChangedFile: OnChangedFile;
    readonly keepText: boolean;
    readonly userIdHmacKey: string | undefined;
    readonly progress?: IngestProgress;
    /** Where quarantined lines are spooled during a load (default: a folder of the OS temp dir). */
    readonly spoolDir?: string;
    /** Read every file as this format (formats/format.ts) instead of detecting it. */
    readonly format?: string;
    /** Which attributes carry team, feature, tenant, user, session and environment (OTLP formats). */
    readonly attributes?: AttributeMapping;
    /** Read, map and check every file, then roll back: nothing is loaded or recorded. */
    readonly dryRun?: boolean;
    /** One transaction per file even for small files (the loader before batching; for benchmarks). */
    readonly unbatched?: boolean;
    /** How a load makes its new days' partitions (default: committedPartitions; tests replace it). */
    readonly makePartitions?: PartitionMaker;
    /** Small files per transaction (default BATCH_FILES): a crash makes the next run load up to this many again. */
    readonly batchFiles?: number;
}

/** Files up to this size are loaded in shared transactions of up to BATCH_FILES files or BATCH_BYTES. */
export const SMALL_FILE_BYTES = 1 << 20;
const BATCH_FILES = 1000;
const BATCH_BYTES = 32 << 20;
/** Files looked up in the manifest with one query. */
const LIST_CHUNK = 1000;
/**
 * Big files loaded at once, each in its own transaction on its own connection: while one records
 * its first copies and commits (Postgres alone), the next is parsed and copied (Node and
 * Postgres). More would only compete for the same cores.
 */
const LOADS_IN_FLIGHT = 2;

export interface IngestProgress {
    fileStarted(uri: string, size: number): void;
    /** A file's rows and bytes read so far (`uri`: which file, when two load at once). */
    rows(rows: number, bytes: number, uri?: string): void;
    fileDone(result: FileResult): void;
    /** Small files loaded together (or, when Postgres refused a row, one by one). */
    batchDone(results: readonly FileResult[], seconds: number): void;
}

export interface IngestSummary extends LoadCounts {
    readonly loadId: string;
    readonly files: readonly FileResult[];
    readonly filesLoaded: number;
    readonly filesSkipped: number;
    readonly filesFailed: number;
    readonly seconds: number;
}

interface LiveManifest {
    file_id: string;
    content_id: string;
    size_bytes: string;
    modified_at: Date | null;
}

/** The users and tenants erased so far (their events are not loaded again). */
async function loadForgotten(client: PoolClient): Promise<ForgottenSubjects> {
    const { rows } = await client.query<{ subject_kind: 'user' | 'tenant'; subject_hash: string }>('select subject_kind, subject_hash from ops.erasures');
    return {
        users: new Set(rows.filter((r) => r.subject_kind === 'user').map((r) => r.subject_hash)),
        tenants: new Set(rows.filter((r) => r.subject_kind === 'tenant').map((r) => r.subject_hash)),
    };
}

/** The live manifest rows of these files, if any: one query for a chunk of the listing. */
async function liveManifests(client: PoolClient, uris: readonly string[]): Promise<ReadonlyMap<string, LiveManifest>> {
    const { rows } = await client.query<LiveManifest & { source_uri: string }>(
        "select source_uri, file_id, content_id, size_bytes::text, modified_at from ops.load_manifest where source_uri = any($1::text[]) and status = 'loaded'",
        [uris],
    );
    return new Map(rows.map((r) => [r.source_uri, r]));
}

async function* inChunks<T>(items: AsyncIterable<T>, size: number): AsyncIterable<T[]> {
    let chunk: T[] = [];
    for await (const item of items) {
        chunk.push(item);
        if (chunk.length >= size) {
            yield chunk;
            chunk = [];
        }
    }
    if (chunk.length) yield chunk;
}

/** The same content id the loader records: SHA-256 of the raw bytes (no decompression needed). */
async function localContentId(file: SourceFile): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of await file.open()) hash.update(chunk as Buffer);
    return `sha256:${hash.digest('hex')}`;
}

/**
 * Loads every file of a source that is not loaded yet, each all-or-nothing. A file whose content
 * changed under the same name is handled by policy: `fail` (default) reports it and loads nothing;
 * `replace` supersedes the old version, deleting its rows, in the same transaction as the new load.
 */
export async function ingest(pool: Pool, source: Source, options: IngestOptions): Promise<IngestSummary> {
    const started = Date.now();
    const loadId = randomUUID();
    const scrubber = new PiiScrubber({ keepText: options.keepText, userIdHmacKey: options.userIdHmacKey });
    const spoolDir = options.spoolDir ?? join(tmpdir(), 'tokenmart-spool');
    // A loader killed mid-file left its spool (scrubbed lines, but still): the next run removes it.
    removeLeftoverSpools(spoolDir);
    const known = await inputFormats();
    if (options.format && !known.has(options.format))
        throw new UserError(`ingest: --format "${options.format}" is not a format; use one of ${FORMATS.join(', ')} (or leave it out to detect each file's)`);
    const formats = options.format ? [known.get(options.format)!] : await partsInOrder(FORMATS, Promise.resolve(known), 'pipelines/ingest/formats/format.ts');
    const formatOptions = { attributes: options.attributes ?? DEFAULT_ATTRIBUTE_MAPPING };
    const client = await pool.connect();
    const inFlight = new Set<Promise<void>>();
    const results: FileResult[] = [];
    const done = (index: number, result: FileResult) => {
        results[index] = result;
        options.progress?.fileDone(result);
    };
    const recordFailure = async (uri: string, contentId: string | null, reason: string | undefined, on: PoolClient = client) => {
        if (options.dryRun) return;
        await on.query('insert into ops.load_failures (load_id, source_uri, content_id, reason) values ($1, $2, $3, $4)', [loadId, uri, contentId, reason]);
    };
    try {
        const loadOptions = {
            loadId,
            spoolDir,
            forgotten: await loadForgotten(client),
            notBefore: (await client.query<{ h: string }>('select raw_horizon::text as h from ops.retention')).rows[0]?.h,
            maxErrorRate: options.maxErrorRate,
            maxDaysPerFile: options.maxDaysPerFile,
            onProgress: (rows: number, bytes: number) => options.progress?.rows(rows, bytes),
            formats,
            forceFormat: options.format !== undefined,
            formatOptions,
            dryRun: options.dryRun,
            keepSamples: options.dryRun,
            // A dry run makes its partitions in its transaction, so it leaves nothing behind.
            makePartitions: options.dryRun ? undefined : (options.makePartitions ?? committedPartitions(pool)),
        };
        /** Loads one file, streaming, on connection `on`, and records what became of it. */
        const loadAndRecord = async (on: PoolClient, at: number, file: SourceFile, fileScrubber: PiiScrubber, fileOptions: LoadOptions) => {
            options.progress?.fileStarted(file.uri, file.size);
            const result = await loadFile(on, file, fileScrubber, fileOptions);
            if (result.status === 'failed') await recordFailure(file.uri, file.knownContentId ?? null, result.reason, on);
            done(at, result);
        };
        /** A new big file, loaded beside the others in flight on a connection of its own. */
        const loadAlongside = async (at: number, file: SourceFile) => {
            while (inFlight.size >= LOADS_IN_FLIGHT) await Promise.race(inFlight);
            const [fileId] = await allocateFileIds(client, 1); // in listing order (load-file.ts, fileId)
            const fileOptions = {
                ...loadOptions,
                fileId,
                onProgress: (rows: number, bytes: number) => options.progress?.rows(rows, bytes, file.uri),
            };
            const load = (async () => {
                const own = await pool.connect();
                try {
                    // Its own scrubber: a load that rolls back resets its counts, not another's.
                    const counts = new PiiScrubber({ keepText: options.keepText, userIdHmacKey: options.userIdHmacKey });
                    await loadAndRecord(own, at, file, counts, fileOptions);
                } finally {
                    own.release();
                }
            })();
            inFlight.add(load);
            // Settled loads leave the set; a failure surfaces where the loop awaits them.
            load.then(
                () => inFlight.delete(load),
                () => inFlight.delete(load),
            );
        };
        const settle = async () => {
            for (const load of [...inFlight]) await load;
        };
        // Small new files wait here, then load together (load-batch.ts): one transaction for
        // hundreds of one-request objects instead of one each.
        let batch: { index: number; file: SourceFile }[] = [];
        let batchBytes = 0;
        const flush = async () => {
            if (!batch.length) return;
            const pending = batch;
            batch = [];
            batchBytes = 0;
            const started = Date.now();
            const loaded = await loadBatch(
                client,
                pending.map((p) => p.file),
                scrubber,
                loadOptions,
            );
            // Postgres refused a row: the batch's files load one by one, so only the file at fault
            // fails; a file too big to hold in memory loads alone, streaming.
            const each: FileResult[] = [];
            for (let k = 0; k < pending.length; k++) each.push(loaded?.[k] ?? (await loadFile(client, pending[k].file, scrubber, loadOptions)));
            for (let k = 0; k < pending.length; k++) {
                results[pending[k].index] = each[k];
                if (each[k].status === 'failed') await recordFailure(each[k].uri, pending[k].file.knownContentId ?? null, each[k].reason);
            }
            options.progress?.batchDone(each, (Date.now() - started) / 1000);
        };
        let index = 0;
        for await (const chunk of inChunks(source.list(), LIST_CHUNK)) {
            const live = await liveManifests(
                client,
                chunk.map((f) => f.uri),
            );
            for (const file of chunk) {
                const at = index++;
                const old = live.get(file.uri);
                let replaceFileId: string | undefined;
                if (old) {
                    const unchangedByStat =
                        !file.knownContentId && Number(old.size_bytes) === file.size && old.modified_at?.getTime() === file.modifiedAt?.getTime();
                    const contentId = unchangedByStat ? old.content_id : (file.knownContentId ?? (await localContentId(file)));
                    if (contentId === old.content_id) {
                        done(at, emptyResult(file.uri, 'skipped', 'already loaded'));
                        continue;
                    }
                    if (options.onChangedFile === 'fail' && !options.dryRun) {
                        const reason = `content changed since it was loaded (file_id ${old.file_id}); loaded files must not change: restore it, write new data to a new file, or rerun with --on-changed replace to supersede the old version`;
                        await recordFailure(file.uri, contentId, reason);
                        done(at, emptyResult(file.uri, 'failed', reason));
                        continue;
                    }
                    replaceFileId = old.file_id;
                }
                if (!options.dryRun && !options.unbatched && !replaceFileId && file.size <= SMALL_FILE_BYTES) {
                    options.progress?.fileStarted(file.uri, file.size);
                    batch.push({ index: at, file });
                    batchBytes += file.size;
                    if (batch.length >= (options.batchFiles ?? BATCH_FILES) || batchBytes >= BATCH_BYTES) await flush();
                    continue;
                }
                await flush();
                if (!replaceFileId && !options.dryRun) {
                    await loadAlongside(at, file);
                    continue;
                }
                // Replacing a file, and a dry run, go alone.
                await settle();
                await loadAndRecord(client, at, file, scrubber, { ...loadOptions, replaceFileId });
            }
        }
        await flush();
        await settle();
        if (!options.dryRun) {
            // A file of this run that committed after a later one took first copies back: the later
            // file's duplicate count grew after it returned (raw-partitions.ts). Report the counts now.
            const { rows } = await client.query<{ file_id: string; duplicate_rows: number }>(
                'select file_id::text, duplicate_rows from ops.load_manifest where load_id = $1',
                [loadId],
            );
            const now = new Map(rows.map((r) => [r.file_id, r.duplicate_rows]));
            for (let i = 0; i < results.length; i++) {
                const n = results[i]?.fileId === undefined ? undefined : now.get(results[i].fileId!);
                if (n !== undefined && n !== results[i].duplicateRows) results[i] = { ...results[i], duplicateRows: n };
            }
        }
    } finally {
        // A load still running when another failed finishes (or fails) before the run returns.
        await Promise.allSettled(inFlight);
        client.release();
    }
    // Line counts cover loaded files only, so loaded + quarantined + blank = lines holds for the run.
    const loadedFiles = results.filter((r) => r.status === 'loaded');
    const sum = (f: (r: FileResult) => number) => loadedFiles.reduce((acc, r) => acc + f(r), 0);
    const redactions = { email: 0, phone: 0, card: 0, api_key: 0, ip: 0 };
    for (const r of results) for (const k of Object.keys(redactions) as RedactionKind[]) redactions[k] += r.redactions[k];
    return {
        loadId,
        files: results,
        filesLoaded: results.filter((r) => r.status === 'loaded').length,
        filesSkipped: results.filter((r) => r.status === 'skipped').length,
        filesFailed: results.filter((r) => r.status === 'failed').length,
        linesTotal: sum((r) => r.linesTotal),
        rowsLoaded: sum((r) => r.rowsLoaded),
        rowsQuarantined: sum((r) => r.rowsQuarantined),
        blankLines: sum((r) => r.blankLines),
        forgottenRows: sum((r) => r.forgottenRows),
        valuesCut: sum((r) => r.valuesCut),
        duplicateRows: sum((r) => r.duplicateRows),
        unknownVersionRows: sum((r) => r.unknownVersionRows),
        recordsSkipped: sum((r) => r.recordsSkipped),
        bytes: sum((r) => r.bytes),
        redactions,
        seconds: (Date.now() - started) / 1000,
    };
}
