import type { Command } from 'commander';
import { FORMATS } from '../../ingest/formats/format.js';
import { runIngest, type IngestFlags } from '../../ingest/run-ingest.js';
import { UserError } from '../../util/errors.js';
import { configFrom, log, usingDatabase } from '../using-database.js';

export function registerIngest(program: Command): void {
    program
        .command('ingest')
        .description(
            'load usage logs (tokenmart events, OTLP traces and logs, LiteLLM, provider responses; optionally gzip) into raw.events, exactly once per file',
        )
        .argument('[source]', 'a directory, a file, or s3://bucket/prefix (default: config "source")')
        .option('--endpoint <url>', 'S3-compatible endpoint (MinIO, R2, ...); default AWS_ENDPOINT_URL')
        .option('--max-error-rate <fraction>', 'fail a file whose share of invalid lines exceeds this (default 0.05)')
        .option('--on-changed <policy>', 'a loaded file whose content changed: fail (default) or replace')
        .option('--keep-text', 'keep prompt_text/completion_text (scrubbed) instead of dropping them')
        .option('--format <name>', `read every file as this format instead of detecting it (${FORMATS.join(', ')})`)
        .option('--dry-run', 'detect formats and show, per file, what would load and what would be quarantined and why, with sample events; write nothing')
        .action(async (sourceArg: string | undefined, flags: IngestFlags) => {
            const config = configFrom(program.opts());
            const uri = sourceArg ?? config.source;
            if (!uri) throw new UserError('ingest: no source given; pass a directory or s3://bucket/prefix, or set "source" in tokenmart.config.json');
            const summary = await usingDatabase(config, (handle) => runIngest(handle, config, uri, flags, log));
            if (summary.filesFailed > 0)
                throw new UserError(
                    flags.dryRun
                        ? `ingest: dry run: ${summary.filesFailed} file(s) would not load (listed above as FAILED); fix them, or raise --max-error-rate`
                        : `ingest: ${summary.filesFailed} file(s) not loaded (listed above as FAILED, and in ops.load_failures); fix them and rerun`,
                );
        });
}
