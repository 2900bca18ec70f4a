import type { InputFormat, MappedLine } from './format.js';
import { amount, compact, count, provider, serviceTier, text } from './otlp-values.js';
import { type ContractTokens, fromAnthropicUsage, fromGeminiUsage, fromOpenAIUsage } from './provider-usage.js';

/**
 * Provider responses saved by the caller, one per line, in a small wrapper that adds what a
 * response body does not carry (documented in the README, "Provider responses"):
 *
 *   {"timestamp": "2026-11-20T10:00:00Z", "response": {...the API's JSON body...},
 *    "provider": "anthropic", "latency_ms": 812, "request_id": "req_...", "service_tier": "flex",
 *    "team": "search", "feature": "answer-engine", "tenant": "acme", "user_id": "u1", "session_id": "s1"}
 *
 * Only timestamp and response are required; the provider is recognised from the body's shape
 * when absent. Shapes: OpenAI Chat Completions and Responses (usage inclusive of cached and
 * reasoning tokens), Anthropic Messages (input_tokens exclusive of cache reads and writes, the
 * 5-minute/1-hour split in usage.cache_creation), Gemini generateContent (usageMetadata,
 * thoughts outside candidates). OpenAI Batch output lines are the openai-batch format.
 */
// biome-ignore lint/suspicious/noExplicitAny: provider bodies are untyped JSON read by key
type Json = Record<string, any>;

export type BodyKind = 'openai-chat' | 'openai-responses' | 'anthropic' | 'gemini';

export function bodyKind(body: Json): BodyKind | undefined {
    if (body?.object === 'chat.completion' || (body?.usage && 'prompt_tokens' in body.usage)) return 'openai-chat';
    if (body?.object === 'response' || (body?.usage && 'input_tokens_details' in body.usage)) return 'openai-responses';
    if (body?.type === 'message' || (body?.usage && 'cache_read_input_tokens' in body.usage)) return 'anthropic';
    if (body?.usageMetadata) return 'gemini';
    return undefined;
}

const PROVIDER: Readonly<Record<BodyKind, string>> = { 'openai-chat': 'openai', 'openai-responses': 'openai', anthropic: 'anthropic', gemini: 'gcp.gemini' };

/** A response body -> the contract fields it determines. */
export function fromBody(
    body: Json,
    kind: BodyKind,
): { tokens: ContractTokens; model: string | undefined; id: string | undefined; created?: number; tier?: string; failed: boolean; errorType?: string } {
    switch (kind) {
        case 'openai-chat':
            return {
                tokens: fromOpenAIUsage(body.usage ?? {}),
                model: text(body.model),
                id: text(body.id),
                created: amount(body.created),
                tier: serviceTier(body.service_tier),
                failed: false,
            };
        case 'openai-responses': {
            const failed = body.status === 'failed';
            return {
                tokens: fromOpenAIUsage(body.usage ?? {}),
                model: text(body.model),
                id: text(body.id),
                created: amount(body.created_at),
                tier: serviceTier(body.service_tier),
                failed,
                errorType: failed ? (text(body.error?.code) ?? 'failed') : undefined,
            };
        }
        case 'anthropic':
            return {
                tokens: fromAnthropicUsage(body.usage ?? {}),
                model: text(body.model),
                id: text(body.id),
                tier: body.usage?.service_tier === 'priority' ? 'priority' : undefined,
                failed: false,
            };
        case 'gemini':
            return { tokens: fromGeminiUsage(body.usageMetadata ?? {}), model: text(body.modelVersion), id: text(body.responseId), failed: false };
    }
}

export function tokenFields(t: ContractTokens): Record<string, unknown> {
    return {
        input_tokens: t.input_tokens,
        output_tokens: t.output_tokens,
        cache_read_tokens: t.cache_read_tokens ?? undefined,
        cache_write_tokens: t.cache_write_tokens ?? undefined,
        cache_write_1h_tokens: t.cache_write_1h_tokens ?? undefined,
        reasoning_tokens: t.reasoning_tokens ?? undefined,
    };
}

export const providerResponse: InputFormat = {
    name: 'provider-response',
    description: 'Provider API responses (OpenAI, Anthropic, Gemini) in a wrapper with timestamp and owners, one per line',
    detect: (record) => {
        const r = record as Json | null;
        return (
            typeof r === 'object' &&
            r !== null &&
            typeof r.response === 'object' &&
            r.response !== null &&
            'timestamp' in r &&
            bodyKind(r.response) !== undefined
        );
    },
    map(record): MappedLine {
        const w = record as Json;
        const kind = bodyKind(w.response)!;
        const b = fromBody(w.response, kind);
        const summary = { timestamp: w.timestamp, provider: w.provider, id: b.id, model: b.model };
        if (!b.model) return { events: [], skipped: 0, errors: [{ recordNo: 0, reason: `${kind} response without a model`, summary }] };
        const event = compact({
            schema_version: 2,
            request_id: text(w.request_id) ?? b.id,
            timestamp: w.timestamp,
            provider: provider(w.provider) ?? PROVIDER[kind],
            model: text(w.model) ?? b.model,
            response_model: b.model,
            operation: 'chat',
            ...tokenFields(b.tokens),
            service_tier: serviceTier(w.service_tier) ?? b.tier,
            latency_ms: amount(w.latency_ms),
            time_to_first_token_ms: amount(w.time_to_first_token_ms),
            status: b.failed ? 'error' : 'ok',
            error_type: b.errorType,
            retry_attempt: count(w.retry_attempt),
            team: text(w.team),
            feature: text(w.feature),
            tenant: text(w.tenant),
            environment: text(w.environment),
            user_id: text(w.user_id),
            session_id: text(w.session_id),
            trace_id: text(w.trace_id),
        });
        return { events: [{ event, recordNo: 0, recordId: b.id }], skipped: 0, errors: [] };
    },
};
