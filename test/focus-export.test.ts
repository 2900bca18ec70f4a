import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkFocus, FOCUS_COLUMNS } from '../pipelines/export/focus/check-focus.js';
import { exportFocus, focusCsv, LLM_REQUIRED_COLUMNS } from '../pipelines/export/focus/export-focus.js';
import { readFocusCsv } from '../pipelines/export/focus/read-focus-csv.js';
import { ingest } from '../pipelines/ingest/ingest.js';
import { localSource } from '../pipelines/ingest/sources/local-source.js';
import { loadModels, seedBuildTest } from '../pipelines/transform/transform.js';
import { event, jsonl, tempDir, writeLog } from './support/event-fixtures.js';
import { runCli } from './support/run-cli.js';
import { useTestDatabase } from './support/test-database.js';

/**
 * The FOCUS export, checked against FOCUS 1.2's requirements (FOCUS_Spec tag v1.2, commit
 * 7296e3146fb931ee32b6496fa6e4200e7f4384f7, encoded in pipelines/export/focus/focus-1.2-columns.json):
 * every mandatory column, types, nullability, allowed values and cost consistency. Prices from
 * models/seeds/model_prices.csv: gpt-4o-mini $0.15 in, $0.075 cached, $0.60 out, batch x0.5;
 * claude-sonnet-4-5 above 200,000 input tokens $6 in, $22.50 out.
 */
function corpus(): Record<string, unknown>[] {
    const at = { timestamp: '2026-10-14T10:00:00Z', team: 'growth', feature: 'email-drafts', tenant: 'acme' };
    return [
        event(1, { ...at, request_id: 'f1', input_tokens: 30_000, cache_read_tokens: 10_000, output_tokens: 10_000 }),
        event(2, { ...at, request_id: 'f2', input_tokens: 20_000, output_tokens: 10_000, service_tier: 'batch' }),
        event(3, { ...at, request_id: 'f3', provider: 'anthropic', model: 'claude-sonnet-4-5', input_tokens: 250_000, output_tokens: 2000 }),
        event(4, { ...at, request_id: 'f4', cache_hit: true }),
        event(5, { ...at, request_id: 'f5', model: 'no-such-model' }),
    ];
}

