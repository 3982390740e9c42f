/** The UTC days a report covers. */
const DAY_MS = 86_400_000;

/** The last `days` UTC days up to and including today's. */
export function lastDays(days: number, now: number): { fromDay: string; toDay: string } {
	const count = Math.max(1, Math.min(400, Math.floor(days)));
	return { fromDay: dayOf(now - (count - 1) * DAY_MS), toDay: dayOf(now) };
}

export function dayOf(at: number): string {
	return new Date(at).toISOString().slice(0, 10);
}

/** The UTC days from one to the other, inclusive (at most 400). */
export function daysFrom(fromDay: string, toDay: string): string[] {
	const days: string[] = [];
	for (let at = Date.parse(`${fromDay}T00:00:00Z`); at <= Date.parse(`${toDay}T00:00:00Z`) && days.length < 400; at += DAY_MS) days.push(dayOf(at));
	return days;
}
