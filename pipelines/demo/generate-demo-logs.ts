import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { FEATURES, TENANTS, type FeatureSpec, type ModelChoice } from './demo-catalog.js';
import { addDays, lastCompleteWeek } from '../../reports/period.js';
import { DemoAgentTasks } from './demo-agent-tasks.js';
import { Random } from './random.js';

export interface DemoOptions {
    readonly outDir: string;
    /** Last day with data (UTC, YYYY-MM-DD). */
    readonly endDate: string;
    readonly days: number;
    readonly seed: number;
    /** Scales every feature's volume (1 = about 2,000 requests a weekday). */
    readonly scale: number;
}

export interface DemoFiles {
    readonly files: readonly string[];
    readonly events: number;
    readonly malformedLines: number;
    readonly duplicateEvents: number;
    readonly lateEvents: number;
}

const DAY_MS = 86_400_000;
const ERROR_TYPES = [
    ['timeout', 3],
    ['rate_limit', 4],
    ['server_error', 2],
    ['context_length_exceeded', 1],
] as const;
const EVAL_NAMES = ['faithfulness', 'relevance', 'toxicity_free'] as const;
/** The RAG eval names the contract documents (RAGAS's). */
const RAG_EVAL_NAMES = ['context_precision', 'context_recall', 'faithfulness', 'answer_relevancy'] as const;
const WEEKDAY_FACTOR = [0.35, 1.0, 1.08, 1.1, 1.05, 0.9, 0.4]; // Sun..Sat

export function isoDate(ms: number): string {
    return new Date(ms).toISOString().slice(0, 10);
}

function tokenSplit(rng: Random, spec: FeatureSpec, choice: ModelChoice, longContext: boolean) {
    const input = Math.max(8, Math.round(longContext ? rng.int(205_000, 420_000) : rng.logNormal(spec.inputMedian, 0.55)));
    const output = spec.operation === 'embeddings' ? 0 : Math.max(1, Math.round(rng.logNormal(spec.outputMedian, 0.6)));
    let cacheRead = 0;
    let cacheWrite = 0;
    let cacheWrite1h = 0;
    if (choice.anthropicCache && rng.chance(0.7)) {
        // A long system prompt is cached: usually read, sometimes (re)written.
        const prefix = Math.round(input * (0.5 + rng.next() * 0.4));
        if (rng.chance(0.8)) cacheRead = prefix;
        else {
            cacheWrite = prefix;
            if (rng.chance(0.3)) cacheWrite1h = prefix;
        }
    } else if (choice.openaiCache && input > 1024 && rng.chance(0.55)) {
        cacheRead = Math.floor((input * (0.3 + rng.next() * 0.5)) / 128) * 128;
    }
    const reasoning = choice.reasoning ? Math.round(output * (0.4 + rng.next() * 1.5)) : 0;
    return { input, output: output + reasoning, cacheRead, cacheWrite, cacheWrite1h, reasoning };
}

function timestamp(rng: Random, dayStart: number): string {
    // Business-hours shaped arrival, with a few events written with a +02:00 offset.
    const hour = Math.min(23, Math.max(0, Math.round(rng.logNormal(13, 0.3))));
    const ms = dayStart + hour * 3_600_000 + rng.int(0, 3_599_999);
    if (rng.chance(0.05)) {
        const local = new Date(ms + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
        return local;
    }
    return new Date(ms).toISOString();
}

/**
 * Writes realistic synthetic usage logs, one gzip JSONL file per day, plus the awkward files real
 * pipelines meet: late arrivals, re-delivered duplicates, a CRLF+BOM file, a newer schema version.
 */
/** The first day of the demo's prompt experiment (support-chat v7 vs v8): 30 days before its end. */
export function demoExperimentStart(endDate: string): string {
    return new Date(Date.parse(`${endDate}T00:00:00Z`) - 30 * DAY_MS).toISOString().slice(0, 10);
}

/** 0 or 1 from a session id (FNV-1a): the demo experiment's assignment, stable per session. */
function sessionArm(sessionId: string): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < sessionId.length; i++) h = Math.imul(h ^ sessionId.charCodeAt(i), 0x01000193);
    return (h >>> 0) % 2;
}

