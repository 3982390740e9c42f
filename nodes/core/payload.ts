/**
 * Readers for fields of inbound platform payloads, which are untrusted JSON or form data: a field
 * of the wrong type reads as absent, so a normaliser either builds a well-formed envelope or
 * throws InvalidPayloadError, never a TypeError from deep inside (the reliability suite fuzzes this).
 */

export function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value when it is an object, else null. */
export function recordOrNull(value: unknown): Record<string, unknown> | null {
	return isRecord(value) ? value : null;
}

/** The value when it is a string, else `fallback`. */
export function stringOr<T>(value: unknown, fallback: T): string | T {
	return typeof value === 'string' ? value : fallback;
}

/** The value when it is a non-empty string, else null. */
export function nonEmptyStringOrNull(value: unknown): string | null {
	return typeof value === 'string' && value !== '' ? value : null;
}

/** An identifier as the envelope holds it: a non-empty string, or a whole number written out (Telegram IDs are numbers). */
export function idOrNull(value: unknown): string | null {
	if (typeof value === 'string') return value === '' ? null : value;
	if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
	return null;
}

/** The value when it is a finite number, else null. */
export function finiteNumberOrNull(value: unknown): number | null {
	return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** The value when it is an array, else an empty one. */
export function listOf(value: unknown): unknown[] {
	return Array.isArray(value) ? value : [];
}

/** Milliseconds since the epoch as ISO 8601 UTC, or null when they are no date a Date can hold. */
export function isoTimestampOrNull(milliseconds: number): string | null {
	const date = new Date(milliseconds);
	return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
