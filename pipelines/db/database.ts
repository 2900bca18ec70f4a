import type { ColumnType, Generated } from 'kysely';

/** The tables the TypeScript code reads and writes (models are SQL and typed where queried). */
export interface LoadManifestTable {
    file_id: Generated<string>;
    load_id: string;
    source_uri: string;
    content_id: string;
    size_bytes: number;
    modified_at: Date | null;
    lines_total: number;
    rows_loaded: number;
    rows_quarantined: number;
    blank_lines: number;
    duplicate_rows: number;
    unknown_version_rows: number;
    redactions: ColumnType<Record<string, number>, string, string>;
    status: Generated<'loaded' | 'superseded'>;
    loaded_at: Generated<Date>;
    superseded_at: Date | null;
}

export interface QuarantineTable {
    file_id: string;
    source_uri: string;
    line_no: number;
    reason: string;
    line_text: string;
    quarantined_at: Generated<Date>;
}

export interface LoadFailuresTable {
    failure_id: Generated<string>;
    load_id: string;
    source_uri: string;
    content_id: string | null;
    reason: string;
    failed_at: Generated<Date>;
}

export interface RawEventsTable {
    file_id: string;
    line_no: number;
    request_id: string;
    event_at: Date;
    schema_version: number;
    provider: string;
    model: string;
    input_tokens: string;
    output_tokens: string;
    status: 'ok' | 'error';
    team: string | null;
    feature: string | null;
    extras: unknown;
}

export interface Database {
    'ops.load_manifest': LoadManifestTable;
    'ops.quarantine': QuarantineTable;
    'ops.load_failures': LoadFailuresTable;
    'raw.events': RawEventsTable;
}
