import cliProgress from 'cli-progress';
import type { IngestProgress, IngestSummary } from './ingest.js';
import type { FileResult } from './load-file.js';

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

/** A file being read: since when, how big, and how far it got. */
interface Reading {
    readonly started: number;
    readonly size: number;
    rows: number;
    bytes: number;
}

/**
 * A bar (files, rows, MB/s) on a terminal; one line per file otherwise (CI logs, cron). Two big
 * files load at once (ingest.ts): each keeps its own clock and counts, and the bar shows their sum.
 */
export function ingestProgress(write: (line: string) => void, tty = Boolean(process.stderr.isTTY)): IngestProgress {
    const reading = new Map<string, Reading>();
    let last: string | undefined;
    let files = 0;
    let rowsBefore = 0;
    let bar: cliProgress.SingleBar | undefined;
    if (tty) {
        bar = new cliProgress.SingleBar(
            {
                format: 'ingest {bar} {files} files | {rows} rows | {mbps} MB/s | {file}',
                hideCursor: true,
                clearOnComplete: true,
            },
            cliProgress.Presets.shades_classic,
        );
    }
    const sum = (f: (r: Reading) => number) => [...reading.values()].reduce((acc, r) => acc + f(r), 0);
    const redraw = () => {
        if (!bar) return;
        const first = Math.min(...[...reading.values()].map((r) => r.started));
        const secs = Math.max((Date.now() - first) / 1000, 0.001);
        const names = [...reading.keys()].map((uri) => uri.split('/').pop()).join(', ');
        const payload = { files, rows: rowsBefore + sum((r) => r.rows), mbps: mb(sum((r) => r.bytes) / secs), file: names };
        if (!bar.isActive)
            bar.start(
                sum((r) => r.size) || 1,
                sum((r) => r.bytes),
                payload,
            );
        else {
            bar.setTotal(sum((r) => r.size) || 1);
            bar.update(
                sum((r) => r.bytes),
                payload,
            );
        }
    };
    /** Seconds since the file started (0 for one never started), and it stops being read. */
    const finish = (uri: string): number => {
        const r = reading.get(uri);
        reading.delete(uri);
        return r ? (Date.now() - r.started) / 1000 : 0;
    };
    return {
        fileStarted(uri, size) {
            reading.set(uri, { started: Date.now(), size, rows: 0, bytes: 0 });
            last = uri;
            redraw();
        },
        rows(rows, bytes, uri = last) {
            const r = uri === undefined ? undefined : reading.get(uri);
            if (!r) return;
            r.rows = rows;
            r.bytes = bytes;
            redraw();
        },
        fileDone(r: FileResult) {
            files++;
            rowsBefore += r.rowsLoaded;
            const secs = finish(r.uri);
            if (r.status === 'skipped') return; // a rerun over many loaded files stays quiet
            bar?.stop(); // the bar restarts below this file's line
            write(fileLine(r, secs));
            if (reading.size) redraw();
        },
        batchDone(results, secs) {
            if (results.length === 1) {
                this.fileDone(results[0]);
                return;
            }
            files += results.length;
            for (const r of results) finish(r.uri);
            const loaded = results.filter((r) => r.status === 'loaded');
            const sum = (f: (r: FileResult) => number) => loaded.reduce((acc, r) => acc + f(r), 0);
            rowsBefore += sum((r) => r.rowsLoaded);
            bar?.stop();
            // One line for a batch of small files: a gateway's 100,000 objects are not 100,000 lines.
            if (loaded.length)
                write(
                    `ingest: loaded ${loaded.length} small files together (${loaded[0].uri} ... ${loaded.at(-1)!.uri}): ${sum((r) => r.rowsLoaded)} rows, ${sum((r) => r.rowsQuarantined)} quarantined, ${sum((r) => r.blankLines)} blank, ${sum((r) => r.duplicateRows)} duplicates (${sum((r) => r.linesTotal)} lines, ${mb(sum((r) => r.bytes))} MB in ${secs.toFixed(1)} s)`,
                );
            for (const r of results) if (r.status === 'failed') write(fileLine(r, 0));
            if (reading.size) redraw();
        },
    };
}

