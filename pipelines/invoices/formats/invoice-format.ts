/** One line of a provider's cost export, normalised: amounts are exact decimal strings in USD. */
export interface InvoiceLine {
    readonly provider: string;
    /** YYYY-MM-DD when the export has days (a daily bucket), else undefined. */
    readonly day?: string;
    /** YYYY-MM-01 */
    readonly month: string;
    readonly lineItem?: string;
    readonly model?: string;
    readonly projectId?: string;
    readonly amountUsd: string;
}

export type Parsed = { readonly ok: true; readonly lines: readonly InvoiceLine[] } | { readonly ok: false; readonly where: string; readonly reason: string };

/** A provider cost-export format: one file per format in this folder, listed in INVOICE_FORMATS. */
export interface InvoiceFormat {
    readonly name: string;
    readonly description: string;
    /** Whether the file's text is this format. */
    detect(text: string, path: string): boolean;
    parse(text: string): Parsed;
}

/** The JSON documents of a file: one document, or one per line (saved pages of a paginated API). */
export function jsonDocuments(text: string): unknown[] | undefined {
    try {
        return [JSON.parse(text)];
    } catch {
        try {
            return text
                .split('\n')
                .filter((l) => l.trim())
                .map((l) => JSON.parse(l));
        } catch {
            return undefined;
        }
    }
}

export const dayOf = (iso: string) => iso.slice(0, 10);
export const monthOf = (day: string) => `${day.slice(0, 7)}-01`;

/** A JSON number in dollars as an exact decimal string (String() would write 1e-7). */
export function numberToDecimal(n: number): string {
    const s = String(n);
    if (!/e/i.test(s)) return s;
    return n.toFixed(20).replace(/\.?0+$/, '');
}
