import type { Command } from 'commander';
import type { Config } from '../../config/config.js';
import type { DatabaseHandle } from '../../db/connect.js';
import { ingest, type IngestSummary } from '../../ingest/ingest.js';
import { formatIngestSummary, ingestProgress } from '../../ingest/progress.js';
import { sourceFor } from '../../ingest/sources/source-for.js';
import { UserError } from '../../util/errors.js';
import { configFrom, log, usingDatabase } from '../using-database.js';

export interface IngestFlags {
    readonly endpoint?: string;
    readonly maxErrorRate?: string;
    readonly onChanged?: string;
    readonly keepText?: boolean;
}

/** Shared by `ingest`, `demo` and `run`. */
export async function runIngest(handle: DatabaseHandle, config: Config, uri: string, flags: IngestFlags = {}): Promise<IngestSummary> {
    const maxErrorRate = flags.maxErrorRate === undefined ? config.ingest.maxErrorRate : Number(flags.maxErrorRate);
    if (!(maxErrorRate >= 0 && maxErrorRate <= 1)) throw new UserError(`ingest: --max-error-rate "${flags.maxErrorRate}" must be a fraction from 0 to 1 (e.g. 0.05)`);
    const onChanged = flags.onChanged ?? config.ingest.onChangedFile;
    if (onChanged !== 'fail' && onChanged !== 'replace') throw new UserError(`ingest: --on-changed "${onChanged}" must be fail or replace`);
    const source = sourceFor(uri, flags.endpoint ?? config.s3Endpoint ?? process.env.AWS_ENDPOINT_URL);
    log(`ingest: reading ${source.description}`);
    const summary = await ingest(handle.pool, source, {
        maxErrorRate,
        onChangedFile: onChanged,
        keepText: flags.keepText ?? config.ingest.keepText,
        userIdHmacKey: config.ingest.userIdHmacKey,
        progress: ingestProgress(log),
    });
    for (const line of formatIngestSummary(summary)) log(line);
    return summary;
}

export function registerIngest(program: Command): void {
    program.command('ingest')
        .description('load JSON Lines usage logs (optionally gzip) into raw.events, exactly once per file')
        .argument('[source]', 'a directory, a file, or s3://bucket/prefix (default: config "source")')
        .option('--endpoint <url>', 'S3-compatible endpoint (MinIO, R2, ...); default AWS_ENDPOINT_URL')
        .option('--max-error-rate <fraction>', 'fail a file whose share of invalid lines exceeds this (default 0.05)')
        .option('--on-changed <policy>', 'a loaded file whose content changed: fail (default) or replace')
        .option('--keep-text', 'keep prompt_text/completion_text (scrubbed) instead of dropping them')
        .action(async (sourceArg: string | undefined, flags: IngestFlags) => {
            const config = configFrom(program.opts());
            const uri = sourceArg ?? config.source;
            if (!uri) throw new UserError('ingest: no source given; pass a directory or s3://bucket/prefix, or set "source" in tokenmart.config.json');
            const summary = await usingDatabase(config, (handle) => runIngest(handle, config, uri, flags));
            if (summary.filesFailed > 0) throw new UserError(`ingest: ${summary.filesFailed} file(s) not loaded (listed above as FAILED, and in ops.load_failures); fix them and rerun`);
        });
}
