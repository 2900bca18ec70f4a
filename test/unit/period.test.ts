import { describe, expect, it } from 'vitest';
import { addDays, dailyPeriod, isoDay, isoWeekOf, lastCompleteWeek, parseIsoWeek, weeklyPeriod } from '../../reports/period.js';

// ISO 8601 weeks. Every expected value below was computed independently with Python 3.11's
// datetime.date.isocalendar() / date.fromisocalendar(), not with tokenmart.
const ISO: readonly [string, string, string, string][] = [
    // day, ISO week, its Monday, its Sunday
    ['2020-12-31', '2020-W53', '2020-12-28', '2021-01-03'],
    ['2021-01-03', '2020-W53', '2020-12-28', '2021-01-03'],
    ['2021-01-04', '2021-W01', '2021-01-04', '2021-01-10'],
    ['2024-12-30', '2025-W01', '2024-12-30', '2025-01-05'],
    ['2026-11-22', '2026-W47', '2026-11-16', '2026-11-22'],
    ['2026-11-23', '2026-W48', '2026-11-23', '2026-11-29'],
    ['2027-01-01', '2026-W53', '2026-12-28', '2027-01-03'],
    ['2027-01-04', '2027-W01', '2027-01-04', '2027-01-10'],
    ['2015-12-31', '2015-W53', '2015-12-28', '2016-01-03'],
    ['2008-12-29', '2009-W01', '2008-12-29', '2009-01-04'],
    ['2010-01-03', '2009-W53', '2009-12-28', '2010-01-03'],
    ['2024-02-29', '2024-W09', '2024-02-26', '2024-03-03'],
];

describe('ISO weeks (checked against Python isocalendar)', () => {
    for (const [day, label, start, end] of ISO) {
        it(`${day} is in ${label} (${start} to ${end})`, () => {
            expect(isoWeekOf(day)).toEqual({ label, start, end });
            expect(parseIsoWeek(label)).toEqual({ label, start, end });
        });
    }

    it('week 1 starts on the Monday of the week holding 4 January (fromisocalendar)', () => {
        expect(parseIsoWeek('2015-W01').start).toBe('2014-12-29');
        expect(parseIsoWeek('2020-W01').start).toBe('2019-12-30');
        expect(parseIsoWeek('2026-W01').start).toBe('2025-12-29');
        expect(parseIsoWeek('2021-W01').start).toBe('2021-01-04');
    });

    it('refuses weeks that do not exist and labels that are not weeks, with the fix', () => {
        // 2026 has 53 ISO weeks, 2021 has 52.
        expect(parseIsoWeek('2026-W53').start).toBe('2026-12-28');
        expect(() => parseIsoWeek('2021-W53')).toThrow(/^report: --week "2021-W53" does not exist \(ISO years have 52 or 53 weeks\)$/);
        expect(() => parseIsoWeek('2021-W00')).toThrow(/does not exist/);
        expect(() => parseIsoWeek('2026-47')).toThrow(/^report: --week "2026-47" is not an ISO week; write it as 2026-W47$/);
        expect(() => parseIsoWeek('2026-W7')).toThrow(/is not an ISO week/);
        expect(() => parseIsoWeek('x2026-W47')).toThrow(/is not an ISO week/);
        expect(() => parseIsoWeek('2026-W47x')).toThrow(/is not an ISO week/);
    });

    it('the last complete week is the ISO week before the current one', () => {
        // Monday 2026-11-23 00:00 UTC: week 47 has just ended.
        expect(lastCompleteWeek(new Date('2026-11-23T00:00:00Z')).label).toBe('2026-W47');
        // Sunday 2026-11-22 23:59 UTC: week 47 is not over; week 46 is the last complete one.
        expect(lastCompleteWeek(new Date('2026-11-22T23:59:59Z')).label).toBe('2026-W46');
        expect(lastCompleteWeek(new Date('2027-01-04T06:00:00Z')).label).toBe('2026-W53');
    });
});

describe('days and periods', () => {
    it('adds days across month, year and leap-day boundaries in UTC', () => {
        expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
        expect(addDays('2024-02-28', 2)).toBe('2024-03-01');
        expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
        expect(addDays('2026-01-01', -1)).toBe('2025-12-31');
        expect(addDays('2026-03-29', 1)).toBe('2026-03-30'); // a DST change in Europe does not matter in UTC
        expect(isoDay(Date.UTC(2026, 10, 24, 23, 59, 59))).toBe('2026-11-24');
    });

    it('a daily period is one day; a weekly one is its ISO week', () => {
        expect(dailyPeriod('2026-11-23')).toEqual({ kind: 'daily', label: '2026-11-23', start: '2026-11-23', end: '2026-11-23' });
        expect(weeklyPeriod(parseIsoWeek('2026-W47'))).toEqual({ kind: 'weekly', label: '2026-W47', start: '2026-11-16', end: '2026-11-22' });
    });
});
