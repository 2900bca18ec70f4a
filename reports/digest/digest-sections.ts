import { partsInOrder } from '../../pipelines/util/load-parts.js';
import { type ReportSection, reportSections } from '../sections/section.js';

/** A Slack digest, top to bottom (then the thread's files): ids of sections in reports/sections/. A new block is a section and its id here. */
export const DIGEST_SECTIONS = ['headline', 'budgets', 'anomalies', 'slos', 'experiments', 'movers', 'data-notes', 'spend-trend'];

export function digestSections(): Promise<ReportSection[]> {
    return partsInOrder(DIGEST_SECTIONS, reportSections(), 'reports/digest/digest-sections.ts');
}
