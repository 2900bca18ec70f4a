import { describe, expect, it } from 'vitest';
import { exactRatio, shift, toPlainDecimal } from '../../pipelines/pricing/decimal.js';

describe('decimal conversion of per-token prices', () => {
    it('writes a JS number as its exact shortest decimal text', () => {
        expect(toPlainDecimal(2.5e-6)).toBe('0.0000025');
        expect(toPlainDecimal(1.375e-7)).toBe('0.0000001375');
        expect(toPlainDecimal(-3e-8)).toBe('-0.00000003');
        expect(toPlainDecimal(1e21)).toBe('1000000000000000000000');
        expect(toPlainDecimal(0)).toBe('0');
        expect(toPlainDecimal(15)).toBe('15');
        expect(toPlainDecimal(0.1)).toBe('0.1');
        expect(() => toPlainDecimal(Number.NaN)).toThrow(/not a finite number: NaN/);
        expect(() => toPlainDecimal(Number.POSITIVE_INFINITY)).toThrow(/not a finite number/);
    });

    it('per token x 10^6 = per million tokens, exactly (floats would give 2.4999999999999996)', () => {
        expect(shift(toPlainDecimal(2.5e-6), 6)).toBe('2.5');
        expect(shift(toPlainDecimal(3.75e-6), 6)).toBe('3.75');
        expect(shift(toPlainDecimal(2.9e-6), 6)).toBe('2.9');
        expect(2.9e-6 * 1e6).not.toBe(2.9);
        expect(shift(toPlainDecimal(2e-8), 6)).toBe('0.02');
        expect(shift(toPlainDecimal(1.5e-5), 6)).toBe('15');
        expect(shift(toPlainDecimal(6e-5), 6)).toBe('60');
    });

    it('moves the point both ways, padding and trimming zeros', () => {
        expect(shift('12.5', -3)).toBe('0.0125');
        expect(shift('12.5', 3)).toBe('12500');
        expect(shift('0.000', 2)).toBe('0');
        expect(shift('-0.5', 1)).toBe('-5');
        expect(shift('-0.0', 1)).toBe('0'); // no negative zero
        expect(shift('007.10', 0)).toBe('7.1');
        expect(shift('5', -1)).toBe('0.5');
        expect(shift('5', 0)).toBe('5');
        expect(shift('1.500', 0)).toBe('1.5'); // every trailing zero goes, not just one
        expect(shift('0.5', 0)).toBe('0.5');
    });

    it('a tier multiplier is kept only when it is a short exact ratio', () => {
        expect(exactRatio(1.25e-6, 2.5e-6)).toBe('0.5'); // batch: half price
        expect(exactRatio(4.25e-6, 2.5e-6)).toBe('1.7'); // priority: 1.7 x
        expect(exactRatio(2.125e-6, 1.25e-6)).toBe('1.7');
        expect(exactRatio(6e-6, 3e-6)).toBe('2');
        expect(exactRatio(1e-6, 3e-6)).toBeUndefined(); // 0.333...: not exact in 4 places
        expect(exactRatio(1.2345e-6, 1e-6)).toBe('1.2345');
        expect(exactRatio(1.23456e-6, 1e-6)).toBeUndefined(); // 5 places
        expect(exactRatio(1, 0)).toBeUndefined();
        expect(exactRatio(0, 0)).toBeUndefined();
        expect(exactRatio(0, 2.5e-6)).toBe('0'); // a free tier is a 0 multiplier
    });
});
