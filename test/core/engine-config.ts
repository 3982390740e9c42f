import type { SessionEngineConfig } from '../../nodes/core/session/engine';

/** The session engine settings the core tests start from: small budgets, no limits, no compaction, no retries. */
export const testEngineConfig: SessionEngineConfig = {
	models: ['gpt-4o-mini'],
	systemPrompt: 'You are terse.',
	maxOutputTokens: 256,
	safetyMargin: 64,
	commands: { new: true, reset: true, usage: true, help: true },
	limits: { messagesPerMinute: 0, tokensPerDay: 0, limitReply: 'Slow down.' },
	compaction: { enabled: false, thresholdTokens: 6000, keepRecentTokens: 2000 },
	retries: 0,
	timeoutMs: 5000,
	lock: { waitMs: 5000, leaseMs: 30_000 },
};
