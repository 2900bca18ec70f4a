import { breakdownSection } from './breakdown.js';

/** Spend by feature, with its owning team. */
export const featureBreakdown = breakdownSection({ id: 'feature-breakdown', title: 'Spend by feature', key: 'feature', label: 'team' });
