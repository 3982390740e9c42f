/**
 * Budgets for any tokenizer (DESIGN.md "AI Session node", point 4). tiktoken counts are exact for
 * OpenAI's models; Claude, Gemini, Llama or Mistral split the same text into more (or fewer)
 * tokens. Each provider reports how many prompt tokens it saw, so a session keeps, per model, how
 * many provider tokens one counted token turned out to be, and the budget divides the window by it.
 */
import type { TokenCalibration } from './session/store';

/**
 * The scale for a model not calibrated yet whose tokenizer is not the counter's. On top of the
 * counter's own margin for such models (+20 %) it covers tokenizers up to 1.5× tiktoken, so the
 * first prompt of a session fits too; one answer later the measured scale takes over.
 */
export const UNCALIBRATED_SCALE = 1.25;
/** Prompts shorter than this say more about the provider's framing than about its tokenizer. */
export const MIN_CALIBRATION_TOKENS = 32;
/** A lower measure moves the scale this share of the way down; a higher one is taken at once. */
const DOWNWARD_STEP = 0.2;
const MIN_SCALE = 0.25;
const MAX_SCALE = 8;

/**
 * The scale a prompt must fit under: the largest of the models' (the same prompt goes to each
 * fallback). `countsExactly(model)` says whether the counter's tokenizer is the model's own.
 */
export function budgetScale(models: string[], calibration: TokenCalibration, countsExactly: (model: string) => boolean): number {
	return Math.max(1e-9, ...models.map((model) => (countsExactly(model) ? 1 : (scaleOf(calibration, model) ?? UNCALIBRATED_SCALE))));
}

/**
 * The calibration after `model` answered a prompt of `countedTokens` (our count) for which the
 * provider reported `reportedTokens`; null when nothing changes (exactly counted model, no usage
 * reported, a prompt too short to say). A higher ratio counts at once, a lower one only gradually:
 * an overfull prompt is refused by the provider, a slightly short one costs a little history.
 */
export function calibrate(
	calibration: TokenCalibration,
	model: string,
	reportedTokens: number,
	countedTokens: number,
	countsExactly: (model: string) => boolean,
): TokenCalibration | null {
	if (countsExactly(model) || !(reportedTokens > 0) || countedTokens < MIN_CALIBRATION_TOKENS) return null;
	const measured = Math.min(Math.max(reportedTokens / countedTokens, MIN_SCALE), MAX_SCALE);
	const previous = scaleOf(calibration, model);
	const next = previous === undefined || measured >= previous ? measured : previous - (previous - measured) * DOWNWARD_STEP;
	const rounded = Math.ceil(next * 10_000) / 10_000;
	if (previous !== undefined && Math.abs(rounded - previous) < 1e-4) return null;
	return { ...calibration, [model]: rounded };
}

/** Own keys only: a model named "constructor" must not find Object.prototype's member. */
function scaleOf(calibration: TokenCalibration, model: string): number | undefined {
	return Object.hasOwn(calibration, model) ? calibration[model] : undefined;
}

/** A stored calibration (JSON), or an empty one when there is none or it is not one. */
export function parseCalibration(stored: string | null | undefined): TokenCalibration {
	if (!stored) return {};
	try {
		const parsed = JSON.parse(stored) as unknown;
		if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
		return Object.fromEntries(Object.entries(parsed).filter(([, scale]) => typeof scale === 'number' && Number.isFinite(scale) && scale > 0));
	} catch {
		return {};
	}
}
