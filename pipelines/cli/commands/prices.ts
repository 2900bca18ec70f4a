import { join } from 'node:path';
import type { Command } from 'commander';
import { importCommunityPrices, writePriceCsv } from '../../pricing/import-community-prices.js';
import { loadProject } from '../../transform/project.js';
import { UserError } from '../../util/errors.js';
import { projectRoot } from '../../util/project-root.js';
import { log } from '../using-database.js';

export function registerPrices(program: Command): void {
    const prices = program.command('prices').description('manage model prices');
    prices
        .command('import')
        .description('import the community price list (USD per token) into models/seeds/model_prices_imported.csv; the next build re-prices with it')
        .argument('<file>', 'model_prices_and_context_window.json (optionally .gz)')
        .option('--effective-from <iso>', 'the list has no dates: the instant its prices apply from', '2000-01-01T00:00:00Z')
        .option('--out <csv>', 'seed file to write', join(projectRoot, 'models', 'seeds', 'model_prices_imported.csv'))
        .action((file: string, flags: { effectiveFrom: string; out: string }) => {
            if (Number.isNaN(Date.parse(flags.effectiveFrom)))
                throw new UserError(`prices import: --effective-from "${flags.effectiveFrom}" is not a date-time; write e.g. 2025-01-01T00:00:00Z`);
            const { rows, skipped } = importCommunityPrices(file, flags.effectiveFrom);
            const seed = loadProject().seeds.find((x) => x.name === 'model_prices_imported');
            if (!seed) throw new UserError('prices import: the models project has no seed model_prices_imported (models/seeds/_seeds.yml); restore it');
            writePriceCsv(
                flags.out,
                rows,
                seed.columns.map((c) => c.name),
            );
            log(
                `prices import: wrote ${rows.length} models to ${flags.out} (${skipped} entries skipped: unknown provider, no token price, not a text model, or a duplicate alias)`,
            );
            log('prices import: curated prices in models/seeds/model_prices.csv still win; run `tokenmart build` to re-price history');
        });
}
