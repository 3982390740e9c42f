/**
 * Fitting a conversation into a model's context window (DESIGN.md "AI Session node", point 4
 * "Context"). Pure functions over token counts; the counts come from `tokens.ts`.
 */
import type { TokenCounter } from './tokens';

export interface ContextBudgetInput {
	/** Named in the error, so the user knows which model's window is too small. */
	model?: string;
	contextWindow: number;
	maxOutputTokens: number;
	/** The system prompt as a message, plus the reply priming. */
	systemTokens: number;
	/** Kept free for counting differences between our tokenizer and the provider's. */
	safetyMargin: number;
	/**
	 * Provider tokens per counted token (`token-calibration.ts`), 1 when the counts are the model's
	 * own: the room the provider gives is divided by it before counted tokens are spent.
	 */
	tokenScale?: number;
}

/** Tokens left for the conversation (summary, history and the new message). */
export function contextBudget({ model, contextWindow, maxOutputTokens, systemTokens, safetyMargin, tokenScale = 1 }: ContextBudgetInput): number {
	const parts: Array<[string, number]> = [
		['Context Window', contextWindow],
		['Max Output Tokens', maxOutputTokens],
		['the system prompt token count', systemTokens],
		['Safety Margin', safetyMargin],
	];
	for (const [label, value] of parts) {
		if (!Number.isFinite(value) || value < 0) throw new Error(`${label} must be a number of tokens, 0 or more (got ${value}).`);
	}
	if (!Number.isFinite(tokenScale) || tokenScale <= 0) throw new Error(`The token scale must be a number above 0 (got ${tokenScale}).`);
	const budget = Math.floor((contextWindow - maxOutputTokens - safetyMargin) / tokenScale) - systemTokens;
	if (budget <= 0) {
		const margin = safetyMargin > 0 ? `, the answer budget (${maxOutputTokens}) and the safety margin (${safetyMargin})` : ` and the answer budget (${maxOutputTokens})`;
		throw new Error(
			`The system prompt (${systemTokens} tokens)${margin} leave no room for the conversation in ${model ? `${model}'s` : "the model's"} context window of ${contextWindow} tokens. Shorten the system prompt or lower Max Output Tokens.`,
		);
	}
	return budget;
}

/**
 * `text` cut to at most `maxTokens` (counted with `counter`), keeping its head and tail with a
 * marker between that says how much was cut. Text that already fits comes back unchanged.
 *
 * Works on characters, measuring candidate cuts with `counter.countText`, so any counter works.
 * After one count of the whole text, a handful of measures of pieces about the result's size:
 * a 1 MB message costs about twice its own count, never a count per character.
 */
export function truncateMiddle(text: string, maxTokens: number, counter: Pick<TokenCounter, 'countText'>): string {
	const limit = Math.floor(maxTokens);
	if (limit <= 0) return '';
	const total = counter.countText(text);
	if (total <= limit) return text;

	const density = total / text.length;
	const headThatFits = (tokens: number) => {
		const fit = longestFit(text.length, tokens, density, (length) => counter.countText(headOf(text, length)));
		return { head: headOf(text, fit.length), headTokens: fit.tokens };
	};
	// The marker is sized for the largest number it can show, so the real one never needs more.
	let available = limit - counter.countText(cutMarker(total));
	for (let attempt = 0; attempt < 8 && available > 1; attempt++) {
		const { head, headTokens } = headThatFits(Math.ceil(available / 2));
		// The tail gets what the head left over; it never overlaps the head.
		const tailFit = longestFit(text.length - head.length, available - headTokens, density, (length) => counter.countText(tailOf(text, length)));
		const tail = tailOf(text, tailFit.length);
		const result = head + cutMarker(Math.max(total - headTokens - tailFit.tokens, 1)) + tail;
		// Tokens can merge or split differently where the pieces meet; then try again a little smaller.
		const over = counter.countText(result) - limit;
		if (over <= 0) return result;
		available -= over;
	}
	// Too small a limit to say what was cut: keep what fits of the head.
	return headThatFits(limit).head;
}

