import type { Command } from 'commander';
import { modelSwitchWhatIf, QUALITY_CAVEAT, type WhatIfLine } from '../../pricing/model-switch-whatif.js';
import { monthFlag } from '../month-flag.js';
import { configFrom, usingDatabase } from '../using-database.js';

const usd = (v: string) => {
    const n = Number(v);
    return `${n < 0 ? '-' : ''}$${Math.abs(n).toFixed(2)}`;
};
const pct = (l: WhatIfLine) => (Number(l.currentUsd) ? `${((100 * Number(l.changeUsd)) / Number(l.currentUsd)).toFixed(1)}%` : 'n/a');

export function registerWhatIf(program: Command): void {
    program
        .command('whatif')
        .description("re-price a month's requests of one model at another model's prices (same tokens), per feature")
        .requiredOption('--month <YYYY-MM>', 'the month')
        .requiredOption('--from <model>', 'the model the requests used')
        .requiredOption('--to <model>', 'the model to price them at (provider/model when two providers price it)')
        .option('--feature <name>', 'one feature only')
        .action(async (flags: { month: string; from: string; to: string; feature?: string }) => {
            monthFlag('whatif', flags.month);
            const config = configFrom(program.opts());
            const result = await usingDatabase(config, (h) => modelSwitchWhatIf(h.db, flags));
            const rows = [...result.lines, result.total].map((l) => [
                l.feature,
                String(l.compared),
                usd(l.currentUsd),
                usd(l.whatIfUsd),
                usd(l.changeUsd),
                pct(l),
            ]);
            const head = ['feature', 'requests', `${result.from} (now)`, `${result.to.model}`, 'change', '%'];
            const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
            const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
            const out = [
                `whatif ${result.month}: ${result.from} -> ${result.to.provider}/${result.to.model}${flags.feature ? `, feature ${flags.feature}` : ''} (the same token buckets at the target's prices in force, its cache rates, long-context rule and tier multipliers)`,
                fmt(head),
                ...rows.slice(0, -1).map(fmt),
                fmt(rows[rows.length - 1]),
                ...(result.notCompared
                    ? [`${result.notCompared} request(s) left out: no price today, or none for ${result.to.model} at their time or tier`]
                    : []),
                QUALITY_CAVEAT,
            ];
            process.stdout.write(`${out.join('\n')}\n`);
        });
}
