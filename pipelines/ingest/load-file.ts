import { once } from 'node:events';
import type { Readable } from 'node:stream';
import type { PoolClient } from 'pg';
import copyStreams from 'pg-copy-streams';
import type { ForgottenSubjects } from './forgotten.js';
import type { FormatOptions, InputFormat } from './formats/format.js';
import { decodeLine, eventRow, lineContext } from './parse-line.js';
import { quarantineText } from './quarantine-text.js';
import { copyText } from './parse-line.js';
import { QuarantineSpool } from './quarantine-spool.js';
import { RAW_COPY_COLUMNS } from './contract/raw-columns.js';
import { newReadStats, readLineBatches } from './read-lines.js';
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
}

export interface LoadOptions {
    readonly loadId: string;
    readonly maxErrorRate: number;
    /** The live manifest row to supersede (policy `replace` for a changed file). */
    readonly replaceFileId?: string;
    readonly onProgress?: (rows: number, bytes: number) => void;
    /** Where quarantined lines are spooled during the load (a folder of the tokenmart home). */
    readonly spoolDir: string;
    readonly forgotten?: ForgottenSubjects;
    /** The retention horizon (YYYY-MM-DD), if any. */
    readonly notBefore?: string;
    /** The formats to detect from, in order (FORMATS), or the one --format names. */
    readonly formats: readonly InputFormat[];
    readonly forceFormat?: boolean;
    readonly formatOptions: FormatOptions;
    /** Do everything but commit: the file is read, mapped and checked, and the transaction rolled back. */
    readonly dryRun?: boolean;
    /**
     * The caller holds a transaction for a batch of small files: this file is a savepoint in it,
     * released on success and rolled back to on failure; the batch commits (or not) as a whole.
     */
    readonly inBatch?: boolean;
}

const EMPTY_REDACTIONS = { email: 0, phone: 0, card: 0, api_key: 0, ip: 0 } as const;

/** A line longer than this is quarantined (its start kept): one line must not take the memory. */
export const MAX_LINE_BYTES = 8 * 2 ** 20;

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

class FileRejected extends Error {}

/** Postgres refused a row the contract let through: fail this file, not the whole run. */
function rejectedByPostgres(err: Error): FileRejected {
    const e = err as Error & { where?: string };
    return new FileRejected(
        `Postgres rejected a row (${e.message}${e.where ? `; ${e.where.split('\n')[0]}` : ''}); nothing of the file was loaded: fix the value at that line, or report it if the event is valid`,
    );
}

/** A JSON error at the very end of the text: the value goes on in the next lines (a multi-line document). */
function endsEarly(reason: string, text: string): boolean {
    if (/end of JSON input|Unterminated string/.test(reason)) return true;
    const at = /at position (\d+)/.exec(reason);
    return at !== null && Number(at[1]) >= text.trimEnd().length;
}

/**
 * Loads one file all-or-nothing: its rows, its quarantined lines and its manifest row commit in one
 * transaction, or none of them does. The caller has decided the file is new (or to be replaced).
 */