function fileLine(r: FileResult, secs: number): string {
    // A second attempt says so: a partition list older than another load's new day (load-file.ts).
    const again = r.retriedAfter ? '; loaded again after Postgres refused a row for want of a partition another load had just made' : '';
    return fileLineOf(r, secs) + (r.status === 'loaded' ? again : '');
}

function fileLineOf(r: FileResult, secs: number): string {
    return r.status === 'loaded' && r.samples
        ? `ingest: checked ${r.uri} (dry run, ${r.format}): ${r.linesTotal} lines in ${secs.toFixed(1)} s`
        : r.status === 'loaded'
          ? `ingest: loaded ${r.uri}: ${r.rowsLoaded} rows, ${r.rowsQuarantined} quarantined, ${r.blankLines} blank, ${r.duplicateRows} duplicates (${r.linesTotal} lines, ${mb(r.bytes)} MB in ${secs.toFixed(1)} s)`
          : `ingest: FAILED ${r.uri}: ${r.reason}`;
}

/** The files loaded at a second attempt (load-file.ts), counted in the summary's first line. */
function retriedLoads(s: IngestSummary): string {
    const n = s.files.filter((f) => f.status === 'loaded' && f.retriedAfter).length;
    return n ? `; ${n} loaded at a second attempt (the first refused for want of a partition)` : '';
}

export function formatIngestSummary(s: IngestSummary): string[] {
    const redacted =
        Object.entries(s.redactions)
            .filter(([, n]) => n > 0)
            .map(([k, n]) => `${k} ${n}`)
            .join(', ') || 'none';
    return [
        `ingest: ${s.files.length} files: ${s.filesLoaded} loaded, ${s.filesSkipped} already loaded, ${s.filesFailed} failed${retriedLoads(s)} (load id ${s.loadId}, ${s.seconds.toFixed(1)} s)`,
        `ingest: ${s.rowsLoaded} loaded + ${s.rowsQuarantined} quarantined + ${s.recordsSkipped ? `${s.recordsSkipped} skipped (not model calls) + ` : ''}${s.blankLines} blank${s.forgottenRows ? ` + ${s.forgottenRows} of erased users/tenants (not loaded)` : ''} = ${s.rowsLoaded + s.rowsQuarantined + s.recordsSkipped + s.blankLines + s.forgottenRows} records in ${s.linesTotal} lines` +
            `; ${s.duplicateRows} duplicate request_ids kept in raw (deduplicated in staging); ${s.unknownVersionRows} rows of an unknown newer schema_version`,
        ...formatLines(s),
        `ingest: PII redactions: ${redacted}${s.valuesCut ? `; ${s.valuesCut} dimension values longer than their bound cut` : ''}`,
    ];
}

/** Per format, when a run read more than the native one: files and what became of their records. */
function formatLines(s: IngestSummary): string[] {
    const byFormat = new Map<string, { files: number; loaded: number; quarantined: number; skipped: number }>();
    for (const f of s.files) {
        if (f.status !== 'loaded' || !f.format) continue;
        const c = byFormat.get(f.format) ?? { files: 0, loaded: 0, quarantined: 0, skipped: 0 };
        byFormat.set(f.format, {
            files: c.files + 1,
            loaded: c.loaded + f.rowsLoaded,
            quarantined: c.quarantined + f.rowsQuarantined,
            skipped: c.skipped + f.recordsSkipped,
        });
    }
    if ([...byFormat.keys()].every((k) => k === 'native')) return [];
    return [...byFormat]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, c]) => `ingest:   ${name}: ${c.files} file(s), ${c.loaded} loaded, ${c.quarantined} quarantined, ${c.skipped} skipped (not model calls)`);
}

/** What a dry run found per file: its format, what would load, what would be quarantined and why, sample events. */
export function dryRunReport(s: IngestSummary): string[] {
    const out: string[] = [];
    for (const f of s.files) {
        if (f.status !== 'loaded') continue;
        out.push(
            `ingest: dry run: ${f.uri} (${f.format}): would load ${f.rowsLoaded}, quarantine ${f.rowsQuarantined}, skip ${f.recordsSkipped} (not model calls)`,
        );
        for (const q of f.quarantineSamples ?? []) out.push(`ingest:   quarantined, line ${q.lineNo}: ${q.reason}`);
        for (const e of f.samples ?? []) out.push(`ingest:   event: ${e}`);
    }
    return out;
}
