import { dayOf, type InvoiceFormat, type InvoiceLine, jsonDocuments, monthOf, numberToDecimal } from './invoice-format.js';

interface Page {
    readonly object?: string;
    readonly data?: readonly { readonly object?: string; readonly start_time?: number; readonly results?: readonly Record<string, unknown>[] }[];
}

/**
 * OpenAI's organization costs (`GET /v1/organization/costs`, Admin API; openapi `CostsResult`,
 * openai-node `UsageCostsResponse`): a page of daily buckets (`start_time` in Unix seconds), each
 * with results `{object: "organization.costs.result", amount: {value (dollars, a number),
 * currency ("usd")}, line_item, project_id}`. Saved pages, one per line, load together.
 */
export const openaiCosts: InvoiceFormat = {
    name: 'openai-costs',
    description: 'OpenAI organization costs API result (daily buckets, amounts in dollars)',
    detect: (text) => {
        const docs = jsonDocuments(text);
        return Boolean(docs?.length && docs.every((d) => (d as Page)?.object === 'page' && (d as Page).data?.every((b) => b.object === 'bucket')));
    },
    parse(text) {
        const lines: InvoiceLine[] = [];
        const docs = (jsonDocuments(text) ?? []) as Page[];
        for (const [p, page] of docs.entries()) {
            for (const [b, bucket] of (page.data ?? []).entries()) {
                const where = `page ${p + 1}, bucket ${b + 1}`;
                if (typeof bucket.start_time !== 'number') return { ok: false, where, reason: 'bucket without a numeric start_time' };
                const day = dayOf(new Date(bucket.start_time * 1000).toISOString());
                for (const [r, result] of (bucket.results ?? []).entries()) {
                    const amount = result.amount as { value?: unknown; currency?: unknown } | undefined;
                    if (result.object !== 'organization.costs.result') continue; // another usage result type
                    if (typeof amount?.value !== 'number') return { ok: false, where: `${where}, result ${r + 1}`, reason: 'amount.value is not a number' };
                    if (String(amount.currency ?? 'usd').toLowerCase() !== 'usd')
                        return { ok: false, where: `${where}, result ${r + 1}`, reason: `currency ${String(amount.currency)} (only USD is reconciled)` };
                    lines.push({
                        provider: 'openai',
                        day,
                        month: monthOf(day),
                        lineItem: typeof result.line_item === 'string' ? result.line_item : undefined,
                        projectId: typeof result.project_id === 'string' ? result.project_id : undefined,
                        amountUsd: numberToDecimal(amount.value),
                    });
                }
            }
        }
        return { ok: true, lines };
    },
};