/**
 * `text` cut to at most `maxCharacters` UTF-16 units, keeping its head and tail with a marker between
 * that says how many characters were cut; text that fits comes back unchanged. Linear in the text,
 * so it can run on megabytes before anything is counted (token counting costs far more per character).
 */
export function truncateMiddleToCharacters(text: string, maxCharacters: number): string {
	const limit = Math.floor(maxCharacters);
	if (text.length <= limit) return text;
	if (limit <= 0) return '';
	// The marker is sized for the largest number it can show, so the real one never needs more room.
	const room = limit - characterCutMarker(text.length).length;
	if (room < 2) return headOf(text, limit);
	const head = headOf(text, Math.ceil(room / 2));
	const tail = tailOf(text, room - head.length);
	return head + characterCutMarker(text.length - head.length - tail.length) + tail;
}

function characterCutMarker(characters: number): string {
	return `\n\n[… ${characters} characters cut …]\n\n`;
}

function cutMarker(tokens: number): string {
	return `\n\n[… ${tokens} tokens cut …]\n\n`;
}

function isHighSurrogate(code: number): boolean {
	return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
	return code >= 0xdc00 && code <= 0xdfff;
}

/** The first `length` UTF-16 units, one shorter if that would end between the halves of an emoji. */
function headOf(text: string, length: number): string {
	const end = length > 0 && isHighSurrogate(text.charCodeAt(length - 1)) && isLowSurrogate(text.charCodeAt(length)) ? length - 1 : length;
	return text.slice(0, end);
}

/** The last `length` UTF-16 units, one shorter if that would start between the halves of an emoji. */
function tailOf(text: string, length: number): string {
	if (length <= 0) return '';
	const start = text.length - length;
	const adjusted = isLowSurrogate(text.charCodeAt(start)) && isHighSurrogate(text.charCodeAt(start - 1)) ? start + 1 : start;
	return text.slice(adjusted);
}

/**
 * The largest length in [0, maxLength] whose measured tokens are ≤ limit, near enough: the search
 * stops within 1 % of the limit. Measures are assumed to grow with length (true of BPE up to a token
 * or two; every accepted length has been measured, so the limit always holds). Interpolating from
 * the density measured so far finds it in a few measures near the answer's size; once the answer
 * is bracketed, a bisection step follows any interpolation that did not halve the bracket.
 */
function longestFit(maxLength: number, limit: number, density: number, measure: (length: number) => number): { length: number; tokens: number } {
	let low = 0;
	let lowTokens = 0;
	if (limit <= 0 || maxLength <= 0) return { length: low, tokens: lowTokens };
	const slack = Math.floor(limit / 100);
	const target = limit - slack / 2;
	let high = maxLength + 1;
	let highTokens = Number.NaN;
	let bisect = false;
	while (high - low > 1 && limit - lowTokens > slack) {
		const bracketed = !Number.isNaN(highTokens);
		const rate = bracketed ? (highTokens - lowTokens) / (high - low) : lowTokens > 0 ? lowTokens / low : density;
		const step = rate > 0 ? Math.max(Math.round((target - lowTokens) / rate), 1) : high - low;
		const guess = bisect ? low + Math.floor((high - low) / 2) : Math.min(low + step, high - 1);
		const tokens = measure(guess);
		const previousWidth = high - low;
		if (tokens <= limit) {
			low = guess;
			lowTokens = tokens;
		} else {
			high = guess;
			highTokens = tokens;
		}
		bisect = !bisect && !Number.isNaN(highTokens) && high - low > previousWidth / 2;
	}
	return { length: low, tokens: lowTokens };
}

/**
 * The newest turns whose tokens sum to at most `budget`, oldest first, starting with a user turn.
 * A leading assistant turn is dropped: some providers reject a conversation that starts with an
 * assistant message, and an answer without its question misleads the model.
 */
export function fitTurnsToBudget<T extends { role: string; tokens: number }>(turns: readonly T[], budget: number): T[] {
	let start = turns.length;
	let used = 0;
	while (start > 0 && used + turns[start - 1].tokens <= budget) used += turns[--start].tokens;
	while (start < turns.length && turns[start].role === 'assistant') start++;
	return turns.slice(start);
}
