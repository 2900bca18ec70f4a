import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../pipelines/ingest/ingest.js';
import { localSource } from '../pipelines/ingest/sources/local-source.js';
import { loadModels, seedBuildTest } from '../pipelines/transform/transform.js';
import { parseIsoWeek, weeklyPeriod } from '../reports/period.js';
import { experiments } from '../reports/sections/experiments.js';
import { sectionContext } from '../reports/sections/section.js';
import { event, jsonl, tempDir, writeLog } from './support/event-fixtures.js';
import { copyModels } from './support/models-fixture.js';
import { useTestDatabase } from './support/test-database.js';

/**
 * The statistics behind the quality marts, against published values (never the code's own
 * output). Sources, with the digits they print (research notes: docs/ has none; each is cited here):
 * - Φ(1) = 0.84134474606854292578: R pnorm(1), in scipy special/tests/test_cdft_asymptotic.py.
 * - chisquare([16,18,16,14,12,12]) -> 2.0, p 0.84914503608460956; with f_exp [16,16,16,16,16,8]
 *   -> 3.5, p 0.62338762774958223; ddof=1 -> p 0.7357588823428847: scipy.stats.chisquare docstring.
 * - t(0.975, 10) = 2.228: NIST/SEMATECH e-Handbook, Table 1.4.2.3 (critical values of t).
 * - Kolmogorov distribution: P(K > 1.3580986393225507) = 0.05, P(K > 1.2238478702170823) = 0.10
 *   (scipy special/tests/test_kolmogorov.py), P(K > 1.62762361) = 0.01 (statsmodels diagnostic.py).
 * - Newcombe (1998), Statistics in Medicine 17:873-890, method 10, example (a): 56/70 - 48/80,
 *   95% interval 0.0524 to 0.3339.
 * - Two proportions 56/127 vs 62/99: Z = -2.77, p = 0.006 (Penn State STAT 200, lesson 9.1.2.2, Minitab).
 * - Welch: Wikipedia "Welch's t-test" example 1 data (d1, d2), R t.test p = 0.021378001462867 (Rosetta
 *   Code "Welch's t-test"); x = [5.1,2.0,4.1,6.2,7.1,8.3], y = [1.5,6.4,3.3,5.8,4.8,7.2,5.6,4.5]: R t.test
 *   t = 0.51703, df = 9.48, p = 0.617, 95% CI -1.935420 to 3.093754 (statscodes.com, "Welch's two-sample
 *   t-tests in R"); d7, d8 from Rosetta Code, p = 0.090773324285671. Eval scores are 0..1, so the
 *   samples are divided by 100 (or 10): t, df and p do not change, the interval scales.
 * - Sample ratio mismatch: 600 vs 400 units for a 50/50 split, p = 2.54e-10 (Wikipedia, "Sample ratio mismatch").
 * - PSI: baseline shares (0.2, 0.5, 0.3), current (0.1, 0.6, 0.3): PSI = 0.0875 (0.1 ln 2 + 0.1 ln 1.2;
 *   insightful-data-lab.com, "PSI - Population Stability Index", 2025).
 * - Two-sample KS: linspace(1, 100, 100) against linspace(1, 100, 110) + 20.1: D = 232/1100, exact
 *   p = 0.015739183865607353 (scipy stats/tests/test_stats.py, TestKSTwoSamples).
 */
const d1 = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4];
const d2 = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4];
const x = [5.1, 2.0, 4.1, 6.2, 7.1, 8.3];
const y = [1.5, 6.4, 3.3, 5.8, 4.8, 7.2, 5.6, 4.5];
const d7 = [30.02, 29.99, 30.11, 29.97, 30.01, 29.99];
const d8 = [29.89, 29.93, 29.72, 29.98, 30.02, 29.98];

let seq = 0;
function request(feature: string, version: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    seq++;
    return event(seq, {
        request_id: `st_${seq}`,
        timestamp: `2026-11-1${seq % 8}T10:00:00Z`,
        feature,
        prompt_version: version,
        session_id: `s_${seq}`,
        ...overrides,
    });
}
const times = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

