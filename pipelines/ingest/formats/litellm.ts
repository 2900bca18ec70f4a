import type { InputFormat } from './format.js';
import { amount, compact, count, provider, serviceTier, text } from './otlp-values.js';

/**
 * LiteLLM proxy logs: its StandardLoggingPayload, one JSON object per request, as the S3 logging
 * callback writes it (BerriAI/litellm litellm/integrations/s3.py, s3_v2.py; the payload's fields in
 * litellm/types/utils.py StandardLoggingPayload). Cache and reasoning counts live in the usage
 * object (response.usage, or metadata.usage_object), not at the top level. Since LiteLLM normalises
 * Anthropic usage, prompt_tokens includes cache reads and writes (AnthropicConfig.calculate_usage);
 * older releases added only the reads, which prompt_tokens_details.text_tokens reveals.
 * Team, user and key come from the virtual key's metadata; feature and tenant from
 * spend_logs_metadata, a free-form object callers set per request (a tokenmart convention).
 */
// biome-ignore lint/suspicious/noExplicitAny: LiteLLM payloads are untyped JSON read by key
type Json = Record<string, any>;

/** Epoch seconds (float) or LiteLLM's "YYYY-MM-DD HH:MM:SS.ffffff" (its own test fixtures use strings). */
function seconds(v: unknown): number | undefined {
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (typeof v === 'string' && v.trim()) {
        const n = Number(v);
        if (Number.isFinite(n)) return n;
        const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v.replace(' ', 'T') : `${v.replace(' ', 'T')}Z`);
        return Number.isNaN(ms) ? undefined : ms / 1000;
    }
    return undefined;
}

function tokens(p: Json) {
    const u: Json = p.response?.usage ?? p.metadata?.usage_object ?? { prompt_tokens: p.prompt_tokens, completion_tokens: p.completion_tokens };
    const details: Json = u.prompt_tokens_details ?? {};
    const read = count(details.cached_tokens ?? u.cache_read_input_tokens) ?? 0;
    const write = count(details.cache_creation_tokens ?? u.cache_creation_input_tokens) ?? 0;
    const write1h = count(details.cache_creation_token_details?.ephemeral_1h_input_tokens) ?? 0;
    let input = count(u.prompt_tokens ?? p.prompt_tokens) ?? 0;
    const raw = count(details.text_tokens);
    // Releases that added only cache reads to prompt_tokens: the raw input shows the writes are missing.
    if (raw !== undefined && write > 0 && raw + read === input) input += write;
    else if (input < read + write) input += read + write;
    const output = count(u.completion_tokens ?? p.completion_tokens) ?? 0;
    const reasoning = count(u.completion_tokens_details?.reasoning_tokens) ?? 0;
    return { input, output, read, write, write1h, reasoning };
}

export const litellm: InputFormat = {
    name: 'litellm',
    description: 'LiteLLM proxy logs: the StandardLoggingPayload its S3 callback writes, one object per request',
    detect: (record) => {
        const r = record as Json | null;
        return typeof r === 'object' && r !== null && !Array.isArray(r) && 'call_type' in r && 'response_cost' in r && 'startTime' in r && 'status' in r;
    },
    map(record) {
        const p = record as Json;
        const meta: Json = p.metadata ?? {};
        const spendMeta: Json = typeof meta.spend_logs_metadata === 'object' && meta.spend_logs_metadata ? meta.spend_logs_metadata : {};
        const start = seconds(p.startTime);
        const end = seconds(p.endTime);
        const firstChunk = seconds(p.completionStartTime);
        const t = tokens(p);
        const failed = p.status === 'failure';
        const errorInfo: Json = p.error_information ?? {};
        const model = text(p.model)?.replace(/^[a-z_]+\//, ''); // "anthropic/claude-..." -> the provider's model name
        const summary = { id: p.id, call_type: p.call_type, status: p.status, model: p.model };
        if (start === undefined) return { events: [], skipped: 0, errors: [{ recordNo: 0, reason: 'LiteLLM payload without a usable startTime', summary }] };
        if (!model) return { events: [], skipped: 0, errors: [{ recordNo: 0, reason: 'LiteLLM payload without a model', summary }] };
        const event = compact({
            schema_version: 2,
            request_id: text(p.litellm_call_id) ?? text(p.id),
            timestamp: new Date(start * 1000).toISOString(),
            provider: provider(p.custom_llm_provider) ?? 'unknown',
            model,
            response_model: text(p.response?.model),
            operation: /embedding/.test(String(p.call_type)) ? 'embeddings' : 'chat',
            input_tokens: failed ? 0 : t.input,
            output_tokens: failed ? 0 : t.output,
            cache_read_tokens: failed || !t.read ? undefined : t.read,
            cache_write_tokens: failed || !t.write ? undefined : t.write,
            cache_write_1h_tokens: failed || !t.write1h ? undefined : t.write1h,
            reasoning_tokens: failed || !t.reasoning ? undefined : t.reasoning,
            service_tier: serviceTier(p.response?.service_tier),
            latency_ms: end === undefined ? undefined : Math.max(0, Math.round((end - start) * 1e6) / 1e3),
            time_to_first_token_ms: p.stream === true && firstChunk !== undefined ? Math.max(0, Math.round((firstChunk - start) * 1e6) / 1e3) : undefined,
            status: failed ? 'error' : 'ok',
            error_type: failed ? (text(errorInfo.error_class) ?? text(errorInfo.error_code) ?? 'error') : undefined,
            cache_hit: p.cache_hit === true ? true : undefined,
            reported_cost_usd: amount(p.response_cost),
            trace_id: text(p.trace_id),
            session_id: text(spendMeta.session_id) ?? text(p.trace_id),
            user_id: text(meta.user_api_key_user_id) ?? text(p.end_user),
            team: text(spendMeta.team) ?? text(meta.user_api_key_team_alias) ?? text(meta.user_api_key_team_id),
            feature: text(spendMeta.feature),
            tenant: text(spendMeta.tenant),
            environment: text(spendMeta.environment),
            litellm_key_alias: text(meta.user_api_key_alias),
        });
        return { events: [{ event, recordNo: 0, recordId: text(p.id) }], skipped: 0, errors: [] };
    },
};
