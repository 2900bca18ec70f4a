import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ingest } from '../pipelines/ingest/ingest.js';
import { localSource } from '../pipelines/ingest/sources/local-source.js';
import { loadModels, seedBuildTest } from '../pipelines/transform/transform.js';
import { sendDigests } from '../reports/digest/send-digests.js';
import { dailyPeriod, isoWeekOf } from '../reports/period.js';
import { writeWeeklyReport } from '../reports/weekly/weekly-report.js';
import { event, jsonl, tempDir, writeLog } from './support/event-fixtures.js';
import { useTestDatabase } from './support/test-database.js';

type Kind = 'email' | 'phone' | 'card' | 'api_key' | 'ip';
const corpus = JSON.parse(readFileSync(new URL('./fixtures/pii/leak-corpus.json', import.meta.url), 'utf8')) as Record<Kind, string[]>;
const KINDS: Kind[] = ['email', 'phone', 'card', 'api_key', 'ip'];
const planted = KINDS.flatMap((kind) => corpus[kind].map((value) => ({ kind, value })));

/** What must not appear anywhere for a planted value to count as not leaked. */
function secretOf(kind: Kind, value: string): { text?: string; digits?: string } {
    if (kind === 'phone' || kind === 'card') return { digits: value.replace(/^00/, '').replace(/\D/g, '') };
    if (kind === 'api_key') return { text: /(?:sk-|[sprk]k_|AKIA|ASIA|xox|gh[pousr]_|github_pat_|glpat-|AIza|eyJ|-----BEGIN)[\s\S]*/.exec(value)![0] };
    if (kind === 'ip') return { text: value.replace(/%.*$/, '').toLowerCase() };
    return { text: value.toLowerCase() };
}

/** Every field whose PII policy is scanned, hashed (no key: scanned) or dropped, and keys of the free-form objects. */
function plantedEvent(n: number, v: string, day: string): Record<string, unknown> {
    return event(n, {
        request_id: `leak_${n}`,
        timestamp: `${day}T${String(8 + (n % 12)).padStart(2, '0')}:00:00Z`,
        schema_version: 2,
        team: `team ${v}`,
        feature: `feature ${v}`,
        tenant: `tenant ${v}`,
        environment: `env ${v}`,
        prompt_version: `prompt ${v}`,
        operation: `op ${v}`,
        status: 'error',
        error_type: `error ${v}`,
        user_id: v,
        session_id: `sess_${n}`,
        tags: { [`key ${v}`]: `value ${v}`, nested: { deep: [`item ${v}`] } },
        eval_scores: { [`score ${v}`]: 0.5 },
        guardrail_flags: [`flag ${v}`],
        stages: [{ name: `stage ${v}`, duration_ms: 5 }],
        prompt_text: `prompt text ${v}`,
        completion_text: `completion ${v}`,
        custom_field: `extra ${v}`,
        [`extra key ${v}`]: 1,
    });
}

describe('privacy: nothing planted lands anywhere', () => {
    const db = useTestDatabase('privacy');

    it(`${planted.length} PII values of five kinds in every scanned field, in loaded and quarantined lines: 0 leaks in a dump of every schema, the report and the digest`, async () => {
        const day = '2026-11-18';
        const dir = tempDir('privacy');
        const lines: string[] = [];
        planted.forEach(({ value }, i) => {
            lines.push(JSON.stringify(plantedEvent(i, value, day)));
            // A line the contract refuses (negative tokens) and one that is not JSON: both quarantined.
            lines.push(JSON.stringify({ ...plantedEvent(10_000 + i, value, day), output_tokens: -1 }));
            lines.push(`{"team": "${value.replaceAll('"', '')}", "prompt_text": "secret ${value.replaceAll('"', '')}", broken`);
        });
        writeLog(dir, 'planted.jsonl', jsonl(lines));
        const spoolDir = join(tempDir('privacy-spool'), 'spool');
        const s = await ingest(db().handle.pool, localSource(dir), {
            maxErrorRate: 1,
            onChangedFile: 'fail',
            keepText: false,
            userIdHmacKey: undefined,
            spoolDir,
        });
        expect(s.rowsLoaded).toBe(planted.length);
        expect(s.rowsQuarantined).toBe(2 * planted.length);
        const built = await seedBuildTest(db().handle.pool, await loadModels(), { log: () => undefined });
        expect(built.build.ok).toBe(true);
        const out = tempDir('privacy-out');
        const report = await writeWeeklyReport(db().handle.db, isoWeekOf(day), out, undefined);
        const [digest] = await sendDigests(db().handle.pool, db().handle.db, {
            period: dailyPeriod(day),
            targets: [{ channel: '#x' }],
            client: undefined,
            outDir: out,
            log: () => undefined,
        });

        // Every value of every relation of every schema tokenmart writes, and the files it writes.
        const relations = await db().query<{ id: string }>(
            `select table_schema || '.' || table_name as id from information_schema.tables
             where table_schema in ('raw', 'ops', 'seeds', 'staging', 'intermediate', 'marts') order by 1`,
        );
        expect(relations.length).toBeGreaterThan(25);
        const texts: string[] = [];
        for (const { id } of relations) for (const r of await db().query(`select t::text as t from ${id} as t`)) texts.push(r.t);
        texts.push(readFileSync(report.htmlPath, 'utf8'));
        texts.push(readFileSync((digest.outcome as { payloadPath: string }).payloadPath, 'utf8'));
        const lower = texts.join('\n').toLowerCase();
        const digitRuns = texts.map((t) => t.replace(/\D/g, ''));
        const leaks = planted.filter(({ kind, value }) => {
            const secret = secretOf(kind, value);
            return secret.text ? lower.includes(secret.text.toLowerCase()) : digitRuns.some((d) => d.includes(secret.digits!));
        });
        expect(leaks).toEqual([]);
        // The quarantine keeps the lines scrubbed, with their text fields dropped, and nothing is left on disk.
        const [q] = await db().query("select line_text from ops.quarantine where reason like '%negative%' order by line_no limit 1");
        expect(q.line_text).toMatch(/"prompt_text":"\[dropped: \d+ chars\]"/);
        expect(existsSync(spoolDir) ? readdirSync(spoolDir) : []).toEqual([]);
        const [m] = await db().query('select redactions from ops.load_manifest');
        const redacted = Object.values(m.redactions as Record<string, number>).reduce((a, b) => a + b, 0);
        process.stderr.write(`privacy: 0 leaks of ${planted.length} values planted in 17 fields each (${planted.length * 3} lines, ${redacted} redactions)\n`);
    }, 120_000);
});