function corpus(): Record<string, unknown>[] {
    const e: Record<string, unknown>[] = [];
    // rates: thumbs-up 48/80 (A) vs 56/70 (B); resolved 62/99 (A) vs 56/127 (B).
    e.push(...times(80, (i) => request('f-rates', 'A', { feedback: i < 48 ? 1 : -1 })));
    e.push(...times(70, (i) => request('f-rates', 'B', { feedback: i < 56 ? 1 : -1 })));
    e.push(...times(99, (i) => request('f-rates', 'A', { schema_version: 2, outcome: i < 62 ? 'resolved' : 'abandoned' })));
    e.push(...times(127, (i) => request('f-rates', 'B', { schema_version: 2, outcome: i < 56 ? 'resolved' : 'abandoned' })));
    // means: eval a = d1 (A) vs d2 (B) / 100; eval b = y (A) vs x (B) / 10; eval c = d7 (A) vs d8 (B) / 100.
    const evals = (version: string, name: string, values: readonly number[], scale: number) =>
        values.map((v) => request('f-means', version, { eval_scores: { [name]: Number((v / scale).toFixed(6)) } }));
    e.push(...evals('A', 'a', d1, 100), ...evals('B', 'a', d2, 100));
    e.push(...evals('A', 'b', y, 10), ...evals('B', 'b', x, 10));
    e.push(...evals('A', 'c', d7, 100), ...evals('B', 'c', d8, 100));
    // assignment: 600 vs 400 requests, randomised per request, meant 50/50.
    e.push(...times(600, () => request('f-srm', 'A')), ...times(400, () => request('f-srm', 'B')));
    // sessions: 40 per arm of 5 requests each, every request of a session with the same feedback
    // (perfectly clustered: the design effect is the session size, 5); 3 sessions see both arms.
    for (const arm of ['A', 'B'])
        for (let s = 0; s < 40; s++)
            e.push(...times(5, () => request('f-sessions', arm, { session_id: `c_${arm}_${s}`, feedback: s < (arm === 'A' ? 20 : 28) ? 1 : -1 })));
    for (let s = 0; s < 3; s++)
        e.push(request('f-sessions', 'A', { session_id: `mixed_${s}`, feedback: 1 }), request('f-sessions', 'B', { session_id: `mixed_${s}`, feedback: 1 }));
    // p95: latencies 1..100 ms (A) and 11..110 ms (B).
    e.push(...times(100, (i) => request('f-latency', 'A', { latency_ms: i + 1 })), ...times(100, (i) => request('f-latency', 'B', { latency_ms: i + 11 })));
    // drift, output tokens: baseline week 100/200/300 tokens in shares 0.2/0.5/0.3, current week 0.1/0.6/0.3.
    const week = (day: string) => (i: number) => `${day}T${String(i % 24).padStart(2, '0')}:00:00Z`;
    const tokens = (day: string, counts: readonly number[]) =>
        counts.flatMap((n, k) => times(n, (i) => request('f-drift', 'A', { timestamp: week(day)(i), output_tokens: 100 * (k + 1) })));
    e.push(...tokens('2026-11-10', [200, 500, 300]), ...tokens('2026-11-17', [100, 600, 300]));
    // drift, an eval score: the current week is linspace(1, 100, 100), the baseline linspace(1, 100, 110) + 20.1, both / 1000.
    const score = (day: string, values: readonly number[]) =>
        values.map((v, i) => request('f-ks', 'A', { timestamp: week(day)(i), eval_scores: { ks: Number((v / 1000).toFixed(9)) } }));
    e.push(
        ...score(
            '2026-11-17',
            times(100, (i) => 1 + i),
        ),
        ...score(
            '2026-11-10',
            times(110, (i) => 1 + (99 * i) / 109 + 20.1),
        ),
    );
    return e;
}

const EXPERIMENTS = [
    'experiment_id,feature,variant_field,control_value,treatment_value,start_date,end_date,assignment_unit,treatment_share,primary_metric,guard_metrics,description',
    'rates,f-rates,prompt_version,A,B,2026-11-01,2026-11-30,request,,thumbs_up_rate,resolved_rate,',
    'means,f-means,prompt_version,A,B,2026-11-01,2026-11-30,request,,eval:a,eval:b;eval:c,',
    'srm,f-srm,prompt_version,A,B,2026-11-01,2026-11-30,request,0.5,thumbs_up_rate,,',
    'sessions,f-sessions,prompt_version,A,B,2026-11-01,2026-11-30,session,,thumbs_up_rate,,',
    'latency,f-latency,prompt_version,A,B,2026-11-01,2026-11-30,request,,latency_p95,,',
    '',
].join('\n');

