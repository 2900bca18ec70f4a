import { loadParts } from '../../util/load-parts.js';

/** Where an event came from inside its line, and the event itself (contract fields). */
export interface MappedEvent {
    readonly event: Record<string, unknown>;
    /** Position among the records of the line (0 for a native line). */
    readonly recordNo: number;
    /** The record's own id, for lineage (an OTLP span id, a batch request id). */
    readonly recordId?: string;
}

/** A record that could not be mapped: quarantined with the reason and a summary free of content. */
export interface MappingError {
    readonly recordNo: number;
    readonly reason: string;
    /** What is kept in ops.quarantine: names and ids, never prompts or completions. */
    readonly summary: Record<string, unknown>;
}

export interface MappedLine {
    readonly events: readonly MappedEvent[];
    /** Records that are not model calls (other spans, other log events): counted, not loaded. */
    readonly skipped: number;
    readonly errors: readonly MappingError[];
}

/** Which resource, scope or record attributes carry the owners (first present wins). */
export interface AttributeMapping {
    readonly team: readonly string[];
    readonly feature: readonly string[];
    readonly tenant: readonly string[];
    readonly user_id: readonly string[];
    readonly session_id: readonly string[];
    readonly environment: readonly string[];
}

export const DEFAULT_ATTRIBUTE_MAPPING: AttributeMapping = {
    team: ['tokenmart.team', 'team', 'team.id', 'team.name'],
    feature: ['tokenmart.feature', 'feature', 'feature.name', 'service.name'],
    tenant: ['tokenmart.tenant', 'tenant', 'tenant.id', 'organization.id'],
    user_id: ['enduser.id', 'user.id', 'user.account_uuid', 'user.account_id'],
    session_id: ['gen_ai.conversation.id', 'session.id', 'conversation.id'],
    environment: ['deployment.environment.name', 'deployment.environment', 'env'],
};

export interface FormatOptions {
    readonly attributes: AttributeMapping;
}

/**
 * An input format: one file in pipelines/ingest/formats/. A file's format is found from its
 * first record's content (never its name), in the order of FORMATS below; `--format NAME`
 * overrides. Adding a format is adding its file and its name to that list.
 */
export interface InputFormat {
    readonly name: string;
    readonly description: string;
    /** Whether a record (one JSON value: a line, or a whole document) is of this format. */
    detect(record: unknown): boolean;
    /** One record -> contract events (zero, one or many), skipped records and unmappable ones. */
    map(record: unknown, options: FormatOptions): MappedLine;
}

/** Detection order: the most specific shapes first, the native contract last. */
export const FORMATS = ['otlp-traces', 'otlp-logs', 'litellm', 'openai-batch', 'provider-response', 'native'];

export function isInputFormat(value: unknown): value is InputFormat {
    const v = value as Partial<InputFormat> | null;
    return typeof v === 'object' && v !== null && typeof v.name === 'string' && typeof v.detect === 'function' && typeof v.map === 'function';
}

/** Every format defined in this folder, by name. */
export function inputFormats(): Promise<Map<string, InputFormat>> {
    return loadParts(new URL('.', import.meta.url), isInputFormat, (f) => f.name);
}
