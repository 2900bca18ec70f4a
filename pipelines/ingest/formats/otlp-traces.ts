import { createHash } from 'node:crypto';
import type { InputFormat, MappedEvent, MappingError } from './format.js';
import { type Attributes, amount, attributes, compact, count, first, nanosBetween, nanosToIso, owners, provider, serviceTier, text } from './otlp-values.js';

/**
 * OTLP/JSON traces (`ExportTraceServiceRequest`: the Collector's fileexporter writes one per line,
 * awss3exporter one per object). A span with GenAI attributes is one model call. Attribute names
 * are the OpenTelemetry GenAI semantic conventions (@opentelemetry/semantic-conventions/incubating
 * 1.45: gen_ai.provider.name, gen_ai.usage.input_tokens, gen_ai.usage.cache_read.input_tokens, ...)
 * and the older spellings instrumentations still emit; OpenInference's llm.* dialect too.
 */

// Spans that group or act around model calls: their token counts, when present, are totals of
// their children, so loading them would count the same tokens twice. Agent runs and tool calls
// load as agent steps (no tokens); the rest are skipped.
const AGGREGATE_OPERATIONS = new Set(['invoke_workflow', 'create_agent', 'plan']);
const STEP_OPERATIONS = new Set(['invoke_agent', 'execute_tool']);
const OPENINFERENCE_CALLS = new Set(['LLM', 'EMBEDDING']);
const OPENINFERENCE_STEPS: Readonly<Record<string, string>> = { AGENT: 'invoke_agent', TOOL: 'execute_tool' };
const LEGACY_OPERATIONS: Readonly<Record<string, string>> = { completion: 'text_completion', embedding: 'embeddings', chat: 'chat', rerank: 'rerank' };

interface Span {
    readonly traceId?: string;
    readonly spanId?: string;
    readonly parentSpanId?: string;
    readonly name?: string;
    readonly startTimeUnixNano?: string | number;
    readonly endTimeUnixNano?: string | number;
    readonly attributes?: unknown;
    readonly status?: { readonly code?: number | string; readonly message?: string };
    readonly events?: readonly { readonly name?: string; readonly attributes?: unknown }[];
}

const isError = (code: unknown) => code === 2 || code === '2' || code === 'STATUS_CODE_ERROR';

/** Which instrumentation wrote the span: its token counts mean different things (see the README). */
function dialect(span: Attributes, scopeName: string): 'openinference' | 'openlit' | 'semconv' {
    if (span.has('openinference.span.kind') || [...span.keys()].some((k) => k.startsWith('llm.token_count.'))) return 'openinference';
    if (span.get('telemetry.sdk.name') === 'openlit' || scopeName.startsWith('openlit')) return 'openlit';
    return 'semconv';
}

function tokens(a: Attributes, kind: ReturnType<typeof dialect>, providerName: string | undefined) {
    if (kind === 'openinference') {
        return {
            input: count(a.get('llm.token_count.prompt')),
            output: count(a.get('llm.token_count.completion')),
            cacheRead: count(a.get('llm.token_count.prompt_details.cache_read')),
            cacheWrite: count(a.get('llm.token_count.prompt_details.cache_write')),
            reasoning: count(a.get('llm.token_count.completion_details.reasoning')),
        };
    }
    const input = count(first([a], ['gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens', 'llm.usage.prompt_tokens']));
    const cacheRead = count(first([a], ['gen_ai.usage.cache_read.input_tokens', 'gen_ai.usage.cache_read_input_tokens']));
    const cacheWrite = count(first([a], ['gen_ai.usage.cache_creation.input_tokens', 'gen_ai.usage.cache_creation_input_tokens']));
    return {
        // OpenLIT copies Anthropic's input_tokens, which exclude cache reads and writes
        // (openlit sdk/python instrumentation/anthropic/utils.py); the conventions include them.
        input: kind === 'openlit' && providerName === 'anthropic' && input !== undefined ? input + (cacheRead ?? 0) + (cacheWrite ?? 0) : input,
        output: count(first([a], ['gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens', 'llm.usage.completion_tokens'])),
        cacheRead,
        cacheWrite,
        reasoning: count(first([a], ['gen_ai.usage.reasoning.output_tokens', 'gen_ai.usage.reasoning_tokens', 'llm.usage.reasoning_tokens'])),
    };
}

