/**
 * Figures as finance reads them. Amounts stay exact decimal strings until displayed; rounding to
 * cents uses the largest-remainder method so the displayed parts add up to the displayed total.
 */
const SCALE = 10n ** 12n;

/** A numeric string (any precision) -> integer units of 1e-12. */
export function toUnits(decimal: string | null | undefined): bigint {
    if (decimal === null || decimal === undefined || decimal === '') return 0n;
    const negative = decimal.startsWith('-');
    const [int, frac = ''] = decimal.replace(/^[-+]/, '').split('.');
    const units = BigInt(int || '0') * SCALE + BigInt((frac + '0'.repeat(12)).slice(0, 12) || '0');
    return negative ? -units : units;
}

export function fromUnits(units: bigint): string {
    const negative = units < 0n;
    const abs = negative ? -units : units;
    const int = abs / SCALE;
    const frac = (abs % SCALE).toString().padStart(12, '0').replace(/0+$/, '');
    return `${negative ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
}

export function sumDecimals(values: readonly (string | null | undefined)[]): string {
    return fromUnits(values.reduce((a, v) => a + toUnits(v), 0n));
}

const CENT = SCALE / 100n;

/** Units (1e-12 USD) to cents, half away from zero. */
export function roundHalfUpCents(units: bigint): bigint {
    const negative = units < 0n;
    const abs = negative ? -units : units;
    const cents = (abs + CENT / 2n) / CENT;
    return negative ? -cents : cents;
}

/**
 * Rounds non-negative parts to cents so that they sum exactly to their total rounded to cents
 * (largest remainder). Returns cents per part and the total in cents.
 */
export function allocateCents(parts: readonly string[]): { parts: bigint[]; total: bigint } {
    const units = parts.map(toUnits);
    const total = roundHalfUpCents(units.reduce((a, b) => a + b, 0n));
    const floors = units.map((u) => (u >= 0n ? u / CENT : -((-u + CENT - 1n) / CENT)));
    let remaining = total - floors.reduce((a, b) => a + b, 0n);
    const order = units.map((u, i) => ({ i, rem: u - floors[i] * CENT })).sort((a, b) => (b.rem > a.rem ? 1 : b.rem < a.rem ? -1 : a.i - b.i));
    const out = [...floors];
    for (let k = 0; remaining > 0n && k < order.length; k++, remaining--) out[order[k].i] += 1n;
    return { parts: out, total };
}

export function formatCents(cents: bigint): string {
    const negative = cents < 0n;
    const abs = negative ? -cents : cents;
    const dollars = (abs / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return `${negative ? '-' : ''}$${dollars}.${(abs % 100n).toString().padStart(2, '0')}`;
}

/** A positive amount rounded half up to `digits` significant digits, exactly (no binary float). */
function roundSignificant(units: bigint, digits: number): bigint {
    const length = units.toString().length;
    if (length <= digits) return units;
    const scale = 10n ** BigInt(length - digits);
    return ((units + scale / 2n) / scale) * scale;
}

/** Money with 2 decimals; amounts under half a cent keep 4 significant digits so they do not read as $0.00. */
export function formatUsd(decimal: string | null | undefined): string {
    if (decimal === null || decimal === undefined) return '—';
    const units = toUnits(decimal);
    const abs = units < 0n ? -units : units;
    if (abs !== 0n && abs < CENT / 2n) return `${units < 0n ? '-' : ''}$${fromUnits(roundSignificant(abs, 4))}`;
    return formatCents(roundHalfUpCents(units));
}

/** Money in a table of cents: amounts under half a cent read "<$0.01", not $0.00. */
export function formatUsdCents(decimal: string | null | undefined): string {
    if (decimal === null || decimal === undefined) return '—';
    const units = toUnits(decimal);
    if (units > 0n && units < CENT / 2n) return '<$0.01';
    return formatCents(roundHalfUpCents(units));
}

export function formatSignedUsd(decimal: string): string {
    const s = formatUsd(decimal);
    return toUnits(decimal) > 0n ? `+${s}` : s;
}

export function formatPercent(ratio: number | null, digits = 1): string {
    if (ratio === null || !Number.isFinite(ratio)) return '—';
    return `${(ratio * 100).toFixed(digits)}%`;
}

export function formatSignedPercent(ratio: number | null): string {
    if (ratio === null || !Number.isFinite(ratio)) return 'n/a';
    return `${ratio > 0 ? '+' : ''}${(ratio * 100).toFixed(1)}%`;
}

export function formatInt(n: string | number | bigint): string {
    return BigInt(typeof n === 'number' ? Math.round(n) : n)
        .toString()
        .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function formatMs(ms: number | null): string {
    if (ms === null) return '—';
    return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}
