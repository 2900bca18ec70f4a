import { join } from 'node:path';
import type { Command } from 'commander';
import { formatCents, roundHalfUpCents, toUnits } from '../../../reports/format.js';
import { FOCUS_VERSION } from '../../export/focus/check-focus.js';
import { exportFocus, focusCsv, requireValid } from '../../export/focus/export-focus.js';
import { UserError } from '../../util/errors.js';
import { writeOutput } from '../../util/output-file.js';
import { monthFlag } from '../month-flag.js';
import { configFrom, log, usingDatabase } from '../using-database.js';

export function registerExport(program: Command): void {
    const exporter = program.command('export').description('write the marts in formats other tools read');
    exporter
        .command('focus')
        .description(`a month of LLM spend as a FinOps FOCUS ${FOCUS_VERSION} cost and usage dataset (CSV), checked against the spec`)
        .requiredOption('--month <YYYY-MM>', 'the month')
        .option('--out <dir>', 'output folder (default: config outputDir)')
        .action(async (flags: { month: string; out?: string }) => {
            monthFlag('export focus', flags.month);
            const config = configFrom(program.opts());
            const result = await usingDatabase(config, (h) => exportFocus(h.db, flags.month));
            if (!result.dataset.rows.length)
                throw new UserError(`export focus: no priced spend in ${flags.month}; load that month's logs and run tokenmart build`);
            requireValid(result);
            const path = join(flags.out ?? config.outputDir, `focus-${flags.month}.csv`);
            writeOutput(path, focusCsv(result.dataset));
            log(
                `export focus: ${result.dataset.rows.length} rows, billed ${formatCents(roundHalfUpCents(toUnits(result.billedCost)))} (FOCUS ${FOCUS_VERSION}, every row checked); left out: ${result.cacheHits} application-cache hits (nothing billed), ${result.unpriced} unpriced requests`,
            );
            process.stdout.write(`${path}\n`);
        });
}
