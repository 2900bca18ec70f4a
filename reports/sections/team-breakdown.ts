import { breakdownSection } from './breakdown.js';

/** Spend by team and cost center: what finance allocates from. */
export const teamBreakdown = breakdownSection({ id: 'team-breakdown', title: 'Spend by team and cost center', key: 'team', label: 'cost_center' });
