import { dataNotes } from '../sections/data-notes.js';
import { featureBreakdown } from '../sections/feature-breakdown.js';
import { headline } from '../sections/headline.js';
import { models } from '../sections/models.js';
import { movers } from '../sections/movers.js';
import { quality } from '../sections/quality.js';
import type { ReportSection } from '../sections/section.js';
import { spendTrend } from '../sections/spend-trend.js';
import { teamBreakdown } from '../sections/team-breakdown.js';

/** The weekly finance report, top to bottom. A new section is a file in reports/sections/ and a line here. */
export const WEEKLY_SECTIONS: readonly ReportSection[] = [headline, spendTrend, teamBreakdown, featureBreakdown, models, movers, quality, dataNotes];
