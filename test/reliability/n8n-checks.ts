/**
 * Checks on a real n8n after a reliability run: no secret in any saved execution or in n8n's log,
 * and no stack trace in the log.
 */
import type { N8nInstance } from '../e2e/harness';

interface ExecutionSummary {
	id: string;
	workflowId: string;
	status: string;
	mode: string;
}

// n8n 2.40 serves at most 100 executions a page, and pages by `lastId` in ID order only when the
// query names statuses (without them it sorts by start time, which `lastId` does not follow).
const PAGE_SIZE = 100;
const EVERY_STATUS = JSON.stringify({ status: ['canceled', 'crashed', 'error', 'new', 'running', 'success', 'unknown', 'waiting'] });

/** Every execution n8n saved, newest first. */
export async function allExecutions(n8n: N8nInstance): Promise<ExecutionSummary[]> {
	const all: ExecutionSummary[] = [];
	let lastId: string | null = null;
	for (;;) {
		const query: URLSearchParams = new URLSearchParams({ limit: String(PAGE_SIZE), filter: EVERY_STATUS, ...(lastId ? { lastId } : {}) });
		const page: { data: { results: ExecutionSummary[] } } = await n8n.api<{ data: { results: ExecutionSummary[] } }>(`/rest/executions?${query}`);
		const results: ExecutionSummary[] = page.data.results;
		all.push(...results);
		if (results.length < PAGE_SIZE) return all;
		lastId = results[results.length - 1].id;
	}
}

export interface SecretLeak {
	/** Where: "execution 12" or "n8n log". */
	where: string;
	/** Which secret (its name, never its value). */
	secret: string;
}

/**
 * Looks for each secret value in every saved execution's data and in n8n's log.
 * `secrets` maps a name ("Telegram bot token") to the value; values shorter than 8 characters are refused.
 */
export async function findSecretLeaks(n8n: N8nInstance, secrets: Record<string, string>): Promise<{ leaks: SecretLeak[]; executionsScanned: number }> {
	for (const [name, value] of Object.entries(secrets)) {
		if (value.length < 8) throw new Error(`The secret "${name}" is too short to search for reliably`);
	}
	const leaks: SecretLeak[] = [];
	const scan = (where: string, text: string) => {
		for (const [name, value] of Object.entries(secrets)) {
			// JSON escaping cannot change these values (no quotes or backslashes), so a plain search suffices.
			if (text.includes(value)) leaks.push({ where, secret: name });
		}
	};
	const executions = await allExecutions(n8n);
	for (const summary of executions) {
		const execution = await n8n.execution(summary.id);
		scan(`execution ${summary.id}`, JSON.stringify(execution));
	}
	scan('n8n log', n8n.log);
	return { leaks, executionsScanned: executions.length };
}

/** Lines of n8n's log that are part of a JavaScript stack trace ("    at fn (file.js:1:2)"). */
export function stackTraceLines(log: string): string[] {
	return log.split('\n').filter((line) => /^\s+at\s.+(:\d+:\d+\)?|\(native\)|<anonymous>\)?)\s*$/.test(line));
}
