import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../pipelines/ingest/ingest.js';
import { localSource } from '../pipelines/ingest/sources/local-source.js';
import { loadModels, seedBuildTest } from '../pipelines/transform/transform.js';
import { writeChargebackReport } from '../reports/chargeback/chargeback-report.js';
import { allocateCents } from '../reports/format.js';
import { usingBrowser } from '../reports/render/browser.js';
import { event, jsonl, tempDir, writeLog } from './support/event-fixtures.js';
import { copyModels } from './support/models-fixture.js';
import { useTestDatabase } from './support/test-database.js';

/**
 * Chargeback of shared spend, by hand. Every request is gpt-4o input only ($2.50 per million):
 * 400,000 tokens cost exactly $1.00, so each line's amount is worked out in the comments.
 */
const RULES = [
    'rule_id,priority,pool_type,pool_value,method,receiver_type,receiver_value,fixed_share,description',
    'unassigned,1,team,unassigned,proportional_spend,team,,,Untagged spend',
    'router,2,feature,llm-router,proportional_requests,team,,,The shared router',
    'evals,3,tag,job=eval,fixed,cost_center,CC-230,0.6,Evaluation jobs',
    'evals,3,tag,job=eval,fixed,cost_center,CC-410,0.4,Evaluation jobs',
    'tenant-infra,4,feature,tenant-infra,proportional_spend,tenant,,,Per-customer infrastructure',
    '',
].join('\n');

let seq = 0;
function dollars(amount: number, day: string, fields: Record<string, unknown>): Record<string, unknown>[] {
    // `amount` requests of $1.00 each.
    return Array.from({ length: amount }, () => {
        seq++;
        return event(seq, { request_id: `cb_${seq}`, timestamp: `${day}T12:00:00Z`, model: 'gpt-4o', input_tokens: 400_000, output_tokens: 0, ...fields });
    });
}

function corpus(): Record<string, unknown>[] {
    return [
        // October. Direct: support $4.00 in 4 requests, search $2.00 in 1 request of 800,000 tokens, platform $3.00 in 3.
        ...dollars(4, '2026-10-05', { feature: 'support-chat', tenant: 'acme' }),
        ...dollars(1, '2026-10-05', { feature: 'answer-engine', input_tokens: 800_000 }),
        ...dollars(3, '2026-10-06', { feature: 'code-review' }),
        // Pools: $1.00 nobody owns, $3.00 of router, $1.00 of evaluation jobs (a growth feature, tagged).
        ...dollars(1, '2026-10-07', { feature: 'mystery', team: null }),
        ...dollars(3, '2026-10-07', { feature: 'llm-router', team: 'platform' }),
        ...dollars(1, '2026-10-08', { feature: 'email-drafts', tags: { job: 'eval' } }),
        // September: support $3.00 for acme and $1.00 for globex, search $2.00 for acme; $1.00 of per-customer infrastructure.
        ...dollars(3, '2026-09-10', { feature: 'support-chat', tenant: 'acme' }),
        ...dollars(1, '2026-09-10', { feature: 'support-chat', tenant: 'globex' }),
        ...dollars(2, '2026-09-11', { feature: 'answer-engine', tenant: 'acme' }),
        ...dollars(1, '2026-09-12', { feature: 'tenant-infra', team: 'platform', tenant: 'hooli' }),
        // August: only router spend, and nobody to charge it to.
        ...dollars(1, '2026-08-20', { feature: 'llm-router', team: 'platform' }),
    ];
}

