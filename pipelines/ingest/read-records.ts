import type { Readable } from 'node:stream';
import type { ForgottenSubjects } from './forgotten.js';
import type { FormatOptions, InputFormat } from './formats/format.js';
import { copyText, decodeLine, eventRow, type LineContext, lineContext } from './parse-line.js';
import type { QuarantineSpool } from './quarantine-spool.js';
import { quarantineText } from './quarantine-text.js';
import { newReadStats, type ReadStats, readLineBatches } from './read-lines.js';
import type { PiiScrubber } from './scrub-pii.js';

/** A line longer than this is quarantined (its start kept): one line must not take the memory. */
export const MAX_LINE_BYTES = 8 * 2 ** 20;

/** How a file is read and mapped: the same for a file loaded alone and one of a batch. */
export interface ReadOptions {
    readonly maxErrorRate: number;
    /** Distinct UTC days the file may touch: each is a raw.events partition (config ingest.maxDaysPerFile). */
    readonly maxDaysPerFile?: number;
    /** Where quarantined lines are spooled during the load (a folder of the tokenmart home). */
    readonly spoolDir: string;
    readonly forgotten?: ForgottenSubjects;
    /** The retention horizon (YYYY-MM-DD), if any. */
    readonly notBefore?: string;
    /** The formats to detect from, in order (FORMATS), or the one --format names. */
    readonly formats: readonly InputFormat[];
    readonly forceFormat?: boolean;
    readonly formatOptions: FormatOptions;
    /** Keep a few mapped events as they would land (a dry run's report). */
    readonly keepSamples?: boolean;
    readonly onProgress?: (rows: number, bytes: number) => void;
}

/** What reading one file found; filled in as it goes, so a failure can say how far it got. */
export interface FileReading {
    lines: number;
    lineNo: number;
    blank: number;
    loaded: number;
    unknownVersion: number;
    forgotten: number;
    skipped: number;
    format: InputFormat | undefined;
    readonly samples: string[];
    /** UTC days the file touches: a handful, whatever its size. */
    readonly days: Set<string>;
    readonly stats: ReadStats;
    readonly ctx: LineContext;
}

export function newFileReading(scrubber: PiiScrubber, options: ReadOptions): FileReading {
    return {
        lines: 0,
        lineNo: 0,
        blank: 0,
        loaded: 0,
        unknownVersion: 0,
        forgotten: 0,
        skipped: 0,
        // Found from the first record that parses (a name says nothing reliable about content).
        format: options.forceFormat ? options.formats[0] : undefined,
        samples: [],
        days: new Set(),
        stats: newReadStats(),
        ctx: lineContext(scrubber, options.forgotten, options.notBefore),
    };
}

/** Distinct UTC days one file may touch unless ingest.maxDaysPerFile says otherwise (almost three years). */
export const DEFAULT_MAX_DAYS_PER_FILE = 1000;

/** A file that is not loaded, with the reason (one line with the fix); nothing of it lands. */
export class FileRejected extends Error {}

/** A JSON error at the very end of the text: the value goes on in the next lines (a multi-line document). */
function endsEarly(reason: string, text: string): boolean {
    if (/end of JSON input|Unterminated string/.test(reason)) return true;
    const at = /at position (\d+)/.exec(reason);
    return at !== null && Number(at[1]) >= text.trimEnd().length;
}

/**
 * Reads a file's records and maps them to raw.events COPY rows (each starting with `rowPrefix`,
 * the file id and a tab), handed to `write` a chunk at a time; unmappable records go to
 * `quarantined`. Throws what reading throws; the caller turns it into a reason (readFailure).
 */
