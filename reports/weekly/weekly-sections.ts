import { partsInOrder } from '../../pipelines/util/load-parts.js';
import { type ReportSection, reportSections } from '../sections/section.js';

/** The weekly finance report, top to bottom: ids of sections in reports/sections/. A new section is a file there and its id here. */
export const WEEKLY_SECTIONS = [
    'headline',
    'budgets',
    'spend-trend',
    'team-breakdown',
    'feature-breakdown',
    'models',
    'movers',
    'cost-change',
    'anomalies',
    'quality',
    'experiments',
    'slos',
    'stage-latency',
    'agent-tasks',
    'cost-per-outcome',
    'drift',
    'data-notes',
];

export function weeklySections(): Promise<ReportSection[]> {
    return partsInOrder(WEEKLY_SECTIONS, reportSections(), 'reports/weekly/weekly-sections.ts');
}