describe('FOCUS export', () => {
    const db = useTestDatabase('focus_export');

    beforeAll(async () => {
        const dir = tempDir('focus-logs');
        writeLog(dir, 'calls.jsonl', jsonl(corpus()));
        await ingest(db().handle.pool, localSource(dir), { maxErrorRate: 0, onChangedFile: 'fail', keepText: false, userIdHmacKey: undefined });
        const built = await seedBuildTest(db().handle.pool, await loadModels(), { log: () => undefined });
        expect(built.build.ok).toBe(true);
    }, 180_000);

    it('one row per meter and unit price, every FOCUS 1.2 requirement met, and the billed cost is the month spend exactly', async () => {
        const r = await exportFocus(db().handle.db, '2026-10');
        expect(r.problems).toEqual([]);
        const col = (name: string) => r.dataset.columns.indexOf(name);
        const rows = r.dataset.rows.map((x) => [
            x[col('SkuPriceId')],
            x[col('ConsumedQuantity')],
            x[col('PricingQuantity')],
            x[col('ListUnitPrice')],
            x[col('ListCost')],
        ]);
        expect(rows).toEqual([
            // claude-sonnet-4-5 above 200,000 tokens: long-context rates. 2,000 x $22.50 / 1e6 = 0.045; 250,000 x $6 / 1e6 = 1.5.
            ['anthropic/claude-sonnet-4-5/input-tokens/standard/long-context/2025-09-29T00:00:00Z', '250000.0', '0.25', '6.0', '1.5'],
            ['anthropic/claude-sonnet-4-5/output-tokens/standard/long-context/2025-09-29T00:00:00Z', '2000.0', '0.002', '22.5', '0.045'],
            // gpt-4o-mini: 10,000 cached x 0.075 = 0.00075; 20,000 uncached x 0.15 + 20,000 batch x 0.075 are two unit prices.
            ['openai/gpt-4o-mini/cached-input-tokens/standard/2024-07-18T00:00:00Z', '10000.0', '0.01', '0.075', '0.00075'],
            ['openai/gpt-4o-mini/input-tokens/batch/2024-07-18T00:00:00Z', '20000.0', '0.02', '0.075', '0.0015'],
            ['openai/gpt-4o-mini/input-tokens/standard/2024-07-18T00:00:00Z', '20000.0', '0.02', '0.15', '0.003'],
            ['openai/gpt-4o-mini/output-tokens/batch/2024-07-18T00:00:00Z', '10000.0', '0.01', '0.3', '0.003'],
            ['openai/gpt-4o-mini/output-tokens/standard/2024-07-18T00:00:00Z', '10000.0', '0.01', '0.6', '0.006'],
        ]);
        // The cache hit bills nothing and the unknown model has no price: both left out, and counted.
        expect([r.cacheHits, r.unpriced]).toEqual([1, 1]);
        const [spend] = await db().query("select sum(cost_usd)::text as s from marts.mart_daily_cost where usage_date between '2026-10-01' and '2026-10-31'");
        expect(Number(r.billedCost)).toBe(Number(spend.s));
        expect(Number(r.billedCost)).toBeCloseTo(1.5 + 0.045 + 0.00075 + 0.0015 + 0.003 + 0.003 + 0.006, 12);
        // Written and read back (null is an empty field), it still passes.
        expect(checkFocus(readFocusCsv(focusCsv(r.dataset)), LLM_REQUIRED_COLUMNS)).toEqual([]);
    });

    it('the check fails a missing mandatory column, a value not allowed, a cost that is not price x quantity, an empty string and an unprefixed custom column', async () => {
        const r = await exportFocus(db().handle.db, '2026-10');
        const { columns, rows } = r.dataset;
        const without = (name: string) => ({ columns: columns.filter((c) => c !== name), rows: rows.map((x) => x.filter((_, i) => columns[i] !== name)) });
        const edit = (name: string, value: string | null) => ({
            columns,
            rows: rows.map((x, k) => (k === 0 ? x.map((v, i) => (columns[i] === name ? value : v)) : x)),
        });
        expect(checkFocus(without('BillingCurrency'), LLM_REQUIRED_COLUMNS).map((p) => p.message)).toEqual(['BillingCurrency: a mandatory column is missing']);
        expect(checkFocus(without('SkuPriceId'), LLM_REQUIRED_COLUMNS).map((p) => p.message)).toContain('SkuPriceId: a required column is missing');
        expect(checkFocus(edit('ChargeCategory', 'usage'), LLM_REQUIRED_COLUMNS).map((p) => p.message)).toEqual([
            'ChargeCategory: "usage" is not an allowed value (Usage, Purchase, Tax, Credit, Adjustment)',
            // ... and a row that is not Usage must not have a consumed quantity.
            'ConsumedQuantity.nullWhenNotUsage: ConsumedQuantity must be null',
        ]);
        expect(checkFocus(edit('ListCost', '1.6'), LLM_REQUIRED_COLUMNS).map((p) => p.rule)).toEqual(['ListCost.product']);
        expect(checkFocus(edit('ServiceSubcategory', 'Virtual Machines'), LLM_REQUIRED_COLUMNS).map((p) => p.rule)).toEqual(['ServiceSubcategory.parent']);
        expect(checkFocus(edit('ChargePeriodStart', '2026-10-14 00:00:00'), LLM_REQUIRED_COLUMNS).map((p) => p.message)).toContain(
            'ChargePeriodStart: "2026-10-14 00:00:00" is not a UTC date-time YYYY-MM-DDTHH:mm:ssZ',
        );
        expect(checkFocus(edit('ChargeDescription', ''), LLM_REQUIRED_COLUMNS).map((p) => p.rule)).toEqual(['value']);
        expect(checkFocus(edit('BilledCost', null), LLM_REQUIRED_COLUMNS).map((p) => p.message)).toEqual(['BilledCost is null (it must never be)']);
        expect(checkFocus(edit('BillingCurrency', 'XBT'), LLM_REQUIRED_COLUMNS).map((p) => p.message)).toEqual([
            'BillingCurrency: "XBT" is not an ISO 4217 national currency code',
        ]);
        expect(checkFocus({ columns: [...columns, 'Team'], rows: rows.map((x) => [...x, 'growth']) }, LLM_REQUIRED_COLUMNS).map((p) => p.rule)).toEqual([
            'CustomColumns.prefix',
        ]);
        // The data holds all 57 columns of FOCUS 1.2, 21 of them mandatory.
        expect([FOCUS_COLUMNS.length, FOCUS_COLUMNS.filter((c) => c.featureLevel === 'Mandatory').length]).toEqual([57, 21]);
    });

    it('tokenmart export focus writes the checked CSV', async () => {
        const out = tempDir('focus-out');
        const res = await runCli(['export', 'focus', '--month', '2026-10', '--out', out], { DATABASE_URL: db().url });
        expect(res.code, res.stderr).toBe(0);
        expect(res.stderr).toContain(
            'export focus: 7 rows, billed $1.56 (FOCUS 1.2, every row checked); left out: 1 application-cache hits (nothing billed), 1 unpriced requests',
        );
        const csv = readFileSync(join(out, 'focus-2026-10.csv'), 'utf8');
        expect(checkFocus(readFocusCsv(csv), LLM_REQUIRED_COLUMNS)).toEqual([]);
        expect(csv.split('\r\n')[0]).toBe(
            'BilledCost,BillingAccountId,BillingAccountName,BillingCurrency,BillingPeriodEnd,BillingPeriodStart,ChargeCategory,ChargeClass,ChargeDescription,ChargeFrequency,ChargePeriodEnd,ChargePeriodStart,ConsumedQuantity,ConsumedUnit,ContractedCost,ContractedUnitPrice,EffectiveCost,InvoiceIssuerName,ListCost,ListUnitPrice,PricingCategory,PricingQuantity,PricingUnit,ProviderName,PublisherName,ServiceCategory,ServiceName,ServiceSubcategory,SkuId,SkuMeter,SkuPriceDetails,SkuPriceId,SubAccountId,SubAccountName,Tags',
        );
    });
});
