/**
 * Exact decimal arithmetic on the shortest text of a JS number: per-token prices like 2.5e-06
 * become per-million 2.5, not 2.4999999999999996.
 */
export function toPlainDecimal(value: number): string {
    const text = String(value);
    const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/i.exec(text);
    if (!m) throw new Error(`not a finite number: ${text}`);
    const [, sign, int, frac = '', exp = '0'] = m;
    return shift(`${sign}${int}.${frac}`, Number(exp));
}

/** Moves the decimal point of a plain decimal string by `places` (positive = multiply by 10^places). */
export function shift(decimal: string, places: number): string {
    const negative = decimal.startsWith('-');
    const [int, frac = ''] = decimal.replace('-', '').split('.');
    let digits = int + frac;
    let point = int.length + places;
    if (point <= 0) {
        digits = '0'.repeat(1 - point) + digits;
        point = 1;
    } else if (point > digits.length) {
        digits = digits + '0'.repeat(point - digits.length);
    }
    const whole = digits.slice(0, point).replace(/^0+(?=\d)/, '');
    const fraction = digits.slice(point).replace(/0+$/, '');
    const out = fraction ? `${whole}.${fraction}` : whole;
    return negative && out !== '0' ? `-${out}` : out;
}

/** a / b when the quotient is a short exact decimal (at most 4 places), else undefined. */
export function exactRatio(a: number, b: number): string | undefined {
    for (let places = 0; places <= 4; places++) {
        const rounded = Math.round((a / b) * 10 ** places);
        // Exact to the precision of the operands: rounded / 10^places x b must give back a.
        if (Math.abs((rounded / 10 ** places) * b - a) <= Math.abs(a) * 1e-12) return shift(String(rounded), -places);
    }
    return undefined; // not a short exact decimal (or b is 0)
}
