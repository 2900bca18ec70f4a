/** HTML helpers shared by sections: escaping and the few table shapes the report repeats. */
export const esc = (s: unknown): string => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export const fmtDate = (day: string): string =>
    new Date(`${day}T00:00:00Z`).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });

export const timeLabel = (at: Date | null): string => (at ? `${at.toISOString().replace('T', ' ').slice(0, 16)} UTC` : 'no data');

/** A chart, or a note saying why there is none. */
export const figure = (svg: string | null, alt: string): string => (svg ? `<figure>${svg}</figure>` : `<div class="nodata">${esc(alt)}</div>`);
