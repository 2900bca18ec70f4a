import { CONTRACT_VERSIONS, EVENT_FIELDS, type EventField } from './event-fields.js';

function typeOf(f: EventField): string {
    const s = f.schema as { type?: string | string[]; enum?: unknown[]; minimum?: number };
    if (s.enum)
        return s.enum
            .filter((v) => v !== null)
            .map((v) => `\`${String(v)}\``)
            .join(' \\| ');
    const t = (Array.isArray(s.type) ? s.type : [s.type]).filter((x) => x && x !== 'null').join(' \\| ');
    return t === 'integer' && s.minimum === 0 ? 'integer >= 0' : t;
}

/** The README's contract table: one row per field, with its raw column and PII policy. */
export function contractMarkdownTable(): string {
    const rows = EVENT_FIELDS.map((f) => {
        const column = f.columnName ? `\`${f.columnName}\` ${f.column}` : f.column;
        return `| \`${f.name}\` | ${f.required === 'model-calls' ? 'model calls' : f.required ? 'yes' : ''} | ${f.since} | ${typeOf(f)} | ${column} | ${f.pii} | ${f.maxChars ? `${f.maxChars} chars` : ''} | ${f.description} |`;
    });
    const versions = Object.entries(CONTRACT_VERSIONS)
        .map(([v, what]) => `v${v}: ${what}`)
        .join('; ');
    return [
        '| field | required | since | type | raw column | PII policy | bound | meaning |',
        '| --- | --- | --- | --- | --- | --- | --- | --- |',
        ...rows,
        '',
        `Versions: ${versions}.`,
    ].join('\n');
}
