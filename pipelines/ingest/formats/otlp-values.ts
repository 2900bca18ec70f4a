import type { AttributeMapping } from './format.js';

/**
 * OTLP/JSON as the Collector writes it (opentelemetry-proto docs/specification.md, "JSON Protobuf
 * Encoding"): lowerCamelCase keys, hex ids, 64-bit integers as decimal strings (numbers accepted
 * too), enums as integers (names accepted, as the Collector's reader does), attributes as
 * `{key, value: AnyValue}` lists.
 */
export type Attributes = ReadonlyMap<string, unknown>;

interface AnyValue {
    readonly stringValue?: string;
    readonly boolValue?: boolean;
    readonly intValue?: string | number;
    readonly doubleValue?: number | string;
    readonly arrayValue?: { readonly values?: readonly AnyValue[] };
    readonly kvlistValue?: { readonly values?: readonly { key: string; value: AnyValue }[] };
}

/** An AnyValue as a plain value (int64 kept as a string when it does not fit a double exactly). */
export function plain(v: AnyValue | undefined): unknown {
    if (!v || typeof v !== 'object') return undefined;
    if (v.stringValue !== undefined) return v.stringValue;
    if (v.boolValue !== undefined) return v.boolValue;
    if (v.intValue !== undefined)
        return typeof v.intValue === 'number' ? v.intValue : Number.isSafeInteger(Number(v.intValue)) ? Number(v.intValue) : v.intValue;
    if (v.doubleValue !== undefined) return Number(v.doubleValue);
    if (v.arrayValue) return (v.arrayValue.values ?? []).map(plain);
    if (v.kvlistValue) return Object.fromEntries((v.kvlistValue.values ?? []).map((kv) => [kv.key, plain(kv.value)]));
    return undefined;
}

export function attributes(list: unknown): Map<string, unknown> {
    const out = new Map<string, unknown>();
    if (Array.isArray(list)) for (const kv of list) if (kv && typeof kv.key === 'string') out.set(kv.key, plain(kv.value));
    return out;
}

/** The first attribute present, looked up in each map in turn (span or record before resource). */
export function first(maps: readonly Attributes[], keys: readonly string[]): unknown {
    for (const m of maps) for (const k of keys) if (m.has(k) && m.get(k) !== null && m.get(k) !== '') return m.get(k);
    return undefined;
}

/** A count from any encoding instrumentations use (int, int as string, double, numeric string); else undefined. */
export function count(v: unknown): number | undefined {
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : typeof v === 'number' ? v : Number.NaN;
    return Number.isFinite(n) && n >= 0 ? Math.round(n) : undefined;
}

export function amount(v: unknown): number | undefined {
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : typeof v === 'number' ? v : Number.NaN;
    return Number.isFinite(n) ? n : undefined;
}

export function text(v: unknown): string | undefined {
    if (typeof v === 'string') return v === '' ? undefined : v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return undefined;
}

/** Unix nanoseconds (string or number) -> RFC 3339 UTC with milliseconds. */
export function nanosToIso(v: unknown): string | undefined {
    if (v === undefined || v === null || v === '' || v === '0' || v === 0) return undefined;
    try {
        const ms = Number(BigInt(typeof v === 'number' ? Math.round(v) : String(v)) / 1_000_000n);
        return Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString() : undefined;
    } catch {
        return undefined;
    }
}

export function nanosBetween(start: unknown, end: unknown): number | undefined {
    try {
        const d = BigInt(String(end)) - BigInt(String(start));
        return d >= 0n ? Number(d) / 1e6 : undefined;
    } catch {
        return undefined;
    }
}

/** gen_ai.system values renamed by the semantic conventions (model/gen-ai/deprecated/registry-deprecated.yaml). */
const LEGACY_PROVIDERS: Readonly<Record<string, string>> = {
    vertex_ai: 'gcp.vertex_ai',
    gemini: 'gcp.gemini',
    'az.ai.inference': 'azure.ai.inference',
    'az.ai.openai': 'azure.ai.openai',
    xai: 'x_ai',
    // OpenInference llm.provider / llm.system spellings
    google: 'gcp.gemini',
    vertexai: 'gcp.vertex_ai',
    azure: 'azure.ai.openai',
    aws: 'aws.bedrock',
    mistralai: 'mistral_ai',
    // LiteLLM custom_llm_provider spellings
    bedrock: 'aws.bedrock',
    bedrock_converse: 'aws.bedrock',
    azure_ai: 'azure.ai.inference',
};

export function provider(v: unknown): string | undefined {
    const p = text(v)?.toLowerCase();
    return p ? (LEGACY_PROVIDERS[p] ?? p) : undefined;
}

/** OpenAI's response service_tier -> the contract's tier (`default` and `auto` are standard). */
export function serviceTier(v: unknown): string | undefined {
    const t = text(v)?.toLowerCase();
    if (!t) return undefined;
    if (t === 'default' || t === 'auto' || t === 'standard') return 'standard';
    return ['batch', 'flex', 'priority'].includes(t) ? t : undefined;
}

/** The owner fields the mapping names, from the given attribute maps (record first, then resource). */
export function owners(maps: readonly Attributes[], mapping: AttributeMapping): Record<string, string> {
    const out: Record<string, string> = {};
    for (const field of ['team', 'feature', 'tenant', 'user_id', 'session_id', 'environment'] as const) {
        const v = text(first(maps, mapping[field]));
        if (v !== undefined) out[field] = v;
    }
    return out;
}

/** Drops undefined fields (the contract refuses no field for being absent, but null is not absent). */
export function compact(event: Record<string, unknown>): Record<string, unknown> {
    return Object.fromEntries(Object.entries(event).filter(([, v]) => v !== undefined));
}