export async function loadFile(client: PoolClient, file: SourceFile, scrubber: PiiScrubber, options: LoadOptions): Promise<FileResult> {
    const before = { ...scrubber.counts };
    const stats = newReadStats();
    let lines = 0;
    let blank = 0;
    let loaded = 0;
    let unknownVersion = 0;
    let forgotten = 0;
    let skipped = 0;
    const samples: string[] = [];
    // Found from the first record that parses (a name says nothing reliable about content).
    let format: InputFormat | undefined = options.forceFormat ? options.formats[0] : undefined;
    const ctx = lineContext(scrubber, options.forgotten, options.notBefore);
    const days = new Set<string>(); // UTC days this file touches: a handful, whatever its size
    const quarantined = new QuarantineSpool(file.uri, options.spoolDir);
    const tx = options.inBatch
        ? { begin: 'savepoint file_load', commit: 'release savepoint file_load', rollback: 'rollback to savepoint file_load' }
        : { begin: 'begin', commit: 'commit', rollback: 'rollback' };
    await client.query(tx.begin);
    try {
        // Two loaders on the same file wait for each other; the second then sees the manifest row.
        await client.query('select pg_advisory_xact_lock(hashtextextended($1, 7))', [file.uri]);
        const live = await client.query<{ file_id: string }>("select file_id from ops.load_manifest where source_uri = $1 and status = 'loaded'", [file.uri]);
        if (live.rowCount && live.rows[0].file_id !== options.replaceFileId) {
            await client.query(tx.rollback);
            return emptyResult(file.uri, 'skipped', 'already loaded (by a concurrent run)');
        }
        if (options.replaceFileId) {
            // Every day whose deduplicated rows may change: the old rows' days, and the days of any
            // other row sharing a request_id with them (a losing duplicate may now win).
            await client.query(
                `insert into ops.dirty_days (usage_date, file_id)
                 select distinct (o.event_at at time zone 'UTC')::date, $1::bigint from raw.events o
                 where o.request_id in (select request_id from raw.events where file_id = $1)`,
                [options.replaceFileId],
            );
            await client.query("update ops.load_manifest set status = 'superseded', superseded_at = now() where file_id = $1", [options.replaceFileId]);
            await client.query('delete from raw.events where file_id = $1', [options.replaceFileId]);
        }
        const inserted = await client.query<{ file_id: string }>(
            `insert into ops.load_manifest (load_id, source_uri, content_id, size_bytes, modified_at, lines_total, rows_loaded, rows_quarantined, blank_lines, duplicate_rows, unknown_version_rows)
             values ($1, $2, 'pending', $3, $4, 0, 0, 0, 0, 0, 0) returning file_id`,
            [options.loadId, file.uri, file.size, file.modifiedAt],
        );
        const fileId = inserted.rows[0].file_id;
        const prefix = `${fileId}\t`;
        const copy = client.query(copyStreams.from(`copy raw.events (${RAW_COPY_COLUMNS.join(', ')}) from stdin`));
        const copyDone = new Promise<void>((resolve, reject) => {
            copy.on('finish', resolve);
            copy.on('error', reject);
        });
        let copyError: Error | undefined;
        copyDone.catch((err: Error) => (copyError = err)); // surfaced below, never as an unhandled rejection
        let input: Readable | undefined;
        let lineNo = 0;
        try {
            input = await file.open();
            /** One record (a line, or a whole document) -> COPY rows, quarantined entries and counts. */
            const record = async (value: unknown, text: string, at: number): Promise<string> => {
                let rows = '';
                format ??= options.formats.find((f) => f.detect(value)) ?? options.formats[options.formats.length - 1];
                // A native file takes any JSON value: the contract check gives the reason a line is not an event.
                if (format.name !== 'native' && !format.detect(value)) {
                    const reason = `not ${format.name} (the file is read as ${format.name}${options.forceFormat ? ', as --format says' : ', from its first record'}): a file holds one format`;
                    await quarantined.add(at, reason, quarantineText(scrubber, text.slice(0, 200)));
                    return rows;
                }
                const mapped = format.map(value, options.formatOptions);
                skipped += mapped.skipped;
                for (const e of mapped.errors) await quarantined.add(at, e.reason, quarantineText(scrubber, JSON.stringify(e.summary), e.summary), e.recordNo);
                for (const m of mapped.events) {
                    // A native line is its own record; a mapped event is quarantined as mapped, never
                    // as the source line (an OTLP batch may hold prompts).
                    const native = format.name === 'native';
                    const outcome = eventRow(m.event, native ? text : JSON.stringify(m.event), ctx);
                    if (outcome.kind === 'bad')
                        await quarantined.add(at, native ? outcome.reason : `${format.name} record ${m.recordNo}: ${outcome.reason}`, outcome.text, m.recordNo);
                    else if (outcome.kind === 'forgotten') forgotten++;
                    else if (outcome.kind === 'event') {
                        rows += `${prefix + at}\t${outcome.copyRow}\t${m.recordNo}\t${m.recordId === undefined ? '\\N' : copyText(m.recordId)}\n`;
                        loaded++;
                        if (options.dryRun && samples.length < 3) samples.push(quarantineText(scrubber, JSON.stringify(m.event), m.event));
                        days.add(outcome.usageDate);
                        if (outcome.unknownVersion) unknownVersion++;
                    }
                }
                return rows;
            };
            /** Lines gathered for a document that turned out not to be one, read one by one. */
            const asLines = async (buffered: readonly Buffer[], at: number): Promise<string> => {
                let rows = '';
                for (let k = 0; k < buffered.length; k++) {
                    const line = decodeLine(buffered[k], scrubber);
                    if (line.kind === 'blank') blank++;
                    else if (line.kind === 'bad') await quarantined.add(at + k, line.reason, line.text);
                    else rows += await record(line.value, line.text, at + k);
                }
                return rows;
            };
            // A file whose first line is the start of a multi-line JSON document (pretty-printed
            // OTLP, one LiteLLM payload) is one record: its lines are gathered, then parsed whole.
            let document: Buffer[] | undefined;
            let documentBytes = 0;
            for await (const batch of readLineBatches(input, stats, MAX_LINE_BYTES)) {
                let out = '';
                for (let i = 0; i < batch.lines.length; i++) {
                    lineNo = batch.firstLineNo + i;
                    if (document) {
                        documentBytes += batch.lines[i].length + 1;
                        // A second line that is a whole object, or more than a line's worth of
                        // document: JSON Lines after all, whose first line is cut short.
                        const whole = document.length === 1 && decodeLine(batch.lines[i], scrubber).kind === 'json';
                        if (!whole && documentBytes <= MAX_LINE_BYTES) {
                            document.push(batch.lines[i]);
                            continue;
                        }
                        out += await asLines(document, 1 + blank);
                        document = undefined;
                    }
                    const oversize = batch.oversize?.get(i);
                    if (oversize !== undefined) {
                        const reason = `line is longer than ${MAX_LINE_BYTES / 2 ** 20} MiB (${oversize} bytes); only its start is kept here`;
                        await quarantined.add(lineNo, reason, quarantineText(scrubber, batch.lines[i].toString('utf8')));
                        continue;
                    }
                    const decoded = decodeLine(batch.lines[i], scrubber);
                    if (decoded.kind === 'blank') blank++;
                    else if (decoded.kind === 'bad') {
                        const start = batch.lines[i].toString('utf8').trim();
                        if (lineNo === 1 + blank && /^[{[]/.test(start) && endsEarly(decoded.reason, start)) {
                            document = [batch.lines[i]];
                            documentBytes = batch.lines[i].length;
                        } else await quarantined.add(lineNo, decoded.reason, decoded.text);
                    } else out += await record(decoded.value, decoded.text, lineNo);
                }
                lines += batch.lines.length;
                if (out && !copy.write(out)) await once(copy, 'drain');
                options.onProgress?.(loaded, stats.rawBytes);
            }
            if (document) {
                const decoded = decodeLine(Buffer.concat(document.flatMap((b) => [b, Buffer.from('\n')])), scrubber);
                const out = decoded.kind === 'json' ? await record(decoded.value, decoded.text, 1 + blank) : await asLines(document, 1 + blank);
                if (out && !copy.write(out)) await once(copy, 'drain');
            }
        } catch (err) {
            // Postgres refusing a row ends the COPY first and breaks our writes: report its reason.
            const refused = copyError;
            input?.destroy(); // stop reading (and downloading) a file we will not load
            copy.destroy(err as Error);
            await copyDone.catch(() => undefined);
            if (refused) throw rejectedByPostgres(refused);
            const msg = (err as Error).message;
            const code = (err as { code?: string }).code ?? '';
            if (['ENOSPC', 'EFBIG', 'EDQUOT'].includes(code)) {
                throw new FileRejected(
                    `no room to spool quarantined lines in ${options.spoolDir} (${code}) at line ${lineNo}; nothing of the file was loaded: free disk space (or set TOKENMART_HOME elsewhere) and rerun`,
                );
            }
            const reason =
                /unexpected end of file|incorrect header check|invalid|zlib/i.test(msg) || (err as { code?: string }).code?.startsWith('Z_')
                    ? `gzip stream is corrupt or truncated after ${lines} lines (${msg}); the file is incomplete: re-upload it, nothing of it was loaded`
                    : `reading failed after ${lines} lines (${msg}); nothing of it was loaded, rerun to retry`;
            throw new FileRejected(reason);
        }
        copy.end();
        await copyDone.catch((err: Error) => {
            throw rejectedByPostgres(err);
        });

        // Per record: a native line is one; an OTLP line may hold many (quarantined ones included).
        const considered = loaded + quarantined.count + forgotten;
        if (considered > 0 && quarantined.count / considered > options.maxErrorRate) {
            const first = quarantined.first!;
            throw new FileRejected(
                `${quarantined.count} of ${considered} records are invalid (${((100 * quarantined.count) / considered).toFixed(1)}% > ${(100 * options.maxErrorRate).toFixed(1)}% allowed; first: line ${first.lineNo}: ${first.reason}); fix the writer, or raise --max-error-rate to load the good lines`,
            );
        }
        await quarantined.copyInto(client, fileId);
        // Duplicates are kept in raw (staging dedupes); count them here so every load says how many.
        const dup = await client.query<{ n: string }>(
            `with f as (select request_id from raw.events where file_id = $1)
             select ((select count(*) from f) - (select count(distinct request_id) from f)
                + (select count(distinct f.request_id) from f
                   where exists (select 1 from raw.events o where o.request_id = f.request_id and o.file_id <> $1)))::text as n`,
            [fileId],
        );
        const duplicateRows = Number(dup.rows[0].n);
        await client.query('insert into ops.dirty_days (usage_date, file_id) select d, $1 from unnest($2::date[]) as d', [fileId, [...days].sort()]);
        const redactions = Object.fromEntries(Object.entries(scrubber.counts).map(([k, v]) => [k, v - before[k as RedactionKind]])) as Record<
            RedactionKind,
            number
        >;
        const contentId = file.knownContentId ?? `sha256:${stats.hash.digest('hex')}`;
        await client.query(
            `update ops.load_manifest set content_id = $2, size_bytes = $3, lines_total = $4, rows_loaded = $5, rows_quarantined = $6,
                blank_lines = $7, duplicate_rows = $8, unknown_version_rows = $9, redactions = $10, rows_forgotten = $11, values_cut = $12,
                format = $13, records_skipped = $14 where file_id = $1`,
            [
                fileId,
                contentId,
                stats.rawBytes,
                lines,
                loaded,
                quarantined.count,
                blank,
                duplicateRows,
                unknownVersion,
                JSON.stringify(redactions),
                forgotten,
                ctx.cutValues,
                format?.name ?? 'native',
                skipped,
            ],
        );
        await client.query(options.dryRun ? tx.rollback : tx.commit);
        return {
            ...(options.dryRun ? { samples, quarantineSamples: quarantined.samples } : {}),
            uri: file.uri,
            status: 'loaded',
            format: format?.name ?? 'native',
            fileId,
            linesTotal: lines,
            rowsLoaded: loaded,
            rowsQuarantined: quarantined.count,
            blankLines: blank,
            forgottenRows: forgotten,
            valuesCut: ctx.cutValues,
            duplicateRows,
            unknownVersionRows: unknownVersion,
            recordsSkipped: skipped,
            bytes: stats.rawBytes,
            redactions,
        };
    } catch (err) {
        await client.query(tx.rollback).catch(() => undefined);
        // Counts made inside a rolled-back load never happened.
        Object.assign(scrubber.counts, before);
        if (err instanceof FileRejected) return { ...emptyResult(file.uri, 'failed', err.message), linesTotal: lines, bytes: stats.rawBytes };
        throw err;
    } finally {
        quarantined.dispose();
    }
}
