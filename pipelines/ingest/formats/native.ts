import type { InputFormat } from './format.js';

/** tokenmart's own contract, one event per line (README, "The event contract"): read as it is. */
export const native: InputFormat = {
    name: 'native',
    description: "tokenmart's event contract, one JSON object per line",
    detect: (record) => typeof record === 'object' && record !== null && !Array.isArray(record),
    map: (record) => ({ events: [{ event: record as Record<string, unknown>, recordNo: 0 }], skipped: 0, errors: [] }),
};
