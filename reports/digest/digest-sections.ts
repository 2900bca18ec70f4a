import { dataNotes } from '../sections/data-notes.js';
import { headline } from '../sections/headline.js';
import { movers } from '../sections/movers.js';
import type { ReportSection } from '../sections/section.js';
import { spendTrend } from '../sections/spend-trend.js';

/** A Slack digest, top to bottom (then the thread's files). A new block is a section and a line here. */
export const DIGEST_SECTIONS: readonly ReportSection[] = [headline, movers, dataNotes, spendTrend];
