import { DERIVED_COLUMNS, EVENT_FIELDS, type EventField, type RawColumnType } from './event-fields.js';

/** A raw.events column that comes from the contract: a field's, or one derived from a field. */
export interface RawColumn {
    readonly name: string;
    readonly type: RawColumnType;
    readonly description: string;
    readonly field?: EventField;
}

/** One column per contract field, in contract order. */
export const FIELD_COLUMNS: readonly RawColumn[] = EVENT_FIELDS.map((f) => ({
    name: f.columnName ?? f.name,
    type: f.column,
    description: f.description,
    field: f,
}));

/** Every contract column of raw.events: the fields', then the derived ones. */
export const CONTRACT_COLUMNS: readonly RawColumn[] = [
    ...FIELD_COLUMNS,
    ...DERIVED_COLUMNS.map((d) => ({ name: d.name, type: d.column, description: d.description })),
];

/** The loader's own columns: where a row came from, and the fields the contract does not know. */
export const LOADER_COLUMNS: readonly RawColumn[] = [
    { name: 'file_id', type: 'bigint', description: 'ops.load_manifest.file_id of the file the row came from' },
    { name: 'line_no', type: 'integer', description: 'Line of the file (1-based)' },
    { name: 'extras', type: 'jsonb', description: "Fields the contract (of the event's version) does not know, kept as sent (scanned for PII)" },
    { name: 'record_no', type: 'integer', description: 'Position of the event among those its line holds (0 for a native line; an OTLP batch holds many)' },
    { name: 'record_id', type: 'text', description: 'Id of the record the event was mapped from (an OTLP span id, a batch request id), if any' },
];

/** COPY order: file_id, line_no, the contract columns, extras, record_no, record_id. */
export const RAW_COPY_COLUMNS: readonly string[] = ['file_id', 'line_no', ...CONTRACT_COLUMNS.map((c) => c.name), 'extras', 'record_no', 'record_id'];
