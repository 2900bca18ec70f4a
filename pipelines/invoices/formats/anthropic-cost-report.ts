import { fromUnits, toUnits } from '../../../reports/format.js';
import { dayOf, type InvoiceFormat, type InvoiceLine, jsonDocuments, monthOf } from './invoice-format.js';

interface Report {
    readonly data?: readonly { readonly starting_at?: string; readonly results?: readonly Record<string, unknown>[] }[];
}

/**
 * Anthropic's cost report (`GET /v1/organizations/cost_report`, Admin API reference "Cost Report"):
 * daily buckets (`starting_at`, RFC 3339) with results `{amount: a decimal string in the lowest
 * currency unit, i.e. cents, "123.45" = $1.2345; currency "USD"; workspace_id; description;
 * cost_type; model; service_tier; token_type}`. Saved pages, one per line, load together.
 */
export const anthropicCostReport: InvoiceFormat = {
    name: 'anthropic-cost-report',
    description: 'Anthropic cost report API result (daily buckets, amounts in cents as decimal strings)',
    detect: (text) => {
        const docs = jsonDocuments(text);
        return Boolean(
            docs?.length && docs.every((d) => Array.isArray((d as Report)?.data) && (d as Report).data!.every((b) => typeof b?.starting_at === 'string')),
        );
    },
    parse(text) {
        const lines: InvoiceLine[] = [];
        for (const [p, report] of ((jsonDocuments(text) ?? []) as Report[]).entries()) {
            for (const [b, bucket] of (report.data ?? []).entries()) {
                const day = dayOf(bucket.starting_at ?? '');
                for (const [r, result] of (bucket.results ?? []).entries()) {
                    const where = `page ${p + 1}, bucket ${b + 1}, result ${r + 1}`;
                    const cents = result.amount;
                    if (typeof cents !== 'string' || !/^-?\d+(\.\d+)?$/.test(cents))
                        return { ok: false, where, reason: `amount ${JSON.stringify(cents)} is not a decimal string of cents` };
                    if (String(result.currency ?? 'USD') !== 'USD')
                        return { ok: false, where, reason: `currency ${String(result.currency)} (only USD is reconciled)` };
                    lines.push({
                        provider: 'anthropic',
                        day,
                        month: monthOf(day),
                        lineItem:
                            typeof result.description === 'string' ? result.description : typeof result.cost_type === 'string' ? result.cost_type : undefined,
                        model: typeof result.model === 'string' ? result.model : undefined,
                        projectId: typeof result.workspace_id === 'string' ? result.workspace_id : undefined,
                        amountUsd: fromUnits(toUnits(cents) / 100n),
                    });
                }
            }
        }
        return { ok: true, lines };
    },
};