type Options = Parameters<InputFormat['map']>[1];

/**
 * An agent's run or a tool call (semconv gen-ai-agent-spans.md, v1.41.0: "Invoke agent" and
 * "Execute tool" spans; OpenInference AGENT and TOOL spans). No tokens: an agent span's are its
 * children's. The tool call's arguments are hashed, never kept, so repeated calls show loops.
 */
function mapStep(span: Span, a: Attributes, resource: Attributes, operation: string, options: Options): Record<string, unknown> {
    const traceId = text(span.traceId)?.toLowerCase();
    const spanId = text(span.spanId)?.toLowerCase();
    const exception = span.events?.find((e) => e.name === 'exception');
    const errorType = text(a.get('error.type')) ?? (exception ? text(attributes(exception.attributes).get('exception.type')) : undefined);
    const failed = isError(span.status?.code) || errorType !== undefined;
    const args = text(first([a], ['gen_ai.tool.call.arguments', 'input.value']));
    return compact({
        schema_version: 3,
        request_id: `otel:${traceId ?? '-'}:${spanId ?? '-'}`,
        timestamp: nanosToIso(span.startTimeUnixNano),
        operation,
        provider: provider(first([a, resource], ['gen_ai.provider.name', 'gen_ai.system'])),
        model: text(first([a], ['gen_ai.request.model', 'gen_ai.response.model', 'llm.model_name'])),
        tool_name: operation === 'execute_tool' ? text(first([a], ['gen_ai.tool.name', 'tool.name'])) : undefined,
        tool_call_hash: operation === 'execute_tool' && args !== undefined ? createHash('sha256').update(args).digest('hex').slice(0, 16) : undefined,
        latency_ms: nanosBetween(span.startTimeUnixNano, span.endTimeUnixNano),
        status: failed ? 'error' : 'ok',
        error_type: failed ? (errorType ?? 'error') : undefined,
        trace_id: traceId,
        ...owners([a, resource], options.attributes),
        otel_span_id: spanId,
        otel_parent_span_id: text(span.parentSpanId)?.toLowerCase(),
    });
}

