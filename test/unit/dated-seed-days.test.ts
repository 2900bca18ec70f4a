import { describe, expect, it } from 'vitest';
import { changedSpans, type DatedRow, daysTouched } from '../../pipelines/transform/dated-seed-days.js';

const at = (iso: string) => Date.parse(iso);
const row = (key: string, from: string, price: string): DatedRow => ({ key, fromMs: at(from), row: `${key},${from},${price}` });

// Model A: 1.00 from Nov 1, 2.00 from Nov 10, 3.00 from Nov 20. Model B: 5.00 from Nov 1.
const prices = [
    row('A', '2026-11-01T00:00:00Z', '1.00'),
    row('A', '2026-11-10T00:00:00Z', '2.00'),
    row('A', '2026-11-20T00:00:00Z', '3.00'),
    row('B', '2026-11-01T00:00:00Z', '5.00'),
];

describe('dated seeds: the days a change touches', () => {
    it('a fixed row touches its own span only: from its date to the next row of its key', () => {
        const fixed = prices.map((r) => (r.row.endsWith('2.00') ? row('A', '2026-11-10T00:00:00Z', '2.50') : r));
        // The old and the new 2.00/2.50 row both apply over [Nov 10, Nov 20).
        expect(changedSpans(prices, fixed)).toEqual([
            [at('2026-11-10T00:00:00Z'), at('2026-11-20T00:00:00Z')],
            [at('2026-11-10T00:00:00Z'), at('2026-11-20T00:00:00Z')],
        ]);
        // Nov 20 starts at the next row's instant: not touched.
        expect(daysTouched(changedSpans(prices, fixed), '2026-11-01', '2026-11-30')).toEqual(
            Array.from({ length: 10 }, (_, i) => `2026-11-${String(10 + i).padStart(2, '0')}`),
        );
    });

    it('a row added mid-day touches that day and the days up to the next row; a removed one its old span', () => {
        const added = [...prices, row('A', '2026-11-15T12:00:00Z', '9.00')];
        expect(daysTouched(changedSpans(prices, added), '2026-11-01', '2026-11-30')).toEqual([
            '2026-11-15',
            '2026-11-16',
            '2026-11-17',
            '2026-11-18',
            '2026-11-19',
        ]);
        const removed = prices.filter((r) => !r.row.endsWith('3.00'));
        // The last row of A applied from Nov 20 on: its days, to the last day loaded.
        expect(daysTouched(changedSpans(prices, removed), '2026-11-01', '2026-11-25')).toEqual([
            '2026-11-20',
            '2026-11-21',
            '2026-11-22',
            '2026-11-23',
            '2026-11-24',
            '2026-11-25',
        ]);
    });

    it('a key found in one version only touches every day; an unchanged seed none', () => {
        const withC = [...prices, row('C', '2026-11-25T00:00:00Z', '1.00')];
        expect(changedSpans(prices, withC)).toEqual([[Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]]);
        expect(daysTouched(changedSpans(prices, withC), '2026-11-01', '2026-11-03')).toEqual(['2026-11-01', '2026-11-02', '2026-11-03']);
        expect(changedSpans(prices, [...prices].reverse())).toEqual([]);
        expect(daysTouched([], '2026-11-01', '2026-11-30')).toEqual([]);
    });
});
