import { anthropicCostReport } from './anthropic-cost-report.js';
import { genericCsv } from './generic-csv.js';
import type { InvoiceFormat } from './invoice-format.js';
import { openaiCosts } from './openai-costs.js';

/** Tried in this order; a new format is a file in this folder and a line here. */
export const INVOICE_FORMATS: readonly InvoiceFormat[] = [openaiCosts, anthropicCostReport, genericCsv];
