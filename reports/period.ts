import { UserError } from '../pipelines/util/errors.js';

const DAY = 86_400_000;
export const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
export const addDays = (day: string, n: number) => isoDay(Date.parse(`${day}T00:00:00Z`) + n * DAY);

/** What a report or digest covers: one UTC day or one ISO week. */
export interface Period {
    readonly kind: 'daily' | 'weekly';
    /** 2026-11-23 or 2026-W47. */
    readonly label: string;
    readonly start: string;
    readonly end: string;
}

export function dailyPeriod(day: string): Period {
    return { kind: 'daily', label: day, start: day, end: day };
}

export function weeklyPeriod(week: Week): Period {
    return { kind: 'weekly', label: week.label, start: week.start, end: week.end };
}

/** An ISO week: Monday start, Sunday end (UTC dates). */
export interface Week {
    readonly label: string;
    readonly start: string;
    readonly end: string;
}

export function isoWeekOf(day: string): Week {
    const t = Date.parse(`${day}T00:00:00Z`);
    const dow = (new Date(t).getUTCDay() + 6) % 7; // Monday = 0
    const monday = t - dow * DAY;
    const thursday = monday + 3 * DAY;
    const year = new Date(thursday).getUTCFullYear();
    const jan4 = Date.UTC(year, 0, 4);
    const week1Monday = jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * DAY;
    const n = Math.round((monday - week1Monday) / (7 * DAY)) + 1;
    return { label: `${year}-W${String(n).padStart(2, '0')}`, start: isoDay(monday), end: isoDay(monday + 6 * DAY) };
}

export function parseIsoWeek(label: string): Week {
    const m = /^(\d{4})-W(\d{2})$/.exec(label);
    if (!m) throw new UserError(`report: --week "${label}" is not an ISO week; write it as 2026-W47`);
    const year = Number(m[1]);
    const n = Number(m[2]);
    const jan4 = Date.UTC(year, 0, 4);
    const week1Monday = jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * DAY;
    const monday = week1Monday + (n - 1) * 7 * DAY;
    const week = isoWeekOf(isoDay(monday));
    if (n < 1 || week.label !== label) throw new UserError(`report: --week "${label}" does not exist (ISO years have 52 or 53 weeks)`);
    return week;
}

/** The last ISO week that has ended before `now`. */
export function lastCompleteWeek(now = new Date()): Week {
    return isoWeekOf(addDays(isoDay(now.getTime()), -7));
}
