#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerAlerts } from './commands/alerts.js';
import { registerDb } from './commands/db.js';
import { registerDemo } from './commands/demo.js';
import { registerExport } from './commands/export.js';
import { registerForget } from './commands/forget.js';
import { registerIngest } from './commands/ingest.js';
import { registerInvoices } from './commands/invoices.js';
import { registerLint } from './commands/lint.js';
import { registerMigrate } from './commands/migrate.js';
import { registerTransform } from './commands/transform.js';
import { registerPrices } from './commands/prices.js';
import { registerReport } from './commands/report.js';
import { registerRetention } from './commands/retention.js';
import { registerDigest } from './commands/digest.js';
import { registerRun } from './commands/run.js';
import { registerStatus } from './commands/status.js';
import { registerWhatIf } from './commands/whatif.js';
import { UserError } from '../util/errors.js';

// The AWS SDK warns on every run that its 2027 releases will need Node 22; the README says so once.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// A file-size limit (ulimit -f, a quota) must fail the write with EFBIG, which we report in one
// line, not kill the process: Node ignores SIGXFSZ, but a loader hook (tsx) can restore the default.
process.on('SIGXFSZ', () => {});

const program = new Command('tokenmart')
    .description('LLM usage logs -> Postgres marts -> finance PDFs and Slack digests')
    .option('-c, --config <file>', 'config file (default: ./tokenmart.config.json if present)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

registerDb(program);
registerMigrate(program);
registerIngest(program);
registerInvoices(program);
registerTransform(program);
registerLint(program);
registerPrices(program);
registerReport(program);
registerExport(program);
registerAlerts(program);
registerDigest(program);
registerRun(program);
registerStatus(program);
registerForget(program);
registerRetention(program);
registerWhatIf(program);
registerDemo(program);

// The single exit path: a UserError prints its one line; anything else is a bug and keeps its stack.
try {
    await program.parseAsync(process.argv);
} catch (err) {
    if (err instanceof CommanderError) {
        process.exitCode = err.exitCode;
    } else if (err instanceof UserError) {
        process.stderr.write(`tokenmart: ${err.message}\n`);
        process.exitCode = err.exitCode;
    } else {
        process.stderr.write(`tokenmart: unexpected error (please report it): ${(err as Error)?.stack ?? String(err)}\n`);
        process.exitCode = 70;
    }
}
