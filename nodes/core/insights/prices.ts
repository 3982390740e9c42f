/**
 * Estimated cost: US dollars per million prompt and completion tokens. The built-in table holds
 * list prices of common models as published by their providers in 2025; they change, and
 * discounts (cached input, batch) are not known here, so the Insights node lets a user override
 * or add models ("Model Prices"). A model the table does not know costs nothing in the estimate
 * and is listed as unpriced.
 */
export interface ModelPrice {
	/** USD per 1,000,000 prompt (input) tokens. */
	input: number;
	/** USD per 1,000,000 completion (output) tokens. */
	output: number;
}

export const DEFAULT_MODEL_PRICES: Record<string, ModelPrice> = {
	'gpt-4o-mini': { input: 0.15, output: 0.6 },
	'gpt-4o': { input: 2.5, output: 10 },
	'gpt-4.1-nano': { input: 0.1, output: 0.4 },
	'gpt-4.1-mini': { input: 0.4, output: 1.6 },
	'gpt-4.1': { input: 2, output: 8 },
	'gpt-5-nano': { input: 0.05, output: 0.4 },
	'gpt-5-mini': { input: 0.25, output: 2 },
	'gpt-5': { input: 1.25, output: 10 },
	'o4-mini': { input: 1.1, output: 4.4 },
	'o3': { input: 2, output: 8 },
	'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
	'claude-3-5-haiku': { input: 0.8, output: 4 },
	'claude-3-5-sonnet': { input: 3, output: 15 },
	'claude-3-7-sonnet': { input: 3, output: 15 },
	'claude-sonnet-4': { input: 3, output: 15 },
	'claude-opus-4': { input: 15, output: 75 },
	'claude-haiku-4-5': { input: 1, output: 5 },
	'gemini-2.0-flash': { input: 0.1, output: 0.4 },
	'gemini-2.5-flash': { input: 0.3, output: 2.5 },
	'gemini-2.5-pro': { input: 1.25, output: 10 },
	'mistral-small': { input: 0.1, output: 0.3 },
	'mistral-large': { input: 2, output: 6 },
};

/**
 * The price of a model as the provider names it: an exact entry, else the longest entry the name
 * starts with (providers answer with dated names such as `gpt-4o-mini-2024-07-18`). Overrides win.
 */
export function priceOf(model: string, table: Record<string, ModelPrice>): ModelPrice | null {
	const name = model.trim().toLowerCase();
	if (!name) return null;
	let best: string | null = null;
	for (const entry of Object.keys(table)) {
		const key = entry.toLowerCase();
		if (name === key) return table[entry];
		if (name.startsWith(key) && /[-:@/.]/.test(name.charAt(key.length)) && (best === null || key.length > best.length)) best = entry;
	}
	return best === null ? null : table[best];
}

export function costOf(promptTokens: number, completionTokens: number, price: ModelPrice | null): number {
	if (!price) return 0;
	return (promptTokens * price.input + completionTokens * price.output) / 1_000_000;
}
