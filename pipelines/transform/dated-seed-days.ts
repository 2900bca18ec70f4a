/** One row of a dated seed: its key, the instant it applies from (ms; null: always) and the whole row as text. */
export interface DatedRow {
    readonly key: string;
    readonly fromMs: number | null;
    readonly row: string;
}

const DAY_MS = 86_400_000;

/** Each row with the instant it stops applying: the next later `from` of its key, or never. */
function withEnds(rows: readonly DatedRow[]): Map<DatedRow, number> {
    const byKey = new Map<string, DatedRow[]>();
    for (const r of rows) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
    const out = new Map<DatedRow, number>();
    for (const list of byKey.values()) {
        const starts = list.map((r) => r.fromMs ?? Number.NEGATIVE_INFINITY);
        for (const [i, r] of list.entries()) out.set(r, Math.min(Number.POSITIVE_INFINITY, ...starts.filter((s) => s > starts[i])));
    }
    return out;
}

/**
 * The instants [from, to) where a dated seed's rows may apply differently after the change: each
 * row found in one version only, over the span it applies in its version. A key found in one
 * version only changes every instant: an exact price row decides whether a dated alias falls back
 * to its undated model's prices (int_requests_priced), whatever its dates.
 */
export function changedSpans(before: readonly DatedRow[], after: readonly DatedRow[]): [number, number][] {
    const spans: [number, number][] = [];
    for (const [mine, other] of [
        [before, after],
        [after, before],
    ] as const) {
        const otherRows = new Set(other.map((r) => r.row));
        const otherKeys = new Set(other.map((r) => r.key));
        const ends = withEnds(mine);
        for (const r of mine) {
            if (otherRows.has(r.row)) continue;
            if (!otherKeys.has(r.key)) return [[Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]];
            spans.push([r.fromMs ?? Number.NEGATIVE_INFINITY, ends.get(r)!]);
        }
    }
    return spans;
}

/** The UTC days (YYYY-MM-DD) from `first` to `last` inclusive that any span touches. */
export function daysTouched(spans: readonly [number, number][], first: string, last: string): string[] {
    const days: string[] = [];
    if (!spans.length) return days;
    for (let t = Date.parse(`${first}T00:00:00Z`), end = Date.parse(`${last}T00:00:00Z`); t <= end; t += DAY_MS)
        if (spans.some(([from, to]) => from < t + DAY_MS && to > t)) days.push(new Date(t).toISOString().slice(0, 10));
    return days;
}
