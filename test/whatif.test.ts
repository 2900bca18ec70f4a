import { beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../pipelines/ingest/ingest.js';
import { localSource } from '../pipelines/ingest/sources/local-source.js';
import { modelSwitchWhatIf } from '../pipelines/pricing/model-switch-whatif.js';
import { loadModels, seedBuildTest } from '../pipelines/transform/transform.js';
import { event, jsonl, tempDir, writeLog } from './support/event-fixtures.js';
import { runCli } from './support/run-cli.js';
import { useTestDatabase } from './support/test-database.js';

/**
 * The model-switch what-if on known tokens, priced by hand from models/seeds/model_prices.csv:
 * gpt-4o-mini $0.15 in, $0.075 cached, $0.60 out, batch x0.5; claude-sonnet-4-5 $3 in, $0.30
 * cached, $15 out, and above 200,000 input tokens $6 in, $0.60 cached, $22.50 out; batch x0.5.
 */
function corpus(): Record<string, unknown>[] {
    const at = { timestamp: '2026-10-14T10:00:00Z', model: 'gpt-4o-mini', team: 'growth' };
    return [
        // f-a: 300,000 in (100,000 cached) + 10,000 out. Now 200,000 x 0.15 + 100,000 x 0.075 + 10,000 x 0.60 = $0.0435.
        // On Sonnet, above 200,000: 200,000 x 6 + 100,000 x 0.60 + 10,000 x 22.50 = $1.485.
        event(1, { ...at, request_id: 'w1', feature: 'f-a', input_tokens: 300_000, cache_read_tokens: 100_000, output_tokens: 10_000 }),
        // f-b: two batch calls of 100,000 + 1,000. Now (15,000 + 600) x 0.5 = $0.0078 each; on Sonnet (300,000 + 15,000) x 0.5 = $0.1575 each.
        event(2, { ...at, request_id: 'w2', feature: 'f-b', input_tokens: 100_000, output_tokens: 1000, service_tier: 'batch' }),
        event(3, { ...at, request_id: 'w3', feature: 'f-b', input_tokens: 100_000, output_tokens: 1000, service_tier: 'batch' }),
        // An application-cache hit costs nothing either way.
        event(4, { ...at, request_id: 'w4', feature: 'f-b', input_tokens: 100_000, output_tokens: 1000, cache_hit: true }),
        // Another model and another month are not part of it.
        event(5, { ...at, request_id: 'w5', feature: 'f-a', model: 'gpt-4o' }),
        event(6, { ...at, request_id: 'w6', feature: 'f-a', timestamp: '2026-11-02T10:00:00Z' }),
    ];
}

describe('model-switch what-if', () => {
    const db = useTestDatabase('whatif');

    beforeAll(async () => {
        const dir = tempDir('whatif-logs');
        writeLog(dir, 'calls.jsonl', jsonl(corpus()));
        await ingest(db().handle.pool, localSource(dir), { maxErrorRate: 0, onChangedFile: 'fail', keepText: false, userIdHmacKey: undefined });
        const built = await seedBuildTest(db().handle.pool, await loadModels(), { log: () => undefined });
        expect(built.build.ok).toBe(true);
    }, 180_000);

    it('re-prices the same buckets at the target: its cache rate, long-context rule and batch multiplier', async () => {
        const r = await modelSwitchWhatIf(db().handle.db, { month: '2026-10', from: 'gpt-4o-mini', to: 'claude-sonnet-4-5' });
        expect(r.to).toEqual({ provider: 'anthropic', model: 'claude-sonnet-4-5' });
        const money = (l: (typeof r.lines)[number]) => [
            l.feature,
            l.requests,
            Number(l.currentUsd).toFixed(6),
            Number(l.whatIfUsd).toFixed(6),
            Number(l.changeUsd).toFixed(6),
        ];
        expect(r.lines.map(money)).toEqual([
            ['f-a', 1, '0.043500', '1.485000', '1.441500'],
            ['f-b', 3, '0.015600', '0.315000', '0.299400'],
        ]);
        expect(money(r.total)).toEqual(['(all)', 4, '0.059100', '1.800000', '1.740900']);
        expect(r.notCompared).toBe(0);
        const one = await modelSwitchWhatIf(db().handle.db, { month: '2026-10', from: 'gpt-4o-mini', to: 'anthropic/claude-sonnet-4-5', feature: 'f-b' });
        expect(one.lines.map(money)).toEqual([['f-b', 3, '0.015600', '0.315000', '0.299400']]);
    });

    it('re-pricing a model as itself gives its spend exactly (the what-if prices as the pipeline does)', async () => {
        const r = await modelSwitchWhatIf(db().handle.db, { month: '2026-10', from: 'gpt-4o-mini', to: 'gpt-4o-mini' });
        const [spend] = await db().query(
            "select sum(cost_usd)::text as spend from marts.fct_requests where model = 'gpt-4o-mini' and usage_date between '2026-10-01' and '2026-10-31'",
        );
        expect(Number(r.total.whatIfUsd)).toBe(Number(spend.spend));
        expect(r.total.changeUsd).toMatch(/^0(\.0+)?$/);
    });

    it('the command prints per feature, the total and that quality is not estimated; errors are one line with the fix', async () => {
        const ok = await runCli(['whatif', '--month', '2026-10', '--from', 'gpt-4o-mini', '--to', 'claude-sonnet-4-5'], { DATABASE_URL: db().url });
        expect(ok.code, ok.stderr).toBe(0);
        expect(ok.stdout).toMatch(/f-a\s+1\s+\$0\.04\s+\$1\.49\s+\$1\.44\s+3313\.8%/);
        expect(ok.stdout).toMatch(/\(all\)\s+4\s+\$0\.06\s+\$1\.80\s+\$1\.74\s+2945\.7%/);
        expect(ok.stdout).toContain('Quality is not part of this estimate');
        const none = await runCli(['whatif', '--month', '2026-09', '--from', 'gpt-4o-mini', '--to', 'gpt-4o'], { DATABASE_URL: db().url });
        expect(none.code).not.toBe(0);
        expect(none.stderr.trim()).toBe('tokenmart: whatif: no requests of gpt-4o-mini in 2026-09 (models that month: none)');
        const unknown = await runCli(['whatif', '--month', '2026-10', '--from', 'gpt-4o-mini', '--to', 'gpt-9'], { DATABASE_URL: db().url });
        expect(unknown.stderr.trim()).toBe(
            'tokenmart: whatif: no price for --to gpt-9 in models/seeds/model_prices*.csv; add its prices (or import the community list) and run tokenmart build',
        );
    });
});
