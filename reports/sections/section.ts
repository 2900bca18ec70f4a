import { type Kysely, sql } from 'kysely';
import type { DB } from '../../pipelines/db/database.js';
import type { DigestFile } from '../digest/deliver-digest.js';
import { UserError } from '../../pipelines/util/errors.js';
import { loadParts } from '../../pipelines/util/load-parts.js';
import { addDays, type Period } from '../period.js';

/**
 * A report section: one file in reports/sections/ holding its queries and its renderings. The
 * weekly report is an ordered list of section ids with `html`; the Slack digests, of sections
 * with `digest`. Adding a section is adding its file and its id to one of those lists
 * (reports/weekly/weekly-sections.ts, reports/digest/digest-sections.ts).
 */
export interface ReportSection {
    readonly id: string;
    /** Its part of the weekly HTML/PDF report. */
    html?(ctx: SectionContext): Promise<HtmlPart>;
    /** Its part of a Slack digest. */
    digest?(ctx: SectionContext): Promise<DigestPart>;
}

export interface HtmlPart {
    readonly html: string;
    /** Figures as displayed, by name, so tests and the CLI can compare them with SQL. */
    readonly figures?: Readonly<Record<string, string>>;
}

export interface DigestPart {
    readonly blocks: readonly unknown[];
    /** The notification text (the first part that has one gives it). */
    readonly text?: string;
    /** Files for the message's thread. */
    readonly files?: readonly DigestFile[];
}

/** What is reported and against what. */
export interface SectionContext {
    readonly db: Kysely<DB>;
    readonly period: Period;
    readonly baseline: Baseline;
    /** A per-team digest: only this team's numbers. */
    readonly team: string | undefined;
    readonly now: Date;
}

/** The comparison period: a daily period is compared with the 7 days before (their average), a week with the week before. */
export interface Baseline {
    readonly start: string;
    readonly end: string;
    /** Baseline totals are divided by this (7 for a daily average). */
    readonly divisor: number;
    readonly label: string;
}

export function baselineOf(period: Period): Baseline {
    return period.kind === 'daily'
        ? { start: addDays(period.start, -7), end: addDays(period.start, -1), divisor: 7, label: '7-day average' }
        : { start: addDays(period.start, -7), end: addDays(period.end, -7), divisor: 1, label: 'previous week' };
}

export function sectionContext(db: Kysely<DB>, period: Period, options: { team?: string; now?: Date } = {}): SectionContext {
    return { db, period, baseline: baselineOf(period), team: options.team, now: options.now ?? new Date() };
}

export function isReportSection(value: unknown): value is ReportSection {
    const v = value as Partial<ReportSection> | null;
    return typeof v === 'object' && v !== null && typeof v.id === 'string' && (typeof v.html === 'function' || typeof v.digest === 'function');
}

/** Every section defined in reports/sections/, by id. */
export function reportSections(): Promise<Map<string, ReportSection>> {
    return loadParts(new URL('.', import.meta.url), isReportSection, (s) => s.id);
}

/** Reports read the marts: before the first build there are none, which is one line, not a stack trace. */
export async function requireMarts(db: Kysely<DB>, what: string, marts: readonly string[] = []): Promise<void> {
    const names = ['marts.fct_requests', 'marts.mart_daily_cost', 'marts.mart_daily_team_cost', 'marts.mart_daily_quality', ...marts];
    const { rows } = await sql<{ missing: string | null }>`
        select string_agg(name, ', ') as missing
        from unnest(${names}::text[]) as name
        where to_regclass(name) is null`.execute(db);
    if (rows[0].missing)
        throw new UserError(
            `${what}: the marts are not built in this database yet (${rows[0].missing} missing); run \`tokenmart build\` or \`tokenmart run\` first`,
        );
}
