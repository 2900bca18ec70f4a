/**
 * Provider usage objects -> the contract's token fields. Providers count differently, and this is
 * where cost tools double-count or miss tokens:
 * - OpenAI: prompt_tokens INCLUDES cached_tokens; completion_tokens INCLUDES reasoning_tokens.
 * - Anthropic: input_tokens EXCLUDES cache reads and cache writes (they come separately).
 * - Gemini: promptTokenCount INCLUDES cachedContentTokenCount; candidatesTokenCount EXCLUDES
 *   thoughtsTokenCount (reasoning comes separately).
 * The contract is OpenTelemetry-style: input includes every cached token, output includes reasoning.
 */
export interface ContractTokens {
    readonly input_tokens: number;
    readonly output_tokens: number;
    readonly cache_read_tokens: number | null;
    readonly cache_write_tokens: number | null;
    readonly cache_write_1h_tokens: number | null;
    readonly reasoning_tokens: number | null;
}

// biome-ignore lint/suspicious/noExplicitAny: provider usage objects are untyped JSON read by key
type UsageObject = Record<string, any>;

const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const orNull = (v: number): number | null => (v > 0 ? v : null);

/** OpenAI Chat Completions / Responses `usage`. */
export function fromOpenAIUsage(usage: UsageObject): ContractTokens {
    const input = n(usage.prompt_tokens ?? usage.input_tokens);
    const output = n(usage.completion_tokens ?? usage.output_tokens);
    const cached = n((usage.prompt_tokens_details ?? usage.input_tokens_details)?.cached_tokens);
    const reasoning = n((usage.completion_tokens_details ?? usage.output_tokens_details)?.reasoning_tokens);
    return {
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: orNull(cached),
        cache_write_tokens: null,
        cache_write_1h_tokens: null,
        reasoning_tokens: orNull(reasoning),
    };
}

/** Anthropic Messages `usage`. */
export function fromAnthropicUsage(usage: UsageObject): ContractTokens {
    const read = n(usage.cache_read_input_tokens);
    const write = n(usage.cache_creation_input_tokens);
    const write1h = n(usage.cache_creation?.ephemeral_1h_input_tokens);
    return {
        input_tokens: n(usage.input_tokens) + read + write,
        output_tokens: n(usage.output_tokens),
        cache_read_tokens: orNull(read),
        cache_write_tokens: orNull(write),
        cache_write_1h_tokens: orNull(write1h),
        reasoning_tokens: null, // Anthropic bills thinking as output and does not split it out
    };
}

/** Gemini / Vertex AI `usageMetadata`. */
export function fromGeminiUsage(usage: UsageObject): ContractTokens {
    const thoughts = n(usage.thoughtsTokenCount);
    return {
        input_tokens: n(usage.promptTokenCount),
        output_tokens: n(usage.candidatesTokenCount) + thoughts,
        cache_read_tokens: orNull(n(usage.cachedContentTokenCount)),
        cache_write_tokens: null,
        cache_write_1h_tokens: null,
        reasoning_tokens: orNull(thoughts),
    };
}
