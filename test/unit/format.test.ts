import { describe, expect, it } from 'vitest';
import {
    allocateCents,
    formatCents,
    formatInt,
    formatMs,
    formatPercent,
    formatSignedPercent,
    formatSignedUsd,
    formatUsd,
    formatUsdCents,
    fromUnits,
    sumDecimals,
    toUnits,
} from '../../reports/format.js';

// Every expected value is worked out by hand in the comment beside it.
describe('exact decimals (units of 1e-12)', () => {
    it('parses numeric text exactly, sign and all', () => {
        expect(toUnits('1.5')).toBe(1_500_000_000_000n);
        expect(toUnits('-0.000000000001')).toBe(-1n);
        expect(toUnits('+2')).toBe(2_000_000_000_000n);
        expect(toUnits('.25')).toBe(250_000_000_000n); // no integer part
        expect(toUnits('3.')).toBe(3_000_000_000_000n); // no fraction digits
        expect(toUnits('0.1234567890129')).toBe(123_456_789_012n); // digits past 1e-12 are cut, not rounded
        expect(toUnits('')).toBe(0n);
        expect(toUnits(null)).toBe(0n);
        expect(toUnits(undefined)).toBe(0n);
    });

    it('prints units back without trailing zeros', () => {
        expect(fromUnits(1_500_000_000_000n)).toBe('1.5');
        expect(fromUnits(-1n)).toBe('-0.000000000001');
        expect(fromUnits(7_000_000_000_000n)).toBe('7');
        expect(fromUnits(0n)).toBe('0');
        expect(fromUnits(-2_500_000_000_000n)).toBe('-2.5');
    });

    it('sums with no float drift: 0.1 + 0.2 is 0.3', () => {
        expect(sumDecimals(['0.1', '0.2'])).toBe('0.3');
        expect(0.1 + 0.2).not.toBe(0.3);
        expect(sumDecimals(['1.005', null, '-0.005', undefined])).toBe('1');
    });
});

describe('cents by largest remainder', () => {
    it('gives each part its floor, then the leftover cents to the largest remainders', () => {
        // 0.3333333333 x 3 = 0.9999999999 -> 100 cents; floors 33 x 3 = 99; one cent left, equal remainders: the first part.
        expect(allocateCents(['0.3333333333', '0.3333333333', '0.3333333333'])).toEqual({ parts: [34n, 33n, 33n], total: 100n });
        // 0.101 + 0.109 = 0.21: floors 10 + 10; remainders 0.1 and 0.9 cent: the second part.
        expect(allocateCents(['0.101', '0.109'])).toEqual({ parts: [10n, 11n], total: 21n });
        // 0.006 x 3 = 0.018 -> 2 cents; floors 0; remainders 0.6 each: the first two.
        expect(allocateCents(['0.006', '0.006', '0.006'])).toEqual({ parts: [1n, 1n, 0n], total: 2n });
        // Exact cents need no leftover: 1.20 + 3.40 = 4.60.
        expect(allocateCents(['1.20', '3.40'])).toEqual({ parts: [120n, 340n], total: 460n });
        // The total rounds half up: 0.005 -> 1 cent, given to the only part.
        expect(allocateCents(['0.005'])).toEqual({ parts: [1n], total: 1n });
        // 0.0049 rounds to 0 cents: nothing to give.
        expect(allocateCents(['0.0049'])).toEqual({ parts: [0n], total: 0n });
        // Remainders ordered: 0.004, 0.009, 0.007 (cents 0.4, 0.9, 0.7); total 0.02 -> 2 cents: parts 2 and 3.
        expect(allocateCents(['0.004', '0.009', '0.007'])).toEqual({ parts: [0n, 1n, 1n], total: 2n });
        expect(allocateCents([])).toEqual({ parts: [], total: 0n });
    });

    it('a negative total rounds away from zero, like a positive one', () => {
        // -0.015 -> -2 cents (half away from zero); one part: its floor is -2 cents already.
        expect(allocateCents(['-0.015'])).toEqual({ parts: [-2n], total: -2n });
    });
});