export async function readRecords(
    input: Readable,
    r: FileReading,
    scrubber: PiiScrubber,
    options: ReadOptions,
    rowPrefix: string,
    quarantined: QuarantineSpool,
    write: (rows: string) => Promise<void>,
): Promise<void> {
    const { formats, forceFormat } = options;
    /** One record (a line, or a whole document) -> COPY rows, quarantined entries and counts. */
    const record = async (value: unknown, text: string, at: number): Promise<string> => {
        let rows = '';
        r.format ??= formats.find((f) => f.detect(value)) ?? formats[formats.length - 1];
        const format = r.format;
        // A native file takes any JSON value: the contract check gives the reason a line is not an event.
        if (format.name !== 'native' && !format.detect(value)) {
            const reason = `not ${format.name} (the file is read as ${format.name}${forceFormat ? ', as --format says' : ', from its first record'}): a file holds one format`;
            await quarantined.add(at, reason, quarantineText(scrubber, text.slice(0, 200)));
            return rows;
        }
        const mapped = format.map(value, options.formatOptions);
        r.skipped += mapped.skipped;
        for (const e of mapped.errors) await quarantined.add(at, e.reason, quarantineText(scrubber, JSON.stringify(e.summary), e.summary), e.recordNo);
        for (const m of mapped.events) {
            // A native line is its own record; a mapped event is quarantined as mapped, never
            // as the source line (an OTLP batch may hold prompts).
            const native = format.name === 'native';
            const outcome = eventRow(m.event, native ? text : JSON.stringify(m.event), r.ctx);
            if (outcome.kind === 'bad')
                await quarantined.add(at, native ? outcome.reason : `${format.name} record ${m.recordNo}: ${outcome.reason}`, outcome.text, m.recordNo);
            else if (outcome.kind === 'forgotten') r.forgotten++;
            else if (outcome.kind === 'event') {
                rows += `${rowPrefix + at}\t${outcome.copyRow}\t${m.recordNo}\t${m.recordId === undefined ? '\\N' : copyText(m.recordId)}\n`;
                r.loaded++;
                if (options.keepSamples && r.samples.length < 3) r.samples.push(quarantineText(scrubber, JSON.stringify(m.event), m.event));
                if (!r.days.has(outcome.usageDate)) {
                    r.days.add(outcome.usageDate);
                    const most = options.maxDaysPerFile ?? DEFAULT_MAX_DAYS_PER_FILE;
                    if (r.days.size > most)
                        throw new FileRejected(
                            `events on more than ${most} different UTC days (line ${at} adds ${outcome.usageDate}); each day is a raw.events partition, so a file of wrong timestamps would create thousands: nothing of the file was loaded; check its timestamp field, split the file, or raise ingest.maxDaysPerFile`,
                        );
                }
                if (outcome.unknownVersion) r.unknownVersion++;
            }
        }
        return rows;
    };
    /** Lines gathered for a document that turned out not to be one, read one by one. */
    const asLines = async (buffered: readonly Buffer[], at: number): Promise<string> => {
        let rows = '';
        for (let k = 0; k < buffered.length; k++) {
            const line = decodeLine(buffered[k], scrubber);
            if (line.kind === 'blank') r.blank++;
            else if (line.kind === 'bad') await quarantined.add(at + k, line.reason, line.text);
            else rows += await record(line.value, line.text, at + k);
        }
        return rows;
    };
    // A file whose first line is the start of a multi-line JSON document (pretty-printed
    // OTLP, one LiteLLM payload) is one record: its lines are gathered, then parsed whole.
    let document: Buffer[] | undefined;
    let documentBytes = 0;
    for await (const batch of readLineBatches(input, r.stats, MAX_LINE_BYTES)) {
        let out = '';
        for (let i = 0; i < batch.lines.length; i++) {
            const lineNo = batch.firstLineNo + i;
            r.lineNo = lineNo;
            if (document) {
                documentBytes += batch.lines[i].length + 1;
                // A second line that is a whole object, or more than a line's worth of
                // document: JSON Lines after all, whose first line is cut short.
                const whole = document.length === 1 && decodeLine(batch.lines[i], scrubber).kind === 'json';
                if (!whole && documentBytes <= MAX_LINE_BYTES) {
                    document.push(batch.lines[i]);
                    continue;
                }
                out += await asLines(document, 1 + r.blank);
                document = undefined;
            }
            const oversize = batch.oversize?.get(i);
            if (oversize !== undefined) {
                const reason = `line is longer than ${MAX_LINE_BYTES / 2 ** 20} MiB (${oversize} bytes); only its start is kept here`;
                await quarantined.add(lineNo, reason, quarantineText(scrubber, batch.lines[i].toString('utf8')));
                continue;
            }
            const decoded = decodeLine(batch.lines[i], scrubber);
            if (decoded.kind === 'blank') r.blank++;
            else if (decoded.kind === 'bad') {
                const start = batch.lines[i].toString('utf8').trim();
                if (lineNo === 1 + r.blank && /^[{[]/.test(start) && endsEarly(decoded.reason, start)) {
                    document = [batch.lines[i]];
                    documentBytes = batch.lines[i].length;
                } else await quarantined.add(lineNo, decoded.reason, decoded.text);
            } else out += await record(decoded.value, decoded.text, lineNo);
        }
        r.lines += batch.lines.length;
        if (out) await write(out);
        options.onProgress?.(r.loaded, r.stats.rawBytes);
    }
    if (document) {
        const decoded = decodeLine(Buffer.concat(document.flatMap((b) => [b, Buffer.from('\n')])), scrubber);
        const out = decoded.kind === 'json' ? await record(decoded.value, decoded.text, 1 + r.blank) : await asLines(document, 1 + r.blank);
        if (out) await write(out);
    }
}

/** Reading a file failed part way: the reason, with the fix. */
export function readFailure(err: unknown, r: FileReading, spoolDir: string): FileRejected {
    if (err instanceof FileRejected) return err;
    const msg = (err as Error).message;
    const code = (err as { code?: string }).code ?? '';
    if (['ENOSPC', 'EFBIG', 'EDQUOT'].includes(code)) {
        return new FileRejected(
            `no room to spool quarantined lines in ${spoolDir} (${code}) at line ${r.lineNo}; nothing of the file was loaded: free disk space (or set TOKENMART_HOME elsewhere) and rerun`,
        );
    }
    return new FileRejected(
        /unexpected end of file|incorrect header check|invalid|zlib/i.test(msg) || code.startsWith('Z_')
            ? `gzip stream is corrupt or truncated after ${r.lines} lines (${msg}); the file is incomplete: re-upload it, nothing of it was loaded`
            : `reading failed after ${r.lines} lines (${msg}); nothing of it was loaded, rerun to retry`,
    );
}

/** Too many bad records: the writer is broken, and loading the rest would hide it. */
export function checkErrorRate(r: FileReading, quarantined: QuarantineSpool, maxErrorRate: number): void {
    // Per record: a native line is one; an OTLP line may hold many (quarantined ones included).
    const considered = r.loaded + quarantined.count + r.forgotten;
    if (considered > 0 && quarantined.count / considered > maxErrorRate) {
        const first = quarantined.first!;
        throw new FileRejected(
            `${quarantined.count} of ${considered} records are invalid (${((100 * quarantined.count) / considered).toFixed(1)}% > ${(100 * maxErrorRate).toFixed(1)}% allowed; first: line ${first.lineNo}: ${first.reason}); fix the writer, or raise --max-error-rate to load the good lines`,
        );
    }
}
