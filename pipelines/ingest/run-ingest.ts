import { join } from 'node:path';
import type { Config } from '../config/config.js';
import type { DatabaseHandle } from '../db/connect.js';
import { UserError } from '../util/errors.js';
import { ingest, type IngestSummary } from './ingest.js';
import { dryRunReport, formatIngestSummary, ingestProgress } from './progress.js';
import { sourceFor } from './sources/source-for.js';

export interface IngestFlags {
    readonly endpoint?: string;
    readonly maxErrorRate?: string;
    readonly onChanged?: string;
    readonly keepText?: boolean;
    readonly format?: string;
    readonly dryRun?: boolean;
}

/** Ingest as the CLI and the pipeline run do it: flags over config, progress and summary to `log`. */
export async function runIngest(
    handle: DatabaseHandle,
    config: Config,
    uri: string,
    flags: IngestFlags = {},
    log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<IngestSummary> {
    const maxErrorRate = flags.maxErrorRate === undefined ? config.ingest.maxErrorRate : Number(flags.maxErrorRate);
    if (!(maxErrorRate >= 0 && maxErrorRate <= 1))
        throw new UserError(`ingest: --max-error-rate "${flags.maxErrorRate}" must be a fraction from 0 to 1 (e.g. 0.05)`);
    const onChanged = flags.onChanged ?? config.ingest.onChangedFile;
    if (onChanged !== 'fail' && onChanged !== 'replace') throw new UserError(`ingest: --on-changed "${onChanged}" must be fail or replace`);
    const source = sourceFor(uri, flags.endpoint ?? config.s3Endpoint ?? process.env.AWS_ENDPOINT_URL);
    log(`ingest: reading ${source.description}`);
    const summary = await ingest(handle.pool, source, {
        maxErrorRate,
        onChangedFile: onChanged,
        keepText: flags.keepText ?? config.ingest.keepText,
        batchFiles: config.ingest.batchFiles,
        maxDaysPerFile: config.ingest.maxDaysPerFile,
        userIdHmacKey: config.ingest.userIdHmacKey,
        spoolDir: join(config.home, 'spool'),
        format: flags.format,
        attributes: config.ingest.attributes,
        dryRun: flags.dryRun,
        progress: ingestProgress(log),
    });
    for (const note of source.notes ?? []) log(`ingest: skipped ${note}`);
    const ignored = source.ignored?.() ?? 0;
    if (summary.files.length === 0) {
        log(
            `ingest: no log files in ${source.description} (names ending .jsonl, .json, .ndjson, optionally .gz${ignored ? `; ${ignored} other files there` : ''}); check the source`,
        );
    } else if (ignored) log(`ingest: ${ignored} other files ignored (not .jsonl, .json or .ndjson, optionally .gz)`);
    if (flags.dryRun) for (const line of dryRunReport(summary)) log(line);
    for (const line of formatIngestSummary(summary)) log(line);
    if (flags.dryRun) log('ingest: dry run: nothing was loaded or recorded; run without --dry-run to load');
    return summary;
}