describe('money as finance reads it', () => {
    it('formats cents with thousands separators and a sign', () => {
        expect(formatCents(123456789n)).toBe('$1,234,567.89');
        expect(formatCents(-105n)).toBe('-$1.05');
        expect(formatCents(7n)).toBe('$0.07');
        expect(formatCents(0n)).toBe('$0.00');
        expect(formatCents(100000n)).toBe('$1,000.00');
        expect(formatCents(99999n)).toBe('$999.99');
    });

    it('rounds to cents half up, and keeps 4 significant digits under half a cent', () => {
        expect(formatUsd('1234.005')).toBe('$1,234.01');
        expect(formatUsd('1234.0049')).toBe('$1,234.00');
        expect(formatUsd('0.005')).toBe('$0.01'); // exactly half a cent rounds to a cent
        expect(formatUsd('0.0042')).toBe('$0.0042');
        expect(formatUsd('0.00012345')).toBe('$0.0001235'); // 4 significant digits, half up, in exact decimals
        expect(formatUsd('0.0049999')).toBe('$0.005'); // 4,999.9 -> 5,000 (x 1e-6)
        expect(formatUsd('-0.0042')).toBe('-$0.0042');
        expect(formatUsd('0.0010')).toBe('$0.001'); // trailing zeros dropped
        expect(formatUsd('0')).toBe('$0.00');
        expect(formatUsd('-12.345')).toBe('-$12.35');
        expect(formatUsd(null)).toBe('—');
        expect(formatUsd(undefined)).toBe('—');
    });

    it('in tables of cents, a positive amount under half a cent reads <$0.01', () => {
        expect(formatUsdCents('0.004')).toBe('<$0.01');
        expect(formatUsdCents('0.005')).toBe('$0.01');
        expect(formatUsdCents('0')).toBe('$0.00');
        expect(formatUsdCents('-0.004')).toBe('$0.00'); // negative: no "<$0.01"
        expect(formatUsdCents('12.344')).toBe('$12.34');
        expect(formatUsdCents(null)).toBe('—');
    });

    it('signs changes: + for increases only', () => {
        expect(formatSignedUsd('4.42')).toBe('+$4.42');
        expect(formatSignedUsd('-21.76')).toBe('-$21.76');
        expect(formatSignedUsd('0')).toBe('$0.00');
    });
});

describe('other figures', () => {
    it('percentages', () => {
        expect(formatPercent(0.645)).toBe('64.5%');
        expect(formatPercent(0.12345, 2)).toBe('12.35%'); // 12.345 -> 12.35 (toFixed, binary 12.345000000000001)
        expect(formatPercent(1)).toBe('100.0%');
        expect(formatPercent(null)).toBe('—');
        expect(formatPercent(Number.NaN)).toBe('—');
        expect(formatPercent(Number.POSITIVE_INFINITY)).toBe('—');
        expect(formatSignedPercent(0.092)).toBe('+9.2%');
        expect(formatSignedPercent(-0.4)).toBe('-40.0%');
        expect(formatSignedPercent(0)).toBe('0.0%');
        expect(formatSignedPercent(null)).toBe('n/a');
        expect(formatSignedPercent(Number.NaN)).toBe('n/a');
    });

    it('integers with separators, from text, numbers and bigints', () => {
        expect(formatInt('12695')).toBe('12,695');
        expect(formatInt(1234567.4)).toBe('1,234,567');
        expect(formatInt(999)).toBe('999');
        expect(formatInt(1000n)).toBe('1,000');
        expect(formatInt('-1234')).toBe('-1,234');
    });

    it('durations: milliseconds under a second, seconds above', () => {
        expect(formatMs(999.4)).toBe('999 ms');
        expect(formatMs(1000)).toBe('1.00 s');
        expect(formatMs(30_250)).toBe('30.25 s');
        expect(formatMs(null)).toBe('—');
    });
});
