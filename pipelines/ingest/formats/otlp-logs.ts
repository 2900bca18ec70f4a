import type { InputFormat, MappedEvent, MappingError } from './format.js';
import { type Attributes, amount, attributes, compact, count, first, nanosToIso, owners, plain, text } from './otlp-values.js';

/**
 * OTLP/JSON logs (`ExportLogsServiceRequest`) from coding agents, whose spend nobody reports with
 * the rest:
 * - Claude Code's `claude_code.api_request` and `claude_code.api_error` events (code.claude.com
 *   docs, "Monitoring usage"). Token counts are Anthropic's: input_tokens exclude cache reads and
 *   writes, which the contract includes. cost_usd (or cost_usd_micros) is Claude Code's estimate,
 *   kept as the reported cost. Numbers may arrive as strings.
 * - The Codex CLI's `codex.sse_event` of kind `response.completed` (openai/codex
 *   codex-rs/otel/src/events/session_telemetry.rs): OpenAI Responses usage, input includes cached.
 * Other log records (prompts, tool results, other events) are counted and skipped: their content
 * never lands.
 */
interface LogRecord {
    readonly timeUnixNano?: string | number;
    readonly observedTimeUnixNano?: string | number;
    readonly eventName?: string;
    readonly body?: unknown;
    readonly attributes?: unknown;
    readonly traceId?: string;
}

function eventNameOf(r: LogRecord, a: Attributes): string | undefined {
    const names = [text(r.eventName), text(plain(r.body as never)), text(a.get('event.name'))];
    return names.find((n) => n !== undefined && /^(claude_code\.)?api_(request|error)$|^codex\.sse_event$/.test(n)) ?? names.find(Boolean);
}

function timestampOf(r: LogRecord, a: Attributes): string | undefined {
    const iso = text(a.get('event.timestamp'));
    return iso && !Number.isNaN(Date.parse(iso)) ? new Date(iso).toISOString() : (nanosToIso(r.timeUnixNano) ?? nanosToIso(r.observedTimeUnixNano));
}

function claudeCode(r: LogRecord, a: Attributes, resource: Attributes, failed: boolean, options: Parameters<InputFormat['map']>[1]) {
    const read = count(a.get('cache_read_tokens'));
    const write = count(a.get('cache_creation_tokens'));
    const micros = amount(a.get('cost_usd_micros'));
    const statusCode = text(a.get('status_code'));
    return compact({
        schema_version: 2,
        request_id:
            text(first([a], ['request_id', 'client_request_id'])) ??
            `claude_code:${text(a.get('session.id')) ?? '-'}:${text(a.get('event.sequence')) ?? text(r.timeUnixNano)}`,
        timestamp: timestampOf(r, a),
        provider: 'anthropic',
        model: text(a.get('model')),
        response_model: text(a.get('model')),
        operation: 'chat',
        input_tokens: failed ? 0 : (count(a.get('input_tokens')) ?? 0) + (read ?? 0) + (write ?? 0),
        output_tokens: failed ? 0 : (count(a.get('output_tokens')) ?? 0),
        cache_read_tokens: failed ? undefined : read,
        cache_write_tokens: failed ? undefined : write,
        latency_ms: amount(a.get('duration_ms')),
        status: failed ? 'error' : 'ok',
        error_type: failed ? (statusCode ? `http_${statusCode}` : 'api_error') : undefined,
        retry_attempt: failed ? Math.max(0, (count(a.get('attempt')) ?? 1) - 1) : undefined,
        reported_cost_usd: failed ? undefined : micros !== undefined ? micros / 1e6 : amount(a.get('cost_usd')),
        trace_id: text(r.traceId)?.toLowerCase(),
        ...owners([a, resource], options.attributes),
        agent: 'claude-code',
        agent_query_source: text(a.get('query_source')),
    });
}

function codex(r: LogRecord, a: Attributes, resource: Attributes, options: Parameters<InputFormat['map']>[1]) {
    const conversation = text(a.get('conversation.id'));
    return compact({
        schema_version: 2,
        request_id: `codex:${conversation ?? '-'}:${text(r.timeUnixNano) ?? text(a.get('event.timestamp'))}`,
        timestamp: timestampOf(r, a),
        provider: text(a.get('provider_name')) ?? 'openai',
        model: text(first([a], ['model', 'slug'])),
        operation: 'chat',
        input_tokens: count(a.get('input_token_count')) ?? 0,
        output_tokens: count(a.get('output_token_count')) ?? 0,
        cache_read_tokens: count(a.get('cached_token_count')),
        reasoning_tokens: count(a.get('reasoning_token_count')),
        latency_ms: amount(a.get('duration_ms')),
        status: text(a.get('error.message')) ? 'error' : 'ok',
        error_type: text(a.get('error.message')) ? 'response_error' : undefined,
        trace_id: text(r.traceId)?.toLowerCase(),
        ...owners([a, resource], options.attributes),
        session_id: conversation,
        agent: 'codex',
    });
}

export const otlpLogs: InputFormat = {
    name: 'otlp-logs',
    description: "OpenTelemetry logs as OTLP/JSON (ExportLogsServiceRequest): Claude Code's and Codex's usage events",
    detect: (record) => typeof record === 'object' && record !== null && Array.isArray((record as { resourceLogs?: unknown }).resourceLogs),
    map(record, options) {
        const events: MappedEvent[] = [];
        const errors: MappingError[] = [];
        let skipped = 0;
        let n = 0;
        for (const rl of (record as { resourceLogs: { resource?: { attributes?: unknown }; scopeLogs?: unknown[] }[] }).resourceLogs) {
            const resource = attributes(rl?.resource?.attributes);
            for (const sl of (rl?.scopeLogs ?? []) as { logRecords?: LogRecord[] }[]) {
                for (const r of sl?.logRecords ?? []) {
                    const recordNo = n++;
                    const a = attributes(r.attributes);
                    const name = eventNameOf(r, a);
                    let event: Record<string, unknown> | undefined;
                    if (name === 'claude_code.api_request' || name === 'api_request') event = claudeCode(r, a, resource, false, options);
                    else if (name === 'claude_code.api_error' || name === 'api_error') event = claudeCode(r, a, resource, true, options);
                    else if (name === 'codex.sse_event' && a.get('event.kind') === 'response.completed') event = codex(r, a, resource, options);
                    if (!event) {
                        skipped++;
                        continue;
                    }
                    if (event.model === undefined) {
                        errors.push({
                            recordNo,
                            reason: `log record ${recordNo} (${name}): no model attribute`,
                            summary: { event: name, timeUnixNano: r.timeUnixNano },
                        });
                        continue;
                    }
                    events.push({ event, recordNo, recordId: text(a.get('event.sequence')) });
                }
            }
        }
        return { events, skipped, errors };
    },
};
