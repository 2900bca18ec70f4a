import type { Command } from 'commander';
import { INVOICE_FORMATS } from '../../invoices/formats/invoice-formats.js';
import { importInvoice } from '../../invoices/import-invoice.js';
import { configFrom, log, usingDatabase } from '../using-database.js';

export function registerInvoices(program: Command): void {
    const invoices = program.command('invoices').description("the providers' own cost exports, to reconcile against");
    invoices
        .command('import')
        .description(`load cost exports (${INVOICE_FORMATS.map((f) => f.name).join(', ')}); the next build reconciles them (marts.mart_invoice_reconciliation)`)
        .argument('<files...>', 'cost export files (JSON pages, one per line, or CSV)')
        .option('--format <name>', `the format, when detection cannot tell (${INVOICE_FORMATS.map((f) => f.name).join(' | ')})`)
        .action(async (files: string[], flags: { format?: string }) => {
            const config = configFrom(program.opts());
            await usingDatabase(config, async (h) => {
                for (const file of files) {
                    const r = await importInvoice(h.pool, file, flags);
                    log(`invoices import: ${r.file} (${r.format}): ${r.status}, ${r.lines} line(s), $${r.totalUsd} for ${r.providers.join(', ')}`);
                }
            });
            log('invoices import: run `tokenmart build` to reconcile');
        });
}
