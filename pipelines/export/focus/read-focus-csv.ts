import { parse } from 'csv-parse/sync';
import type { FocusDataset } from './check-focus.js';

/** A FOCUS CSV as the check reads it: an empty unquoted field is null, a quoted "" an empty string. */
export function readFocusCsv(text: string): FocusDataset {
    const records = parse(text, {
        bom: true,
        relax_column_count: false,
        cast: (value, context) => (value === '' && !context.quoting ? null : value),
    }) as (string | null)[][];
    const [header, ...rows] = records;
    return { columns: (header ?? []).map(String), rows };
}