describe('statistics', () => {
    const db = useTestDatabase('statistics');
    const one = async (sql: string) => (await db().query(sql))[0];
    const result = async (experiment: string, metric: string) =>
        one(
            `select * from marts.mart_experiment_results where experiment_id = '${experiment}' and metric = '${metric}'
             and as_of_date = (select max(as_of_date) from marts.mart_experiment_results)`,
        );

    beforeAll(async () => {
        const models = copyModels('statistics');
        writeFileSync(join(models, 'seeds', 'experiments.csv'), EXPERIMENTS);
        const dir = tempDir('statistics-logs');
        writeLog(dir, 'experiments.jsonl', jsonl(corpus()));
        const loaded = await ingest(db().handle.pool, localSource(dir), { maxErrorRate: 0, onChangedFile: 'fail', keepText: false, userIdHmacKey: undefined });
        expect(loaded.rowsLoaded).toBe(seq);
        const built = await seedBuildTest(db().handle.pool, await loadModels(models), { log: () => undefined });
        expect(built.build.ok).toBe(true);
    }, 180_000);

    it('distribution functions match R, scipy and published tables', async () => {
        const f = await one(`select
            tokenmart.normal_cdf(1) as phi1,
            tokenmart.normal_cdf(1.959963984540054) as phi975,
            tokenmart.chi2_sf(2.0, 5) as chi_a,
            tokenmart.chi2_sf(3.5, 5) as chi_b,
            tokenmart.chi2_sf(2.0, 4) as chi_c,
            tokenmart.t_critical(0.05, 10) as t10,
            tokenmart.kolmogorov_sf(1.3580986393225507) as k05,
            tokenmart.kolmogorov_sf(1.2238478702170823) as k10,
            tokenmart.kolmogorov_sf(1.62762361) as k01`);
        expect(f.phi1).toBeCloseTo(0.8413447460685429, 13); // R: 0.84134474606854292578
        expect(f.phi975).toBeCloseTo(0.975, 13);
        expect(f.chi_a).toBeCloseTo(0.84914503608460956, 13);
        expect(f.chi_b).toBeCloseTo(0.62338762774958223, 13);
        expect(f.chi_c).toBeCloseTo(0.7357588823428847, 13);
        expect(f.t10.toFixed(3)).toBe('2.228');
        expect(f.k05).toBeCloseTo(0.05, 12);
        expect(f.k10).toBeCloseTo(0.1, 12);
        expect(f.k01).toBeCloseTo(0.01, 8);
    });

    it('rates: Newcombe hybrid score interval and the two-proportion z-test', async () => {
        const thumbs = await result('rates', 'thumbs_up_rate');
        expect([thumbs.control_n, thumbs.treatment_n].map(Number)).toEqual([80, 70]);
        expect([thumbs.control_estimate, thumbs.treatment_estimate, thumbs.abs_diff]).toEqual(['0.600000', '0.800000', '0.200000']);
        expect(Number(thumbs.ci_low).toFixed(4)).toBe('0.0524');
        expect(Number(thumbs.ci_high).toFixed(4)).toBe('0.3339');
        const resolved = await result('rates', 'resolved_rate');
        // Minitab prints p for B - A = 56/127 - 62/99: Z = -2.77, p = 0.006.
        expect(resolved.p_value.toFixed(3)).toBe('0.006');
        expect(resolved.verdict).toBe('worse');
        // One guard metric: Holm leaves it as it is.
        expect(resolved.adjusted_p_value).toBeCloseTo(resolved.p_value, 15);
        expect(thumbs.metric_role).toBe('primary');
    });

    it("means: Welch's t with Welch-Satterthwaite df and its interval; Holm over the guards", async () => {
        const a = await result('means', 'eval:a');
        expect(a.p_value).toBeCloseTo(0.021378001462867, 10);
        const b = await result('means', 'eval:b');
        expect(b.p_value.toFixed(3)).toBe('0.617');
        // R's interval for mean(x) - mean(y) is -1.935420 to 3.093754; the scores are x/10 and y/10.
        expect(Number(b.ci_low)).toBeCloseTo(-0.193542, 6);
        expect(Number(b.ci_high)).toBeCloseTo(0.3093754, 6);
        const c = await result('means', 'eval:c');
        expect(c.p_value).toBeCloseTo(0.090773324285671, 10);
        // Holm over 2 guards: the smaller (c) times 2; the larger (b) times 1, kept monotone.
        expect(c.adjusted_p_value).toBeCloseTo(2 * 0.090773324285671, 10);
        expect(b.adjusted_p_value).toBeCloseTo(b.p_value, 15);
        // 15, 8 and 6 values per arm: below the 30 a verdict needs.
        expect([a.verdict, b.verdict, c.verdict]).toEqual(['not enough data', 'not enough data', 'not enough data']);
    });

    it('assignment: 600 vs 400 for 50/50 is a sample ratio mismatch, and every metric says so', async () => {
        const srm = await result('srm', 'assignment');
        expect([srm.control_n, srm.treatment_n].map(Number)).toEqual([600, 400]);
        expect(srm.p_value.toPrecision(3)).toBe('2.54e-10');
        expect(srm.verdict).toBe('sample ratio mismatch');
        expect((await result('srm', 'thumbs_up_rate')).verdict).toBe('sample ratio mismatch');
        expect((await result('rates', 'assignment')).verdict).not.toBe('sample ratio mismatch');
    });

    it('session assignment: sessions in both arms are left out and counted; perfectly clustered sessions of 5 have a design effect of 5', async () => {
        const r = await result('sessions', 'thumbs_up_rate');
        expect(Number(r.mixed_units)).toBe(3);
        expect([r.control_n, r.treatment_n].map(Number)).toEqual([200, 200]);
        expect([r.control_estimate, r.treatment_estimate]).toEqual(['0.500000', '0.700000']);
        expect(r.design_effect).toBeCloseTo(5, 12);
        // Pooled rate 240/400 = 0.6: z = 0.2 / sqrt(5 x 0.6 x 0.4 x (1/200 + 1/200)) = 0.2 / sqrt(0.012) = 1.8257;
        // p = 2 x (1 - Φ(1.8257)) = 0.0679 (standard normal table: Φ(1.82) = 0.96562, Φ(1.83) = 0.96638).
        // Without the design effect it would be z = 4.08, p < 0.0001: per-request tests overstate the evidence.
        expect(r.p_value).toBeCloseTo(0.0679, 3);
        const units = await result('sessions', 'assignment');
        expect([units.control_n, units.treatment_n].map(Number)).toEqual([40, 40]);
    });

    it('drift: PSI on known bins and the KS statistic of two known samples', async () => {
        const drift = (feature: string, metric: string) =>
            one(`select * from marts.mart_quality_drift where feature = '${feature}' and metric = '${metric}' and week_start = '2026-11-16'`);
        const tokens = await drift('f-drift', 'output_tokens');
        expect([tokens.current_n, tokens.baseline_n].map(Number)).toEqual([1000, 1000]);
        expect(Number(tokens.psi).toFixed(4)).toBe('0.0875');
        // PSI says little change (< 0.10), but the CDFs differ by D = 0.1 at 100 tokens (0.1 vs 0.2) over
        // 1,000 values each: the KS test's p is far below 0.001, so the week is flagged.
        expect(Number(tokens.ks_statistic)).toBe(0.1);
        expect(tokens.ks_p_value).toBeLessThan(0.001);
        expect(tokens.drift_status).toBe('drifted');
        const ks = await drift('f-ks', 'eval:ks');
        expect([ks.current_n, ks.baseline_n].map(Number)).toEqual([100, 110]);
        expect(Number(ks.ks_statistic)).toBeCloseTo(232 / 1100, 6);
        // The asymptotic p-value against scipy's exact one.
        expect(Math.abs(ks.ks_p_value - 0.015739183865607353)).toBeLessThan(0.003);
    });

    it('results by as-of week, and a weekly digest that names only the primary verdicts that changed', async () => {
        const weeks = await db().query(
            "select as_of_date::text as day, control_n::int as a, treatment_n::int as b, verdict from marts.mart_experiment_results where experiment_id = 'latency' and metric = 'latency_p95' order by 1",
        );
        // Sundays from the week of Nov 1 to the week of the last data (Nov 17); the fixture's days are Nov 10 to 17.
        expect(weeks.map((w) => w.day)).toEqual(['2026-11-01', '2026-11-08', '2026-11-15', '2026-11-22']);
        expect(weeks[3]).toMatchObject({ a: 100, b: 100, verdict: 'worse' });
        expect(weeks[2].a).toBeLessThan(100); // through Nov 15 only: below the 100 values a percentile needs
        expect(weeks[2].verdict).toBe('not enough data');
        const part = await experiments.digest!(sectionContext(db().handle.db, weeklyPeriod(parseIsoWeek('2026-W47'))));
        const text = JSON.stringify(part.blocks);
        expect(text).toMatch(/Experiment verdicts that changed.*latency \(A → B\): latency_p95 .*\*worse\* \(p = 0\.00\d; was not enough data\)/);
        expect(text).not.toMatch(/srm/); // a sample ratio mismatch both weeks: no news
    });

    it('latency p95: order statistics per arm, and the normal test of their difference', async () => {
        const r = await result('latency', 'latency_p95');
        // percentile_disc(0.95) of 1..100 is the 95th value; B is shifted by 10.
        expect([r.control_estimate, r.treatment_estimate, r.abs_diff]).toEqual(['95.000000', '105.000000', '10.000000']);
        // Ranks 0.95 x 100 -/+ 1.96 x sqrt(100 x 0.95 x 0.05) = 90.73 / 99.27 -> values 90 and 100 (A):
        // se per arm = (100 - 90) / (2 x 1.959964) = 2.551067; of the difference sqrt(2) x 2.551067 = 3.607764.
        expect(Number(r.ci_high) - Number(r.abs_diff)).toBeCloseTo(1.959963984540054 * 3.607764, 4);
    });
});
