import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './support/event-fixtures.js';
import { runCli } from './support/run-cli.js';
import { useTestDatabase } from './support/test-database.js';

/**
 * Every input format in one directory, one `tokenmart ingest`: fixtures built from each format's
 * documented shape and real instrumentations' output (test/fixtures/formats/PROVENANCE-*.md).
 */
const fixtures = new URL('./fixtures/formats/', import.meta.url).pathname;
const FILES = [
    'openllmetry-anthropic-prompt-caching.traces.jsonl', // 2 lines, 1 span each
    'openllmetry-openai-prompt-caching.traces.jsonl', // 1 line, 2 spans
    'openlit-anthropic-prompt-caching.traces.jsonl', // 1 line, 2 spans
    'openinference-anthropic.traces.jsonl', // 1 line, 3 spans
    'genai-lenient-encoding.traces.json', // one pretty-printed document, 2 spans
    'genai-agent.traces.jsonl', // 1 line, 5 spans: an agent run, 2 model calls, 2 tool calls
    'claude-code-events.logs.jsonl', // 1 line, 4 log records: a user prompt, 2 api_request, 1 api_error
    'codex-events.logs.jsonl', // 1 line, 3 records: 2 api_request, 1 sse_event response.completed
    'provider-responses.jsonl', // 4 wrapped responses
    'openai-batch-output.jsonl', // 3 batch lines, one failed
    'litellm/openai_success_cached.json',
    'litellm/anthropic_success_cache_read_write.json',
    'litellm/failure_rate_limit.json',
];

