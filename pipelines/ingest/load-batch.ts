import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import copyStreams from 'pg-copy-streams';
import { RAW_COPY_COLUMNS } from './contract/raw-columns.js';
import { emptyResult, type FileResult, type LoadOptions, loadedResult, manifestCounts, redactionsSince } from './load-file.js';
import { allocateFileIds, finishManifests, insertManifests, lockFiles, type ManifestCounts } from './manifest-rows.js';
import { copyQuarantine, QuarantineSpool } from './quarantine-spool.js';
import { ensureRawPartitions } from './raw-partitions.js';
import { checkErrorRate, FileRejected, newFileReading, readFailure, readRecords } from './read-records.js';
import type { PiiScrubber } from './scrub-pii.js';
import type { SourceFile } from './sources/source.js';

/** Objects fetched at once: one-request objects are latency-bound on S3. */
const FETCH_CONCURRENCY = 16;

/**
 * A small file whose rows and quarantined lines outgrow this (a gzip file of 1 MiB can hold
 * hundreds of MiB) leaves the batch: it is loaded alone, streaming, with a flat memory.
 */
const HELD_CHARS = 8 << 20;

class TooBigForBatch extends Error {}

/** A small file read in full, ready to COPY. */
interface ReadFile {
    readonly file: SourceFile;
    readonly counts: ManifestCounts;
    readonly rows: readonly string[];
    readonly quarantined: QuarantineSpool;
}

/** Each file's bytes (or why they could not be read), fetched FETCH_CONCURRENCY at a time, in order. */
async function fetchAll(files: readonly SourceFile[]): Promise<(Buffer | Error)[]> {
    const out: (Buffer | Error)[] = new Array(files.length);
    let next = 0;
    const worker = async () => {
        for (let i = next++; i < files.length; i = next++) {
            try {
                const chunks: Buffer[] = [];
                for await (const chunk of await files[i].open()) chunks.push(chunk as Buffer);
                out[i] = Buffer.concat(chunks);
            } catch (err) {
                out[i] = err as Error;
            }
        }
    };
    await Promise.all(Array.from({ length: Math.min(FETCH_CONCURRENCY, files.length) }, worker));
    return out;
}

/** Postgres refused the data (a data or integrity error), as opposed to the connection failing. */
function refusedData(err: unknown): boolean {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && /^(22|23)/.test(code);
}

/**
 * Loads many small files in one transaction: each is read and mapped in memory first (a file
 * that fails its checks fails alone), then the rest land with one manifest insert, one COPY of
 * their rows, one of their quarantined lines and one statement for their counts. Exactly once per
 * file still holds: every file has its manifest row, and a crash rolls back the whole batch, so a
 * rerun loads all of it. Per file, its result, or undefined for a file too big to hold in memory
 * (the caller loads it alone, streaming). Returns undefined when Postgres refused a row: nothing
 * of the batch is loaded, and the caller loads its files one by one to find the file at fault.
 */
export async function loadBatch(
    client: PoolClient,
    files: readonly SourceFile[],
    scrubber: PiiScrubber,
    options: LoadOptions,
): Promise<(FileResult | undefined)[] | undefined> {
    const batchBefore = { ...scrubber.counts };
    const ids = await allocateFileIds(client, files.length);
    const bodies = await fetchAll(files);
    const results = new Map<string, FileResult>();
    const read: ReadFile[] = [];
    for (let i = 0; i < files.length; i++) {
        const file = files[i];
        const before = { ...scrubber.counts };
        const r = newFileReading(scrubber, options);
        const quarantined = new QuarantineSpool(file.uri, options.spoolDir, { inMemory: true });
        const rows: string[] = [];
        let held = 0;
        const bounded = {
            ...options,
            onProgress: () => {
                if (held + quarantined.heldChars > HELD_CHARS) throw new TooBigForBatch();
            },
        };
        try {
            const body = bodies[i];
            if (body instanceof Error) throw body;
            await readRecords(Readable.from([body]), r, scrubber, bounded, `${ids[i]}\t`, quarantined, async (out) => {
                rows.push(out);
                held += out.length;
            });
            bounded.onProgress();
            checkErrorRate(r, quarantined, options.maxErrorRate);
            read.push({ file, rows, quarantined, counts: manifestCounts(ids[i], file, r, quarantined, redactionsSince(scrubber, before)) });
        } catch (err) {
            Object.assign(scrubber.counts, before);
            if (err instanceof TooBigForBatch) {
                quarantined.dispose();
                continue;
            }
            const rejected = err instanceof FileRejected ? err : readFailure(err, r, options.spoolDir);
            results.set(file.uri, { ...emptyResult(file.uri, 'failed', rejected.message), linesTotal: r.lines, bytes: r.stats.rawBytes });
        }
    }
    await client.query('begin');
    try {
        const live = await lockFiles(
            client,
            read.map((f) => f.file.uri),
        );
        const loading = read.filter((f) => !live.has(f.file.uri));
        for (const f of read) {
            if (!live.has(f.file.uri)) continue;
            results.set(f.file.uri, emptyResult(f.file.uri, 'skipped', 'already loaded (by a concurrent run)'));
            for (const [k, v] of Object.entries(f.counts.redactions)) scrubber.counts[k as keyof typeof scrubber.counts] -= v;
        }
        if (loading.length) {
            await insertManifests(
                client,
                options.loadId,
                loading.map((f) => ({ fileId: f.counts.fileId, file: f.file })),
            );
            await (options.makePartitions ?? ensureRawPartitions)(
                client,
                loading.flatMap((f) => f.counts.days),
            );
            await pipeline(
                Readable.from(loading.flatMap((f) => f.rows)),
                client.query(copyStreams.from(`copy raw.events (${RAW_COPY_COLUMNS.join(', ')}) from stdin`)),
            );
            await copyQuarantine(
                client,
                loading.map((f) => ({ spool: f.quarantined, fileId: f.counts.fileId })),
            );
            const duplicates = await finishManifests(
                client,
                loading.map((f) => f.counts),
            );
            for (const f of loading) results.set(f.file.uri, loadedResult(f.file, f.counts, duplicates.get(f.counts.fileId) ?? 0));
        }
        await client.query('commit');
    } catch (err) {
        await client.query('rollback').catch(() => undefined);
        // Counts made inside a rolled-back load never happened.
        Object.assign(scrubber.counts, batchBefore);
        if (refusedData(err)) return undefined;
        throw err;
    } finally {
        for (const f of read) f.quarantined.dispose();
    }
    return files.map((f) => results.get(f.uri));
}