describe('chargeback of shared spend', () => {
    const db = useTestDatabase('chargeback');
    const q = (text: string) => db().query(text);

    beforeAll(async () => {
        const models = copyModels('chargeback');
        writeFileSync(join(models, 'seeds', 'allocation_rules.csv'), RULES);
        const dir = tempDir('chargeback-logs');
        writeLog(dir, 'spend.jsonl', jsonl(corpus()));
        const loaded = await ingest(db().handle.pool, localSource(dir), { maxErrorRate: 0, onChangedFile: 'fail', keepText: false, userIdHmacKey: undefined });
        expect(loaded.rowsLoaded).toBe(seq);
        const built = await seedBuildTest(db().handle.pool, await loadModels(models), { log: () => undefined });
        expect(built.build.ok).toBe(true);
    }, 180_000);

    const statement = (month: string) =>
        q(
            `select cost_center, team, tenant, direct_usd::text as direct, allocated_usd::text as allocated, allocated_by_rule as rules, total_usd::text as total
             from marts.mart_monthly_chargeback where month = '${month}' order by cost_center, team, tenant`,
        );

    it('spreads each pool by its rule: proportional to spend, to requests, and fixed shares, in cents that add up', async () => {
        expect(await statement('2026-10')).toEqual([
            // unassigned $1.00 by direct spend 4 : 2 : 3 of $9: 44.44, 22.22, 33.33 cents; the cent left goes to the
            // largest remainder (support's .44). Router $3.00 by requests 4 : 1 : 3 of 8: 150, 37.5, 112.5; the
            // cent left is a tie of .5, which goes to the first line in statement order (CC-220 search).
            {
                cost_center: 'CC-220',
                team: 'search',
                tenant: '(all)',
                direct: '2.00',
                allocated: '0.60',
                rules: { router: 0.38, unassigned: 0.22 },
                total: '2.60',
            },
            { cost_center: 'CC-230', team: '(cost center)', tenant: '(all)', direct: '0.00', allocated: '0.60', rules: { evals: 0.6 }, total: '0.60' },
            {
                cost_center: 'CC-230',
                team: 'platform',
                tenant: '(all)',
                direct: '3.00',
                allocated: '1.45',
                rules: { router: 1.12, unassigned: 0.33 },
                total: '4.45',
            },
            { cost_center: 'CC-410', team: '(cost center)', tenant: '(all)', direct: '0.00', allocated: '0.40', rules: { evals: 0.4 }, total: '0.40' },
            {
                cost_center: 'CC-410',
                team: 'support',
                tenant: '(all)',
                direct: '4.00',
                allocated: '1.95',
                rules: { router: 1.5, unassigned: 0.45 },
                total: '5.95',
            },
        ]);
        // The statement adds up to the month's $14.00 of spend.
        const [sum] = await q("select sum(total_usd)::text as total from marts.mart_monthly_chargeback where month = '2026-10'");
        expect(sum).toEqual({ total: '14.00' });
    });

    it('a tenant rule charges the customers, within the teams that served them', async () => {
        expect(await statement('2026-09')).toEqual([
            { cost_center: 'CC-220', team: 'search', tenant: '(all)', direct: '2.00', allocated: '0.00', rules: {}, total: '2.00' },
            // $1.00 by direct spend per team x tenant, 2 : 3 : 1 of $6: 33.33, 50, 16.67 cents; the cent left to globex's .67.
            { cost_center: 'CC-220', team: 'search', tenant: 'acme', direct: '0.00', allocated: '0.33', rules: { 'tenant-infra': 0.33 }, total: '0.33' },
            { cost_center: 'CC-410', team: 'support', tenant: '(all)', direct: '4.00', allocated: '0.00', rules: {}, total: '4.00' },
            { cost_center: 'CC-410', team: 'support', tenant: 'acme', direct: '0.00', allocated: '0.50', rules: { 'tenant-infra': 0.5 }, total: '0.50' },
            { cost_center: 'CC-410', team: 'support', tenant: 'globex', direct: '0.00', allocated: '0.17', rules: { 'tenant-infra': 0.17 }, total: '0.17' },
        ]);
    });

    it('a pool nobody can receive stays on the statement, unallocated, with a warning', async () => {
        expect(await statement('2026-08')).toEqual([
            { cost_center: 'unallocated', team: '(no receivers)', tenant: '(all)', direct: '0.00', allocated: '1.00', rules: { router: 1 }, total: '1.00' },
        ]);
        const tests = await q(
            `select test_name, status from ops.test_results
             where test_name in ('chargeback_total_equals_cost_mart', 'chargeback_allocations_equal_shared_spend', 'chargeback_pool_without_receivers', 'allocation_rules_are_consistent', 'tenant_cost_equals_cost_mart')
             order by test_name`,
        );
        expect(tests).toEqual([
            { test_name: 'allocation_rules_are_consistent', status: 'pass' },
            { test_name: 'chargeback_allocations_equal_shared_spend', status: 'pass' },
            { test_name: 'chargeback_pool_without_receivers', status: 'warn' },
            { test_name: 'chargeback_total_equals_cost_mart', status: 'pass' },
            { test_name: 'tenant_cost_equals_cost_mart', status: 'pass' },
        ]);
    });

    it('tenant cost: spend, requests, cost per request and share of the month', async () => {
        const rows = await q(
            "select tenant, cost_usd::numeric(10, 2)::text as cost, requests::int as requests, cost_per_request_usd::text as per_request, spend_share::text as share from marts.mart_monthly_tenant_cost where month = '2026-09' order by tenant",
        );
        // $7.00 in September: acme $5.00 in 5 requests (5/7 = 0.7143), globex and hooli $1.00 each (0.1429).
        expect(rows).toEqual([
            { tenant: 'acme', cost: '5.00', requests: 5, per_request: '1.000000', share: '0.7143' },
            { tenant: 'globex', cost: '1.00', requests: 1, per_request: '1.000000', share: '0.1429' },
            { tenant: 'hooli', cost: '1.00', requests: 1, per_request: '1.000000', share: '0.1429' },
        ]);
    });

    it('largest remainder in SQL and in the reports agree, ties to the earlier part, and the parts always add up', async () => {
        // [total cents, weights, the same parts as dollar amounts where they are exact, expected cents]
        const cases: [number, string[], string[] | null, number[]][] = [
            [100, ['1', '1', '1'], null, [34, 33, 33]], // 33.33 each: the first gets the cent
            [1000, ['1', '1', '1', '1', '1', '1', '1'], null, [143, 143, 143, 143, 143, 143, 142]], // 142.86 each: six get one more
            [101, ['1', '1'], ['0.505', '0.505'], [51, 50]], // a tie of .5: the first
            [100, ['0', '0'], null, [50, 50]], // nothing to weigh by: equal
            [7, ['0.5', '0.25', '0.25'], ['0.035', '0.0175', '0.0175'], [3, 2, 2]], // 3.5, 1.75, 1.75: the .75s outrank the .5
            [-100, ['1', '2'], null, [-33, -67]], // a credit: -33.33 and -66.67 round the same way
        ];
        for (const [total, weights, amounts, expected] of cases) {
            const [row] = await q(`select tokenmart.allocate_cents(${total}, array[${weights.join(', ')}]::numeric[]) as cents`);
            const cents = (row.cents as string[]).map(Number);
            expect(cents, `${total} over ${weights}`).toEqual(expected);
            expect(cents.reduce((x, y) => x + y, 0)).toBe(total);
            if (amounts) expect(allocateCents(amounts).parts.map(Number), `reports: ${amounts}`).toEqual(expected);
        }
    });

    it('tokenmart report chargeback: a ledger CSV and a PDF statement whose pages add up (pdftotext)', async () => {
        const out = tempDir('chargeback-out');
        const report = await usingBrowser((browser) => writeChargebackReport(db().handle.db, '2026-10', out, browser, new Date('2026-11-02T08:00:00Z')));
        // Per cost center: CC-220 2.60; CC-230 platform 4.45 + evals 0.60; CC-410 support 5.95 + evals 0.40 (the statement above).
        expect(readFileSync(report.csvPath, 'utf8')).toBe(
            [
                'cost_center,amount,memo',
                'CC-220,2.60,"LLM spend 2026-10: direct 2.00; shared router 0.38, unassigned 0.22"',
                'CC-230,5.05,"LLM spend 2026-10: direct 3.00; shared evals 0.60, router 1.12, unassigned 0.33"',
                'CC-410,6.35,"LLM spend 2026-10: direct 4.00; shared evals 0.40, router 1.50, unassigned 0.45"',
                '',
            ].join('\r\n'),
        );
        const pdf = report.pdfPath!;
        const pages = Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [pdf], { encoding: 'utf8' }))![1]);
        const raw = (n: number) => execFileSync('pdftotext', ['-f', String(n), '-l', String(n), '-layout', pdf, '-'], { encoding: 'utf8' });
        const last = (line: string) => Math.round(Number([...line.matchAll(/\$(\d+\.\d\d)/g)].at(-1)![1]) * 100);
        // Page 1: the summary and the method; then one page per cost center, its lines adding up to its total.
        expect(pages).toBe(4);
        expect(raw(1).replace(/\s+/g, ' ')).toMatch(/Total \$9\.00 \$5\.00 \$14\.00/);
        expect(raw(1).replace(/\s+/g, ' ')).toContain(
            'router: the spend of feature llm-router (The shared router), charged to the teams in proportion to their requests.',
        );
        const pageTotals = [2, 3, 4].map((n) => {
            const rows = raw(n)
                .split('\n')
                .filter((l) => l.includes('$'));
            const totalRow = rows.find((l) => /^\s*Total CC-/.test(l))!;
            const lineSum = rows.filter((l) => l !== totalRow).reduce((acc, l) => acc + last(l), 0);
            expect(lineSum, `page ${n}`).toBe(last(totalRow));
            return { cc: /Cost center (CC-\d+)/.exec(raw(n))![1], total: (last(totalRow) / 100).toFixed(2) };
        });
        expect(pageTotals.map(({ cc, total }) => [cc, total])).toEqual([
            ['CC-220', '2.60'],
            ['CC-230', '5.05'],
            ['CC-410', '6.35'],
        ]);
        expect(pageTotals.reduce((a, p) => a + Math.round(Number(p.total) * 100), 0)).toBe(1400);
        // Month over month (October against September) per team: the effects add up to the change, to the cent.
        const html = readFileSync(report.htmlPath, 'utf8');
        const table = html.slice(html.indexOf('Why spend changed since the month before'));
        const changes = [...table.matchAll(/<tr><td>([^<]+)<\/td>((?:<td class="n">[^<]*<\/td>){6})<\/tr>/g)].map((m) => ({
            team: m[1],
            cents: [...m[2].matchAll(/(-?)\$([\d,]+)\.(\d\d)/g)].map((x) => (x[1] ? -1 : 1) * (Number(x[2].replaceAll(',', '')) * 100 + Number(x[3]))),
        }));
        expect(changes.map((c) => c.team)).toEqual(['growth', 'platform', 'search', 'support', 'unassigned']);
        for (const { team, cents } of changes) expect(cents[0] + cents[2] + cents[3] + cents[4] + cents[5], team).toBe(cents[1]);
        // Support's four $1.00 calls in both months: no change at all.
        expect(changes.find((c) => c.team === 'support')?.cents).toEqual([400, 400, 0, 0, 0, 0]);
    }, 120_000);
});