describe('input formats', () => {
    const db = useTestDatabase('input_formats');
    let stderr = '';

    beforeAll(async () => {
        const dir = tempDir('formats');
        for (const f of FILES) cpSync(join(fixtures, f), join(dir, f.replace('/', '-')));
        const r = await runCli(['ingest', dir, '--max-error-rate', '1'], { DATABASE_URL: db().url });
        expect(r.code, r.stderr).toBe(0);
        stderr = r.stderr;
        const built = await runCli(['build'], { DATABASE_URL: db().url });
        expect(built.code, built.stderr).toBe(0);
        await runCli(['test'], { DATABASE_URL: db().url });
        // Every error-level data test passes (every token in exactly one bucket, cost = the sum of
        // its buckets, marts reconcile) but freshness: the fixtures are days old.
        const failing = await db().query(
            "select test_name, status, message from ops.test_results where severity = 'error' and status <> 'pass' and test_name not like 'freshness%'",
        );
        expect(failing).toEqual([]);
        expect(
            await db().query(
                "select count(*)::int as n from ops.test_results where test_name in ('stg_events_buckets_sum_to_totals', 'fct_requests_cost_is_sum_of_buckets') and status = 'pass'",
            ),
        ).toEqual([{ n: 2 }]);
    }, 180_000);

    it('detects each file by content and accounts for every record: loaded, quarantined or skipped', async () => {
        const manifest = await db().query(
            "select regexp_replace(source_uri, '^.*/', '') as file, format, rows_loaded as loaded, rows_quarantined as quarantined, records_skipped as skipped from ops.load_manifest order by 1",
        );
        expect(manifest).toEqual([
            { file: 'claude-code-events.logs.jsonl', format: 'otlp-logs', loaded: 3, quarantined: 0, skipped: 1 },
            { file: 'codex-events.logs.jsonl', format: 'otlp-logs', loaded: 1, quarantined: 0, skipped: 2 },
            { file: 'genai-agent.traces.jsonl', format: 'otlp-traces', loaded: 5, quarantined: 0, skipped: 0 },
            { file: 'genai-lenient-encoding.traces.json', format: 'otlp-traces', loaded: 2, quarantined: 0, skipped: 0 },
            { file: 'litellm-anthropic_success_cache_read_write.json', format: 'litellm', loaded: 1, quarantined: 0, skipped: 0 },
            { file: 'litellm-failure_rate_limit.json', format: 'litellm', loaded: 1, quarantined: 0, skipped: 0 },
            { file: 'litellm-openai_success_cached.json', format: 'litellm', loaded: 1, quarantined: 0, skipped: 0 },
            { file: 'openai-batch-output.jsonl', format: 'openai-batch', loaded: 2, quarantined: 1, skipped: 0 },
            { file: 'openinference-anthropic.traces.jsonl', format: 'otlp-traces', loaded: 3, quarantined: 0, skipped: 0 },
            { file: 'openlit-anthropic-prompt-caching.traces.jsonl', format: 'otlp-traces', loaded: 2, quarantined: 0, skipped: 0 },
            { file: 'openllmetry-anthropic-prompt-caching.traces.jsonl', format: 'otlp-traces', loaded: 2, quarantined: 0, skipped: 0 },
            { file: 'openllmetry-openai-prompt-caching.traces.jsonl', format: 'otlp-traces', loaded: 2, quarantined: 0, skipped: 0 },
            { file: 'provider-responses.jsonl', format: 'provider-response', loaded: 4, quarantined: 0, skipped: 0 },
        ]);
        expect(stderr).toContain('ingest:   otlp-logs: 2 file(s), 4 loaded, 0 quarantined, 3 skipped (not model calls)');
        expect(stderr).toContain('ingest:   otlp-traces: 6 file(s), 16 loaded, 0 quarantined, 0 skipped (not model calls)');
        const [q] = await db().query("select line_no, reason from ops.quarantine where source_uri like '%batch%'");
        expect(q).toEqual({ line_no: 3, reason: "batch request request-tm-2 status 429: no usage to load (the batch's error file has the reason)" });
    });

    it('maps tokens to the contract whatever the producer counted: Anthropic input with its cache tokens, OpenAI as reported', async () => {
        const rows = await db().query(
            `select request_id, input_tokens as i, output_tokens as o, cache_read_tokens as cr, cache_write_tokens as cw, cache_write_1h_tokens as cw1h, reasoning_tokens as r
             from raw.events where request_id in ('msg_01EF3r8zYyZntM4Sg9a5kc6k', 'req_011CSJ9tExample0001', 'chatcmpl-BNi420iFNtIOHzy8Gq2fVS5utTus7', '3f6d2a0e-5b9c-4e7a-8a41-2c7d9e1f0b36')
             order by request_id, file_id`,
        );
        expect(rows).toEqual([
            // LiteLLM, Anthropic: prompt_tokens 16370 = 12 uncached + 14310 read + 2048 written (1 hour).
            { request_id: '3f6d2a0e-5b9c-4e7a-8a41-2c7d9e1f0b36', i: '16370', o: '512', cr: '14310', cw: '2048', cw1h: '2048', r: null },
            // OpenLLMetry, OpenAI: prompt_tokens 1149 already include the 1024 cached.
            { request_id: 'chatcmpl-BNi420iFNtIOHzy8Gq2fVS5utTus7', i: '1149', o: '353', cr: '1024', cw: null, cw1h: null, r: '0' },
            // The same Anthropic call (input_tokens 4, cache_creation 1163) from OpenLLMetry (sums them), OpenLIT (does not: we add) and OpenInference.
            { request_id: 'msg_01EF3r8zYyZntM4Sg9a5kc6k', i: '1167', o: '187', cr: '0', cw: '1163', cw1h: null, r: null },
            { request_id: 'msg_01EF3r8zYyZntM4Sg9a5kc6k', i: '1167', o: '187', cr: '0', cw: '1163', cw1h: null, r: null },
            // Claude Code: input_tokens 3 + cache_read 61204 + cache_creation 1877.
            { request_id: 'req_011CSJ9tExample0001', i: '63084', o: '612', cr: '61204', cw: '1877', cw1h: null, r: null },
        ]);
    });

    it('loads agent runs and tool calls as agent steps (no tokens, arguments hashed) and groups them with their model calls into a task', async () => {
        const steps = await db().query(
            `select operation, tool_name, tool_call_hash, latency_ms, provider, model from staging.stg_agent_steps
             where trace_id = '7d1e5c0a9b8f4e2d8c6b5a4f3e2d1c0b' order by event_at`,
        );
        // The hash: the first 16 hex of sha256 of the arguments (test/fixtures/formats/PROVENANCE-otel.md).
        expect(steps).toEqual([
            { operation: 'invoke_agent', tool_name: null, tool_call_hash: null, latency_ms: 6000, provider: 'openai', model: 'gpt-4o-mini' },
            { operation: 'execute_tool', tool_name: 'get_weather', tool_call_hash: 'eac96f195fe3decf', latency_ms: 400, provider: null, model: null },
            { operation: 'execute_tool', tool_name: 'get_weather', tool_call_hash: 'eac96f195fe3decf', latency_ms: 400, provider: null, model: null },
        ]);
        const [raw] = await db().query(
            "select count(*)::int as n, coalesce(sum(input_tokens), 0)::int as input from raw.events where trace_id = '7d1e5c0a9b8f4e2d8c6b5a4f3e2d1c0b'",
        );
        // 5 events; only the model calls' 1,000 + 500 input tokens, not the run's total of 1,500 again.
        expect(raw).toEqual({ n: 5, input: 1500 });
        const [task] = await db().query(
            `select feature, steps, llm_calls, tool_calls, tool_calls_by_tool, input_tokens::int as input_tokens, round(cost_usd, 6)::text as cost,
                    duration_ms::text as duration, max_repeated_tool_calls as repeats, has_loop, is_successful
             from marts.mart_agent_tasks where task_id = '7d1e5c0a9b8f4e2d8c6b5a4f3e2d1c0b'`,
        );
        // gpt-4o-mini ($0.15 in, $0.60 out): 1,000 x 0.15 + 200 x 0.60 + 500 x 0.15 + 100 x 0.60 = 405 -> $0.000405.
        expect(task).toEqual({
            feature: 'travel-assistant',
            steps: 4,
            llm_calls: 2,
            tool_calls: 2,
            tool_calls_by_tool: { get_weather: 2 },
            input_tokens: 1500,
            cost: '0.000405',
            duration: '6000.0',
            repeats: 2,
            has_loop: false,
            is_successful: true,
        });
    });

    it('prices every format to the cent (hand-computed from the list prices in models/seeds/model_prices.csv)', async () => {
        const rows = await db().query(
            `select request_id, cost_usd::text as cost, reported_cost_usd::text as reported, service_tier from marts.fct_requests
             where request_id in ('3f6d2a0e-5b9c-4e7a-8a41-2c7d9e1f0b36', 'a3c1f7e2-9d4b-4c8e-8f21-6b7e0d2c9a55', 'req_011CSJ9tExample0001', 'req_011CSJ9tExample0002',
                                  'chatcmpl-BNi420iFNtIOHzy8Gq2fVS5utTus7', 'req_tm0001', 'hS77aOmpFb66vr0P9ruBiQM')
             order by request_id`,
        );
        const cost = Object.fromEntries(rows.map((r) => [r.request_id, [Number(r.cost).toFixed(8), r.reported, r.service_tier]]));
        expect(cost).toEqual({
            // LiteLLM Anthropic, claude-sonnet-4-5 ($3 in, $0.30 read, $6 1-hour write, $15 out): 12x3 + 14310x0.30 + 2048x6 + 512x15 = 24,297 -> $0.024297 (= LiteLLM's response_cost).
            '3f6d2a0e-5b9c-4e7a-8a41-2c7d9e1f0b36': ['0.02429700', '0.024297', 'standard'],
            // LiteLLM OpenAI, gpt-4o ($2.50 in, $1.25 cached, $10 out): 86x2.5 + 1920x1.25 + 300x10 = 5,615 -> $0.005615.
            'a3c1f7e2-9d4b-4c8e-8f21-6b7e0d2c9a55': ['0.00561500', '0.005615', 'standard'],
            // Claude Code, claude-sonnet-4-5 (5-minute writes $3.75): 3x3 + 61204x0.30 + 1877x3.75 + 612x15 = 34,588.95 -> $0.03458895 (Claude Code estimated $0.031243).
            req_011CSJ9tExample0001: ['0.03458895', '0.031243', 'standard'],
            // Claude Code, claude-haiku-4-5 ($1 in, $5 out): 312 + 20x5 = 412 -> $0.000412.
            req_011CSJ9tExample0002: ['0.00041200', '0.000412', 'standard'],
            // OpenLLMetry OpenAI, gpt-4o-mini ($0.15 in, $0.075 cached, $0.60 out): 125x0.15 + 1024x0.075 + 353x0.60 = 307.35 -> $0.00030735.
            'chatcmpl-BNi420iFNtIOHzy8Gq2fVS5utTus7': ['0.00030735', null, 'standard'],
            // OpenAI Batch, gpt-4o-mini at 50%: (24x0.15 + 15x0.60) x 0.5 = 6.3 -> $0.0000063.
            req_tm0001: ['0.00000630', null, 'batch'],
            // Gemini ($0.30 in, $0.03 cached, $2.50 out; thoughts are output): 2x0.30 + 3x0.03 + (238 + 41)x2.50 = 698.19 -> $0.00069819.
            hS77aOmpFb66vr0P9ruBiQM: ['0.00069819', null, 'standard'],
        });
    });

    it('no prompt, completion, message content or e-mail lands in any table', async () => {
        // Every string value longer than 24 characters in the fixtures' content fields, collected independently of the mappers.
        const secrets = new Set<string>(['dev@example.com']);
        const walk = (v: unknown, key = ''): void => {
            if (typeof v === 'string') {
                if (/prompt|completion|messages|content|input\.value|output\.value|body|arguments|^text$|response$/i.test(key) && v.length > 24) secrets.add(v);
            } else if (Array.isArray(v)) for (const x of v) walk(x, key);
            else if (v && typeof v === 'object') {
                const o = v as Record<string, unknown>;
                if (typeof o.key === 'string' && o.value && typeof o.value === 'object') walk(Object.values(o.value)[0], o.key);
                else for (const [k, x] of Object.entries(o)) walk(x, k);
            }
        };
        for (const f of FILES) {
            const text = readFileSync(join(fixtures, f), 'utf8');
            for (const line of f.endsWith('.json') ? [text] : text.split('\n').filter(Boolean)) walk(JSON.parse(line));
        }
        expect(secrets.size).toBeGreaterThan(5);
        const tables = await db().query(
            "select table_schema || '.' || table_name as t from information_schema.tables where table_schema in ('raw', 'ops', 'staging', 'intermediate', 'marts')",
        );
        let dump = '';
        for (const { t } of tables) for (const r of await db().query(`select x::text as s from ${t} as x`)) dump += `${r.s}\n`;
        expect([...secrets].filter((s) => dump.includes(s))).toEqual([]);
        expect(readdirSync(fixtures).length).toBeGreaterThan(5);
    });

    it('--dry-run says per file what would load, what would be quarantined and why, with sample events, and writes nothing; --format overrides detection', async () => {
        const dir = tempDir('formats-dry');
        cpSync(join(fixtures, 'openai-batch-output.jsonl'), join(dir, 'batch.jsonl'));
        cpSync(join(fixtures, 'claude-code-events.logs.jsonl'), join(dir, 'claude.jsonl'));
        const before = await db().query('select count(*)::int as n from ops.load_manifest');
        const r = await runCli(['ingest', dir, '--dry-run', '--max-error-rate', '1'], { DATABASE_URL: db().url });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toContain('batch.jsonl (openai-batch): would load 2, quarantine 1, skip 0 (not model calls)');
        expect(r.stderr).toContain(
            "ingest:   quarantined, line 3: batch request request-tm-2 status 429: no usage to load (the batch's error file has the reason)",
        );
        expect(r.stderr).toContain('claude.jsonl (otlp-logs): would load 3, quarantine 0, skip 1 (not model calls)');
        expect(r.stderr).toMatch(/ingest: {3}event: \{"schema_version":2,"request_id":"req_011CSJ9tExample0001",.*"input_tokens":63084/);
        expect(r.stderr).toContain('ingest: dry run: nothing was loaded or recorded');
        expect(await db().query('select count(*)::int as n from ops.load_manifest')).toEqual(before);
        // Forced to the native format, OTLP lines are not events: quarantined with the contract's reason.
        const forced = await runCli(['ingest', dir, '--dry-run', '--format', 'native', '--max-error-rate', '1'], { DATABASE_URL: db().url });
        expect(forced.stderr).toMatch(/claude\.jsonl \(native\): would load 0, quarantine 1/);
        const wrong = await runCli(['ingest', dir, '--format', 'otlp'], { DATABASE_URL: db().url });
        expect(wrong.stderr.trim().split('\n').at(-1)).toBe(
            'tokenmart: ingest: --format "otlp" is not a format; use one of otlp-traces, otlp-logs, litellm, openai-batch, provider-response, native (or leave it out to detect each file\'s)',
        );
    }, 120_000);
});
