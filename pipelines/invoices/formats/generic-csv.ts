import { parse } from 'csv-parse/sync';
import type { InvoiceFormat, InvoiceLine } from './invoice-format.js';

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
const AMOUNT = /^-?\d+(\.\d+)?$/;

/** Any other invoice, by hand: a CSV with provider, day (YYYY-MM-DD) or month (YYYY-MM), amount (USD) and an optional line_item. */
export const genericCsv: InvoiceFormat = {
    name: 'generic-csv',
    description: 'CSV: provider, day or month, amount (USD), line_item',
    detect: (text, path) => path.toLowerCase().endsWith('.csv') || /^\uFEFF?provider,/i.test(text),
    parse(text) {
        let records: Record<string, string>[];
        try {
            records = parse(text, { bom: true, columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()), skip_empty_lines: true });
        } catch (err) {
            return { ok: false, where: 'the file', reason: `not CSV (${(err as Error).message})` };
        }
        const lines: InvoiceLine[] = [];
        for (const [i, r] of records.entries()) {
            const where = `line ${i + 2}`;
            const provider = (r.provider ?? '').trim().toLowerCase();
            const period = (r.day ?? r.month ?? '').trim();
            const amount = (r.amount ?? r.amount_usd ?? '').trim();
            if (!provider) return { ok: false, where, reason: 'no provider (columns: provider, day or month, amount, line_item)' };
            if (!DAY.test(period) && !MONTH.test(period))
                return { ok: false, where, reason: `"${period}" is neither a day (YYYY-MM-DD) nor a month (YYYY-MM)` };
            if (!AMOUNT.test(amount))
                return { ok: false, where, reason: `amount "${amount}" is not a decimal number of USD (no currency sign or thousands separator)` };
            const day = DAY.test(period) ? period : undefined;
            lines.push({ provider, day, month: `${period.slice(0, 7)}-01`, lineItem: r.line_item?.trim() || undefined, amountUsd: amount });
        }
        return { ok: true, lines };
    },
};