export function generateDemoLogs(options: DemoOptions): DemoFiles {
    const rng = new Random(options.seed);
    rmSync(options.outDir, { recursive: true, force: true });
    const files: string[] = [];
    let events = 0;
    let malformed = 0;
    let duplicates = 0;
    let late = 0;
    const endMs = Date.parse(`${options.endDate}T00:00:00Z`);
    const startMs = endMs - (options.days - 1) * DAY_MS;
    const v2FromMs = startMs + Math.floor(options.days / 2) * DAY_MS;
    const abStartMs = Date.parse(`${demoExperimentStart(options.endDate)}T00:00:00Z`);
    // The runaway retry loop: Wednesday and Thursday of the last complete week before the day after
    // endDate, so the weekly report and digest of the demo's run both cover it.
    const spikeWeek = lastCompleteWeek(new Date(endMs + DAY_MS));
    const spikeDays = new Set([addDays(spikeWeek.start, 2), addDays(spikeWeek.start, 3)]);
    const lateBacklog: string[] = [];
    const recentForDupes: string[] = [];
    let seq = 0;

    const writeFile = (relPath: string, lines: readonly string[], opts: { crlf?: boolean; bom?: boolean; gzip?: boolean } = {}) => {
        const path = join(options.outDir, relPath);
        mkdirSync(join(path, '..'), { recursive: true });
        const body = (opts.bom ? '\uFEFF' : '') + lines.join(opts.crlf ? '\r\n' : '\n') + (opts.crlf ? '\r\n' : '\n');
        writeFileSync(path, opts.gzip === false ? body : gzipSync(body));
        files.push(path);
    };

    for (let dayMs = startMs; dayMs <= endMs; dayMs += DAY_MS) {
        const day = isoDate(dayMs);
        const weekday = new Date(dayMs).getUTCDay();
        // Producers upgrade over time: v2 from the middle of the range, v3 for the last 10 days.
        const version = dayMs > endMs - 10 * DAY_MS ? 3 : dayMs >= v2FromMs ? 2 : 1;
        const lines: string[] = [];
        const agents = new Map<string, DemoAgentTasks>();
        for (const spec of FEATURES) {
            if (spec.agent && version >= 3) agents.set(spec.feature, new DemoAgentTasks(options.seed + dayMs / DAY_MS, spec.feature, spec.team));
            const spike = spec.feature === 'ticket-triage' && spikeDays.has(day);
            const n = Math.round(spec.dailyRequests * options.scale * WEEKDAY_FACTOR[weekday] * (0.9 + rng.next() * 0.2) * (spike ? 14 : 1));
            for (let i = 0; i < n; i++) {
                const choice = rng.weighted(spec.models.map((m) => [m, m.weight] as const));
                const longContext = Boolean(spec.longContextRate && choice.provider === 'anthropic' && rng.chance(spec.longContextRate));
                const t = tokenSplit(rng, spec, choice, longContext);
                const appCacheHit = Boolean(spec.appCacheRate && rng.chance(spec.appCacheRate));
                const isError = !appCacheHit && rng.chance(spike ? 0.45 : 0.018);
                const errorType = isError ? (spike ? 'rate_limit' : rng.weighted(ERROR_TYPES)) : null;
                // A session is a day's conversation; the prompt experiment assigns whole sessions
                // (by a hash of the id), so no session sees both versions.
                const sessionId = `sess_${day.replaceAll('-', '')}_${rng.int(1, 3_000).toString(36)}`;
                const promptVersion =
                    spec.feature === 'support-chat' ? (dayMs >= abStartMs && sessionArm(sessionId) === 1 ? 'v8' : 'v7') : `${spec.feature}-v3`;
                // v8 is warmer: more thumbs-up and higher faithfulness, but it also escalates more.
                const better = promptVersion === 'v8' ? 0.08 : 0;
                const latency = appCacheHit
                    ? rng.logNormal(12, 0.4)
                    : errorType === 'timeout'
                      ? 30_000 + rng.int(0, 500)
                      : rng.logNormal(350 + t.output * 6, 0.45);
                const requestId = `req_${day.replaceAll('-', '')}_${(seq++).toString(36).padStart(7, '0')}`;
                const userNo = rng.int(1, 900);
                const ev: Record<string, unknown> = {
                    schema_version: version,
                    request_id: requestId,
                    timestamp: timestamp(rng, dayMs),
                    provider: choice.provider,
                    model: choice.model,
                    response_model: choice.provider === 'openai' && choice.model === 'gpt-4.1' ? 'gpt-4.1-2025-04-14' : choice.model,
                    operation: spec.operation ?? 'chat',
                    session_id: sessionId,
                    trace_id: `tr_${requestId.slice(4)}`,
                    user_id: `user_${userNo}`,
                    team: spec.team,
                    feature: spec.feature,
                    tenant: rng.weighted(TENANTS.map((x, k) => [x, 5 - k] as const)),
                    environment: 'production',
                    prompt_version: promptVersion,
                    input_tokens: isError ? t.input : t.input,
                    output_tokens: isError ? 0 : t.output,
                    cache_read_tokens: t.cacheRead || null,
                    cache_write_tokens: t.cacheWrite || null,
                    cache_write_1h_tokens: t.cacheWrite1h || null,
                    reasoning_tokens: isError ? null : t.reasoning || null,
                    service_tier: spec.serviceTier ?? 'standard',
                    latency_ms: Math.round(latency),
                    time_to_first_token_ms: appCacheHit || spec.operation === 'embeddings' ? null : Math.round(latency * (0.15 + rng.next() * 0.2)),
                    status: isError ? 'error' : 'ok',
                    error_type: errorType,
                    retry_attempt: spike ? rng.int(0, 6) : isError && rng.chance(0.3) ? 1 : 0,
                    cache_hit: appCacheHit,
                };
                if (isError) {
                    ev.cache_read_tokens = null;
                    ev.cache_write_tokens = null;
                    ev.cache_write_1h_tokens = null;
                }
                if (spec.viaGateway && !isError && !appCacheHit) {
                    // The gateway's own estimate ignores cache discounts: reconciliation will show it.
                    const per = choice.model === 'gpt-4o-mini' ? [0.15, 0.6] : [3, 15];
                    ev.reported_cost_usd = Number(((t.input * per[0] + t.output * per[1]) / 1e6).toFixed(6));
                }
                if (spec.hasFeedback && !isError && rng.chance(0.12)) ev.feedback = rng.chance(0.72 + better) ? 1 : -1;
                if (spec.hasFeedback && !isError && rng.chance(0.3)) {
                    ev.eval_scores = Object.fromEntries(
                        EVAL_NAMES.map((name) => [name, Number(Math.min(1, Math.max(0, 0.78 + better + (rng.next() - 0.5) * 0.3)).toFixed(3))]),
                    );
                }
                if (spec.hasFeedback && !isError) ev.refusal = rng.chance(0.01);
                if (!isError && rng.chance(0.02)) ev.guardrail_flags = [rng.pick(['pii_detected', 'jailbreak_attempt', 'off_topic'])];
                if (spec.hasOutcome && !isError)
                    ev.outcome = rng.weighted([
                        ['resolved', 70 - better * 50],
                        ['escalated', 20 + better * 75],
                        ['abandoned', 10 - better * 25],
                    ] as const);
                if (spec.feature === 'answer-engine' && !appCacheHit) {
                    // Retrieval and rerank run before the model call, inside the request: the
                    // end-to-end latency is their sum with the llm stage, never less.
                    const retrieval = Math.round(rng.logNormal(80, 0.4));
                    const rerank = Math.round(rng.logNormal(35, 0.3));
                    const llm = Math.round(latency);
                    ev.stages = [
                        { name: 'retrieval', duration_ms: retrieval },
                        { name: 'rerank', duration_ms: rerank },
                        { name: 'llm', duration_ms: llm },
                    ];
                    ev.latency_ms = retrieval + rerank + llm;
                    if (version >= 3) ev.retrieved_documents = rng.int(3, 12);
                    if (!isError && rng.chance(0.3))
                        ev.eval_scores = Object.fromEntries(
                            RAG_EVAL_NAMES.map((name) => [name, Number(Math.min(1, Math.max(0, 0.8 + (rng.next() - 0.5) * 0.3)).toFixed(3))]),
                        );
                }
                if (spec.feature === 'support-chat') {
                    ev.prompt_text = rng.chance(0.03)
                        ? `Customer jane.doe${userNo}@example.com asks about invoice 4111 1111 1111 1111`
                        : 'Customer asks how to reset a password';
                    ev.completion_text = 'Here is how to reset your password ...';
                    ev.tags = { channel: rng.pick(['web', 'mobile', 'email']), ...(rng.chance(0.01) ? { contact: '+1 415 555 0134' } : {}) };
                }
                if (version >= 2 && spec.hasOutcome && !isError && rng.chance(0.08)) ev.user_satisfaction_score = rng.int(1, 5);
                const agent = agents.get(spec.feature);
                if (agent && !appCacheHit) lines.push(...agent.onCall(ev, dayMs));
                const line = JSON.stringify(ev);
                events++;
                // ~1% of yesterday's events reach us two days late, in a separate file.
                if (rng.chance(0.01) && dayMs < endMs - DAY_MS) {
                    lateBacklog.push(line);
                    late++;
                } else lines.push(line);
                if (rng.chance(0.004)) recentForDupes.push(line);
            }
        }
        for (const agent of agents.values()) {
            lines.push(...agent.closeDay());
            events += agent.steps;
        }
        // A handful of broken lines, as a real writer produces them (well under the 5% file limit).
        if (rng.chance(0.25)) {
            const broken = [
                '{"schema_version":1,"request_id":"req_broken","timestamp":"2026-', // truncated write
                JSON.stringify({
                    schema_version: version,
                    request_id: `bad_${day}_neg`,
                    timestamp: `${day}T10:00:00Z`,
                    provider: 'openai',
                    model: 'gpt-4o-mini',
                    input_tokens: -5,
                    output_tokens: 3,
                    status: 'ok',
                }),
                JSON.stringify({
                    schema_version: version,
                    request_id: `bad_${day}_ts`,
                    timestamp: `${day} 10:00`,
                    provider: 'openai',
                    model: 'gpt-4o-mini',
                    input_tokens: 5,
                    output_tokens: 3,
                    status: 'ok',
                }),
                JSON.stringify({
                    schema_version: version,
                    timestamp: `${day}T10:00:00Z`,
                    provider: 'openai',
                    model: 'gpt-4o-mini',
                    input_tokens: 5,
                    output_tokens: 3,
                    status: 'ok',
                }),
            ];
            // Under 4% of the day's lines whatever the scale (a small demo has days of 40 lines).
            const take = Math.min(rng.int(1, broken.length), Math.floor(lines.length * 0.04));
            for (let k = 0; k < take; k++) lines.splice(rng.int(0, lines.length), 0, broken[k]);
            malformed += take;
            lines.splice(rng.int(0, lines.length), 0, ''); // and a blank line
        }
        const [y, m, d] = day.split('-');
        writeFile(`${y}/${m}/${d}/events-${day}.jsonl.gz`, lines);
        if (lateBacklog.length && weekday === 3) {
            writeFile(`${y}/${m}/${d}/late-arrivals-${day}.jsonl.gz`, lateBacklog.splice(0));
        }
    }
    if (lateBacklog.length) writeFile(`late/late-arrivals-final.jsonl.gz`, lateBacklog.splice(0));
    // A gateway flushed some events twice: the same request_ids again, in a file of its own.
    duplicates = recentForDupes.length;
    writeFile('redelivered/gateway-replay.jsonl', recentForDupes, { gzip: false });
    // A Windows-written export (BOM + CRLF) and a newer producer on schema_version 9 (unknown here).
    const winDay = isoDate(endMs);
    const extra = (k: number, v: number) =>
        JSON.stringify({
            schema_version: v,
            request_id: `req_extra_${v}_${k}`,
            timestamp: `${winDay}T0${k % 10}:15:00Z`,
            provider: 'openai',
            model: 'gpt-4o-mini',
            input_tokens: 300 + k,
            output_tokens: 40,
            status: 'ok',
            team: 'support',
            feature: 'ticket-triage',
            tenant: 'acme',
            ...(v === 9 ? { region: 'eu-west-1' } : {}),
        });
    writeFile(
        'exports/windows-export.jsonl',
        Array.from({ length: 12 }, (_, k) => extra(k, 2)),
        { crlf: true, bom: true, gzip: false },
    );
    writeFile(
        'exports/next-gen-producer.jsonl.gz',
        Array.from({ length: 8 }, (_, k) => extra(k, 9)),
    );
    events += 20;
    return { files, events, malformedLines: malformed, duplicateEvents: duplicates, lateEvents: late };
}
