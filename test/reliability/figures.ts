/**
 * Figures of the reliability suite. Every test records what it measured with `recordFigure`
 * (appended to reliability-results/figures.jsonl), and asserts the bar itself so jest fails
 * when one misses. `npm run test:reliability` (scripts/reliability.js) prints all of them as
 * one table after jest, and fails if any figure missed its bar.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const FIGURES_FILE = process.env.CLAWGATE_FIGURES_FILE ?? join(__dirname, '..', '..', 'reliability-results', 'figures.jsonl');

export interface Figure {
	/** The part of the issue: "Forged input", "Redelivery", "Concurrency", "Restarts", "Faults", "Secrets", "Queue mode". */
	area: string;
	/** What was measured, e.g. "Telegram webhook: 1,000 forged requests → executions started". */
	measure: string;
	/** The measured value as shown, e.g. "0" or "498/500". */
	value: string;
	/** The bar it must meet, e.g. "0", or "reported" for a figure without a bar. */
	bar: string;
	/** Whether the bar holds (a figure with no bar passes). */
	ok: boolean;
}

export function recordFigure(figure: Figure): void {
	mkdirSync(dirname(FIGURES_FILE), { recursive: true });
	appendFileSync(FIGURES_FILE, `${JSON.stringify(figure)}\n`);
}
