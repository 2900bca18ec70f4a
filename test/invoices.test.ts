import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../pipelines/ingest/ingest.js';
import { localSource } from '../pipelines/ingest/sources/local-source.js';
import { importInvoice } from '../pipelines/invoices/import-invoice.js';
import { loadModels, seedBuildTest } from '../pipelines/transform/transform.js';
import { event, jsonl, tempDir, writeLog } from './support/event-fixtures.js';
import { runCli } from './support/run-cli.js';
import { useTestDatabase } from './support/test-database.js';

/**
 * Invoice reconciliation from each export shape (test/fixtures/invoices/PROVENANCE.md), against
 * logs whose cost is known: gpt-4o input $2.50 per million (400,000 tokens = $1.00), claude-haiku-4-5
 * $1 per million; mistral-large-2411 has no price.
 */
const fixtures = new URL('./fixtures/invoices/', import.meta.url).pathname;

function corpus(): Record<string, unknown>[] {
    let n = 0;
    const call = (day: string, fields: Record<string, unknown>) => {
        n++;
        return event(n, { request_id: `inv_${n}`, timestamp: `${day}T12:00:00Z`, output_tokens: 0, ...fields });
    };
    return [
        // OpenAI: $3.00 on Oct 1, $2.00 on Oct 2 and a request of a model without a price.
        ...[1, 2, 3].map(() => call('2026-10-01', { model: 'gpt-4o', input_tokens: 400_000 })),
        ...[1, 2].map(() => call('2026-10-02', { model: 'gpt-4o', input_tokens: 400_000 })),
        call('2026-10-02', { model: 'gpt-4o-2099-01-01-preview', input_tokens: 400_000 }),
        // Anthropic: 1,300,000 tokens of claude-haiku-4-5 = $1.30 on Oct 1.
        call('2026-10-01', { provider: 'anthropic', model: 'claude-haiku-4-5', input_tokens: 1_300_000 }),
        // Mistral: no price, so nothing computed.
        call('2026-10-05', { provider: 'mistral', model: 'mistral-large-2411', input_tokens: 1000 }),
    ];
}

describe('invoice reconciliation', () => {
    const db = useTestDatabase('invoices');
    const dir = tempDir('invoices');

    beforeAll(async () => {
        const logs = tempDir('invoice-logs');
        writeLog(logs, 'calls.jsonl', jsonl(corpus()));
        await ingest(db().handle.pool, localSource(logs), { maxErrorRate: 0, onChangedFile: 'fail', keepText: false, userIdHmacKey: undefined });
        for (const f of ['openai-costs.jsonl', 'anthropic-cost-report.json', 'generic.csv']) {
            cpSync(join(fixtures, f), join(dir, f));
            await importInvoice(db().handle.pool, join(dir, f));
        }
        const built = await seedBuildTest(db().handle.pool, await loadModels(), { log: () => undefined });
        expect(built.build.ok).toBe(true);
    }, 180_000);

    it('per provider and month: invoiced, computed, difference, status within 1% and the likely causes', async () => {
        const rows = await db().query(
            `select provider, invoiced_usd::numeric(12, 4)::text as invoiced, computed_usd::numeric(12, 4)::text as computed,
                    difference_usd::numeric(12, 4)::text as difference, difference_pct::text as pct, status, likely_causes
             from marts.mart_invoice_reconciliation where grain = 'month' order by provider`,
        );
        expect(rows).toEqual([
            // "100" + "50.5" - "20" cents = $1.00 + $0.505 - $0.20 = $1.305 against $1.30: 0.005, 0.38%, within 1%.
            {
                provider: 'anthropic',
                invoiced: '1.3050',
                computed: '1.3000',
                difference: '0.0050',
                pct: '0.38',
                status: 'ok',
                likely_causes: ['credits on the invoice (-0.2 USD)'],
            },
            // 12.00 invoiced, nothing computed: the model has no price.
            {
                provider: 'mistral',
                invoiced: '12.0000',
                computed: '0.0000',
                difference: '12.0000',
                pct: '100.00',
                status: 'invoiced_above',
                likely_causes: [
                    'unpriced requests (1): their spend is missing from computed',
                    'traffic never logged (a key, project or gateway tokenmart does not see), or prices out of date',
                ],
            },
            // 2.40 + 0.60 + 2.50 = 5.50 against 3.00 + 2.00: 0.50 above, 9.09%.
            {
                provider: 'openai',
                invoiced: '5.5000',
                computed: '5.0000',
                difference: '0.5000',
                pct: '9.09',
                status: 'invoiced_above',
                likely_causes: [
                    'unpriced requests (1): their spend is missing from computed',
                    'traffic never logged (a key, project or gateway tokenmart does not see), or prices out of date',
                ],
            },
        ]);
        const days = await db().query(
            "select usage_date::text as day, invoiced_usd::numeric(12, 2)::text as invoiced, computed_usd::numeric(12, 2)::text as computed, status from marts.mart_invoice_reconciliation where grain = 'day' and provider = 'openai' order by 1",
        );
        expect(days).toEqual([
            { day: '2026-10-01', invoiced: '3.00', computed: '3.00', status: 'ok' },
            { day: '2026-10-02', invoiced: '2.50', computed: '2.00', status: 'invoiced_above' },
        ]);
    });

    it('imports all or nothing: the same file again changes nothing, a new version replaces the old, a bad line is named', async () => {
        const again = await importInvoice(db().handle.pool, join(dir, 'generic.csv'));
        expect([again.status, again.lines, again.totalUsd]).toEqual(['unchanged', 1, '12.00']);
        writeFileSync(join(dir, 'generic.csv'), `${readFileSync(join(dir, 'generic.csv'), 'utf8')}mistral,2026-10,3.50,Fine-tuning\n`);
        const replaced = await importInvoice(db().handle.pool, join(dir, 'generic.csv'));
        expect([replaced.status, replaced.lines, replaced.totalUsd]).toEqual(['replaced', 2, '15.50']);
        const [lines] = await db().query("select count(*)::int as n, sum(amount_usd)::text as total from raw.invoice_lines where provider = 'mistral'");
        expect(lines).toEqual({ n: 2, total: '15.50' });
        writeFileSync(join(dir, 'bad.csv'), 'provider,month,amount\nmistral,2026-10,$12\n');
        const bad = await runCli(['invoices', 'import', join(dir, 'bad.csv')], { DATABASE_URL: db().url });
        expect(bad.code).not.toBe(0);
        expect(bad.stderr.trim()).toBe(
            `tokenmart: invoices import: ${join(dir, 'bad.csv')} (generic-csv), line 2: amount "$12" is not a decimal number of USD (no currency sign or thousands separator); fix the file and import it again`,
        );
    });
});
