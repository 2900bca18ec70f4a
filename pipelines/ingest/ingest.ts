import { createHash, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool, PoolClient } from 'pg';
import type { OnChangedFile } from '../config/config.js';
import { emptyResult, loadFile, type FileResult, type LoadCounts } from './load-file.js';
import type { ForgottenSubjects } from './forgotten.js';
import { removeLeftoverSpools } from './quarantine-spool.js';
import { PiiScrubber, type RedactionKind } from './scrub-pii.js';
import type { Source, SourceFile } from './sources/source.js';
import { type AttributeMapping, DEFAULT_ATTRIBUTE_MAPPING, FORMATS, inputFormats } from './formats/format.js';
import { partsInOrder } from '../util/load-parts.js';
import { UserError } from '../util/errors.js';

export interface IngestOptions {
    readonly maxErrorRate: number;
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
}

/** Files up to this size are loaded in shared transactions of up to BATCH_FILES files or BATCH_BYTES. */
export const SMALL_FILE_BYTES = 1 << 20;
const BATCH_FILES = 1000;
const BATCH_BYTES = 32 << 20;

export interface IngestProgress {
    fileStarted(uri: string, size: number): void;
    rows(rows: number, bytes: number): void;
    fileDone(result: FileResult): void;
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
    const results: FileResult[] = [];
    const spoolDir = options.spoolDir ?? join(tmpdir(), 'tokenmart-spool');
    // A loader killed mid-file left its spool (scrubbed lines, but still): the next run removes it.
    removeLeftoverSpools(spoolDir);
    const known = await inputFormats();
    if (options.format && !known.has(options.format))
        throw new UserError(`ingest: --format "${options.format}" is not a format; use one of ${FORMATS.join(', ')} (or leave it out to detect each file's)`);
    const formats = options.format ? [known.get(options.format)!] : await partsInOrder(FORMATS, Promise.resolve(known), 'pipelines/ingest/formats/format.ts');
    const formatOptions = { attributes: options.attributes ?? DEFAULT_ATTRIBUTE_MAPPING };
    const client = await pool.connect();
    // Small files share a transaction (each a savepoint in it): one commit for hundreds of
    // one-request objects instead of one each. A crash rolls the whole batch back, manifest rows
    // included, so every file of it loads again: still exactly once per file.
    let batch = { open: false, files: 0, bytes: 0 };
    const commitBatch = async () => {
        if (batch.open) await client.query('commit');
        batch = { open: false, files: 0, bytes: 0 };
    };
    try {
        const forgotten = await loadForgotten(client);
        const notBefore = (await client.query<{ h: string }>('select raw_horizon::text as h from ops.retention')).rows[0]?.h;
        for await (const file of source.list()) {
            options.progress?.fileStarted(file.uri, file.size);
            const live = (
                await client.query<LiveManifest>(
                    "select file_id, content_id, size_bytes::text, modified_at from ops.load_manifest where source_uri = $1 and status = 'loaded'",
                    [file.uri],
                )
            ).rows[0];
            let result: FileResult;
            let replaceFileId: string | undefined;
            if (live) {
                const unchangedByStat =
                    !file.knownContentId && Number(live.size_bytes) === file.size && live.modified_at?.getTime() === file.modifiedAt?.getTime();
                const contentId = unchangedByStat ? live.content_id : (file.knownContentId ?? (await localContentId(file)));
                if (contentId === live.content_id) {
                    result = emptyResult(file.uri, 'skipped', 'already loaded');
                    options.progress?.fileDone(result);
                    results.push(result);
                    continue;
                }
                if (options.onChangedFile === 'fail' && !options.dryRun) {
                    const reason = `content changed since it was loaded (file_id ${live.file_id}); loaded files must not change: restore it, write new data to a new file, or rerun with --on-changed replace to supersede the old version`;
                    await client.query('insert into ops.load_failures (load_id, source_uri, content_id, reason) values ($1, $2, $3, $4)', [
                        loadId,
                        file.uri,
                        contentId,
                        reason,
                    ]);
                    result = emptyResult(file.uri, 'failed', reason);
                    options.progress?.fileDone(result);
                    results.push(result);
                    continue;
                }
                replaceFileId = live.file_id;
            }
            const small = !options.dryRun && !options.unbatched && file.size <= SMALL_FILE_BYTES;
            if (!small) await commitBatch();
            else if (!batch.open) {
                await client.query('begin');
                batch = { open: true, files: 0, bytes: 0 };
            }
            result = await loadFile(client, file, scrubber, {
                inBatch: small,
                loadId,
                spoolDir,
                forgotten,
                notBefore,
                maxErrorRate: options.maxErrorRate,
                replaceFileId,
                onProgress: (rows, bytes) => options.progress?.rows(rows, bytes),
                formats,
                forceFormat: options.format !== undefined,
                formatOptions,
                dryRun: options.dryRun,
            });
            if (result.status === 'failed' && !options.dryRun) {
                await client.query('insert into ops.load_failures (load_id, source_uri, content_id, reason) values ($1, $2, $3, $4)', [
                    loadId,
                    file.uri,
                    file.knownContentId ?? null,
                    result.reason,
                ]);
            }
            options.progress?.fileDone(result);
            results.push(result);
            if (small) {
                batch = { ...batch, files: batch.files + 1, bytes: batch.bytes + file.size };
                if (batch.files >= BATCH_FILES || batch.bytes >= BATCH_BYTES) await commitBatch();
            }
        }
        await commitBatch();
    } finally {
        if (batch.open) await client.query('rollback').catch(() => undefined);
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