function mapSpan(span: Span, resource: Attributes, scopeName: string, options: Options): Record<string, unknown> | 'skip' | string {
    const a = attributes(span.attributes);
    const kind = dialect(a, scopeName);
    const openInferenceKind = String(a.get('openinference.span.kind') ?? 'LLM');
    if (kind === 'openinference' && OPENINFERENCE_STEPS[openInferenceKind]) return mapStep(span, a, resource, OPENINFERENCE_STEPS[openInferenceKind], options);
    if (kind === 'openinference' && !OPENINFERENCE_CALLS.has(openInferenceKind)) return 'skip';
    const operation = text(a.get('gen_ai.operation.name')) ?? LEGACY_OPERATIONS[String(a.get('llm.request.type'))];
    if (operation && STEP_OPERATIONS.has(operation)) return mapStep(span, a, resource, operation, options);
    if (operation && AGGREGATE_OPERATIONS.has(operation)) return 'skip';
    const model = text(first([a], ['gen_ai.request.model', 'gen_ai.response.model', 'llm.model_name', 'llm.request.model_name']));
    const t = tokens(a, kind, provider(first([a], ['gen_ai.provider.name', 'gen_ai.system'])));
    if (model === undefined && t.input === undefined && t.output === undefined) return 'skip'; // not a model call
    const providerName = provider(first([a, resource], ['gen_ai.provider.name', 'gen_ai.system', 'llm.provider', 'llm.system']));
    if (!providerName) return 'a GenAI span without gen_ai.provider.name (or gen_ai.system, llm.provider)';
    if (!model) return 'a GenAI span without gen_ai.request.model (or gen_ai.response.model, llm.model_name)';
    let input = t.input ?? 0;
    // The conventions' rule (input includes cache reads and writes); a producer that breaks it was
    // cache-exclusive: add them, as for Anthropic's own usage object.
    if (input < (t.cacheRead ?? 0) + (t.cacheWrite ?? 0)) input += (t.cacheRead ?? 0) + (t.cacheWrite ?? 0);
    let output = t.output ?? 0;
    if (output < (t.reasoning ?? 0)) output += t.reasoning ?? 0;
    const exception = span.events?.find((e) => e.name === 'exception');
    const errorType = text(a.get('error.type')) ?? (exception ? text(attributes(exception.attributes).get('exception.type')) : undefined);
    const failed = isError(span.status?.code) || errorType !== undefined;
    const ttftSeconds = amount(first([a], ['gen_ai.response.time_to_first_chunk', 'gen_ai.server.time_to_first_token']));
    const traceId = text(span.traceId)?.toLowerCase();
    const spanId = text(span.spanId)?.toLowerCase();
    return compact({
        schema_version: 2,
        request_id: text(first([a], ['gen_ai.response.id'])) ?? `otel:${traceId ?? '-'}:${spanId ?? '-'}`,
        timestamp: nanosToIso(span.startTimeUnixNano),
        provider: providerName,
        model,
        response_model: text(first([a], ['gen_ai.response.model', 'llm.response.model_name'])),
        operation: operation ?? (kind === 'openinference' && a.get('openinference.span.kind') === 'EMBEDDING' ? 'embeddings' : 'chat'),
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: t.cacheRead,
        cache_write_tokens: t.cacheWrite,
        reasoning_tokens: t.reasoning,
        service_tier: serviceTier(first([a], ['openai.response.service_tier', 'gen_ai.openai.response.service_tier', 'openai.request.service_tier'])),
        latency_ms: nanosBetween(span.startTimeUnixNano, span.endTimeUnixNano),
        time_to_first_token_ms: ttftSeconds === undefined ? undefined : ttftSeconds * 1000,
        status: failed ? 'error' : 'ok',
        error_type: failed ? (errorType ?? 'error') : undefined,
        reported_cost_usd: amount(first([a], ['gen_ai.usage.cost', 'llm.cost.total'])),
        trace_id: traceId,
        ...owners([a, resource], options.attributes),
        otel_span_id: spanId,
        otel_parent_span_id: text(span.parentSpanId)?.toLowerCase(),
        otel_scope: scopeName || undefined,
    });
}

export const otlpTraces: InputFormat = {
    name: 'otlp-traces',
    description: 'OpenTelemetry traces as OTLP/JSON (ExportTraceServiceRequest), GenAI spans',
    detect: (record) => typeof record === 'object' && record !== null && Array.isArray((record as { resourceSpans?: unknown }).resourceSpans),
    map(record, options) {
        const events: MappedEvent[] = [];
        const errors: MappingError[] = [];
        let skipped = 0;
        let n = 0;
        for (const rs of (record as { resourceSpans: { resource?: { attributes?: unknown }; scopeSpans?: unknown[] }[] }).resourceSpans) {
            const resource = attributes(rs?.resource?.attributes);
            for (const ss of (rs?.scopeSpans ?? []) as { scope?: { name?: string }; spans?: Span[] }[]) {
                const scopeName = ss?.scope?.name ?? '';
                for (const span of ss?.spans ?? []) {
                    const recordNo = n++;
                    const mapped = mapSpan(span, resource, scopeName, options);
                    if (mapped === 'skip') skipped++;
                    else if (typeof mapped === 'string')
                        errors.push({
                            recordNo,
                            reason: `span ${recordNo} (${text(span.spanId) ?? 'no id'}): ${mapped}`,
                            summary: { span: span.name, spanId: span.spanId, traceId: span.traceId, scope: scopeName },
                        });
                    else events.push({ event: mapped, recordNo, recordId: text(span.spanId)?.toLowerCase() });
                }
            }
        }
        return { events, skipped, errors };
    },
};
