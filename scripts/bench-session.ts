/**
 * `npm run bench:session` (not part of the test suite). Checks two promises of DESIGN.md "AI
 * Session node", point 4: a message costs O(turns in the window), never O(whole history), on every
 * shared store; and counting tokens once per stored turn costs no more than tiktoken itself.
 *
 * a) Per-message time of the real path (SessionEngine → OpenAiChatModel → fetch → loopback
 *    OpenAI emulator) with 10 … 10,000 stored turns, for the SQLite, Redis and Postgres stores.
 * b) Token counting: createTokenCounter().countMessage against raw tiktoken on 10,000 messages.
 * c) Model path: a turn through a connected Chat Model (n8n's own LangChain ChatOpenAI, built as
 *    n8n's OpenAI Chat Model node builds it, from the cached n8n) against the OpenAI credential
 *    path, same emulator, same store; plus each client alone, to show whose cost a gap is.
 * d) Stream Preview: time to the first visible text with a draft and without, same model latency
 *    (scripts/bench-stream-preview.ts).
 *
 * Prints the method and Markdown tables, and writes bench-results/session.json. Needs Redis on
 * 127.0.0.1:6379 and Postgres on 127.0.0.1:5432 (BENCH_REDIS_URL / BENCH_PG_* to change). All data
 * lives under names unique to this run and is deleted at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { get_encoding } from 'tiktoken';

import OpenAI from 'openai';

import { OpenAiChatModel } from '../nodes/core/session/openai.model';
import { LangChainChatModel, nameConnectedChatModels, type LangChainChatModelLike } from '../nodes/core/session/langchain.model';
import { contextBudget } from '../nodes/core/budget';
import { SessionEngine, type InboundMessage, type SessionEngineConfig } from '../nodes/core/session/engine';
import type { ChatModel } from '../nodes/core/session/model';
import type { LockOptions, NewTurn, SessionStore, TurnRole } from '../nodes/core/session/store';
import { PostgresSessionStore } from '../nodes/core/stores/postgres.store';
import { RedisSessionStore } from '../nodes/core/stores/redis.store';
import { SqliteSessionStore } from '../nodes/core/stores/sqlite.store';
import { createTokenCounter } from '../nodes/core/tokens';
import { OpenAiEmulator } from '../test/emulators/openai';
import { benchStreamPreview } from './bench-stream-preview';
import { seededRandom } from '../test/fixtures/seeded-random';

const { writeDocsSection } = require('./docs-section.js');
const { n8nCacheDir } = require('./n8n-install.js');
/** Which parts run: BENCH_SECTIONS=stores,tokens,models,preview (all by default). */
const SECTIONS = new Set((process.env.BENCH_SECTIONS ?? 'stores,tokens,models,preview').split(',').map((section) => section.trim()));
const SIZES = [10, 100, 1_000, 10_000];
const WARMUP_MESSAGES = 5;
/** Rounds × messages per round = samples per (store, size); rounds visit every session in turn. */
const ROUNDS = numberFromEnv('BENCH_ROUNDS', 8);
const MESSAGES_PER_ROUND = numberFromEnv('BENCH_MESSAGES_PER_ROUND', 8);
const RATIO_TARGET = 1.2;

const MODEL = 'gpt-4o-mini';
const CONTEXT_WINDOW = 4_096;
const MAX_OUTPUT_TOKENS = 256;
const SAFETY_MARGIN = 64;
const SYSTEM_PROMPT = 'You are Clawgate, a helpful assistant in a chat app. Answer briefly and stay friendly.';
/** The emulator's fixed answer: short, so the measured time is ours and not the reply's. */
const REPLY_TEXT = 'Sure, here is a short answer.';
/** Seeded turns are about this large, so that even 10 of them overfill the window. */
const SEEDED_TURN_TOKENS = 400;
const SEED_TEXTS = 32;
const SEED_BATCH = 500;

const TOKEN_MESSAGES = 10_000;
const TOKEN_WORDS = 200;
const TOKEN_ROUNDS = numberFromEnv('BENCH_TOKEN_ROUNDS', 7);
const TOKEN_RATIO_TARGET = 1.1;

/** c) Model path: stored turns in each session (the window is full at every size, section a). */
const MODEL_PATH_TURNS = 100;
const MODEL_PATH_ROUNDS = numberFromEnv('BENCH_MODEL_PATH_ROUNDS', 10);
const MODEL_PATH_MESSAGES = numberFromEnv('BENCH_MODEL_PATH_MESSAGES', 10);
const MODEL_PATH_RATIO_TARGET = 1.2;

const runId = randomBytes(4).toString('hex');
const counter = createTokenCounter(MODEL);
let interrupted = false;

function numberFromEnv(name: string, fallback: number): number {
	const value = Number(process.env[name]);
	return Number.isInteger(value) && value > 0 ? value : fallback;
}

function progress(line: string): void {
	process.stderr.write(`[bench] ${line}\n`);
}

function elapsedMs(start: bigint): number {
	return Number(process.hrtime.bigint() - start) / 1e6;
}

function checkInterrupted(): void {
	if (interrupted) throw new Error('Interrupted; cleaning up.');
}

// ---------------------------------------------------------------------------------------------
// Deterministic text


const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)];

const WORDS: Record<string, string[]> = {
	en: 'the of and to in is that for it with as was on be at by this have from or one had not but what all were when we there can an your which their said if do will each about how up out them then she many some so these would other into has more her two like him see time could no make than first been its who now people my made over did down only way find use may water long little very after words called just where most know get through back much go good new write our me man too any day same right look think also around another came come work three word must because does part even place well such here take why things help put years different away again off went old number great tell men say small every found still between name should home big give air line set own under read last never us left end along while might next sound below saw something thought both few those always looked show large often together asked house world going want school important until form food keep children feet land side without boy once animals life enough took sometimes four head above kind began almost live page got earth need far hand high year mother light parts country father let night following picture being study second eyes soon times story boys since white days ever paper hard near sentence better best across during today others however sure means knew its try told young miles sun ways thing whole hear example heard several change answer room sea against top turned learn point city play toward five using himself usually'.split(' '),
	de: 'über Straße Mädchen schön Geschwindigkeitsbegrenzung und der die das nicht heute morgen Frühstück Brötchen Käse Bahnhof Fahrkarte Verspätung gemütlich Wochenende Zusammenarbeit Rechnung bezahlen Hauptstadt größer fünf grün'.split(' '),
	fr: 'être déjà français où garçon très beaucoup aujourd’hui demain boulangerie croissant rendez-vous l’hôpital événement château naïve façade élève fenêtre goût coût œuvre Noël'.split(' '),
	es: 'niño año mañana corazón señor pequeño también canción ciudad jamón pingüino árbol café había música teléfono después rápido'.split(' '),
	ru: 'привет спасибо хорошо сегодня язык погода работа вопрос ответ книга город машина здравствуйте пожалуйста завтра'.split(' '),
	ja: 'こんにちは ありがとう 日本語 東京 天気 今日は 明日 会議 電車 ラーメン 勉強しています よろしくお願いします 大丈夫 すみません'.split(' '),
	zh: '你好 谢谢 中文 今天 学习 明天 工作 朋友 北京 天气很好 没问题 我们一起 吃饭了吗 电脑'.split(' '),
	ar: 'مرحبا شكرا اليوم كتاب مدينة سؤال جواب صباح الخير مع السلامة قهوة'.split(' '),
	hi: 'नमस्ते धन्यवाद भाषा आज कल किताब शहर सवाल जवाब पानी खाना'.split(' '),
};
const EMOJI = ['😀', '🚀', '👍🏽', '❤️', '🇩🇪', '👩‍💻', '🎉', '🙏', '😂', '🤖', '☕', '🌍'];
const LANGUAGES = ['en', 'en', 'en', 'en', 'en', 'de', 'fr', 'es', 'ru', 'ja', 'zh', 'ar', 'hi'];

/** About `wordCount` words: mostly one language, some English, numbers and emoji mixed in. */
function mixedText(random: () => number, wordCount: number, language = pick(random, LANGUAGES)): string {
	const words: string[] = [];
	for (let i = 0; i < wordCount; i++) {
		const roll = random();
		let word = roll < 0.85 ? pick(random, WORDS[language]) : roll < 0.95 ? pick(random, WORDS.en) : roll < 0.98 ? pick(random, EMOJI) : String(Math.floor(random() * 100_000));
		if (random() < 0.08) word += pick(random, ['.', ',', '!', '?', ':']);
		words.push(word);
	}
	return words.join(' ');
}

/** English prose of about `tokens` tokens (as a message), so the window fills the same way every run. */
function proseOfTokens(random: () => number, tokens: number): string {
	const words = mixedText(random, tokens * 2, 'en').split(' ');
	let text = words.join(' ');
	// Two corrections by proportion land within a few tokens of the target.
	for (let attempt = 0; attempt < 2; attempt++) {
		const measured = counter.countMessage({ role: 'user', content: text });
		const keep = Math.max(1, Math.round((text.split(' ').length * tokens) / measured));
		text = words.slice(0, Math.min(keep, words.length)).join(' ');
	}
	return text;
}

// ---------------------------------------------------------------------------------------------
// Seeding: turns are counted once per distinct (role, text), as the store keeps counts beside turns

interface SeedText {
	content: string;
	tokens: Record<TurnRole, number>;
}

function makeSeedTexts(): SeedText[] {
	const random = seededRandom(42);
	return Array.from({ length: SEED_TEXTS }, () => {
		const content = proseOfTokens(random, SEEDED_TURN_TOKENS);
		return {
			content,
			tokens: { user: counter.countMessage({ role: 'user', content }), assistant: counter.countMessage({ role: 'assistant', content }) },
		};
	});
}

/**
 * The turn `fromEnd` places before the end of the seeded history (0 = the newest, an assistant
 * turn). Every size ends in the same turns, so every size sends the model the same window.
 */
function seededTurn(texts: SeedText[], fromEnd: number): NewTurn {
	const text = texts[fromEnd % texts.length];
	const role: TurnRole = fromEnd % 2 === 0 ? 'assistant' : 'user';
	return { role, content: text.content, tokens: text.tokens[role] };
}

async function seedHistory(store: SessionStore, sessionId: string, size: number, texts: SeedText[]): Promise<void> {
	for (let start = 0; start < size; start += SEED_BATCH) {
		checkInterrupted();
		const turns: NewTurn[] = [];
		for (let index = start; index < Math.min(size, start + SEED_BATCH); index++) turns.push(seededTurn(texts, size - 1 - index));
		await store.appendTurns(sessionId, turns);
	}
}

// ---------------------------------------------------------------------------------------------
// Stores, each under names of its own, and how to remove every trace of them

interface BenchStore {
	name: string;
	store: SessionStore;
	/** Runs once the store is seeded (e.g. statistics, as autovacuum would gather them). */
	afterSeeding(): Promise<void>;
	/** Closes the store and deletes everything this run wrote. */
	cleanUp(): Promise<void>;
}

function openSqlite(): BenchStore {
	const directory = mkdtempSync(path.join(os.tmpdir(), `clawgate-bench-${runId}-`));
	const store = new SqliteSessionStore({ filename: path.join(directory, 'sessions.sqlite') });
	return {
		name: 'SQLite',
		store,
		afterSeeding: async () => undefined,
		cleanUp: async () => {
			await store.close();
			rmSync(directory, { recursive: true, force: true });
		},
	};
}

function openRedis(): BenchStore {
	const client = new Redis(process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
	const keyPrefix = `clawgate-bench:${runId}:`;
	const store = new RedisSessionStore({ client, keyPrefix });
	return {
		name: 'Redis',
		store,
		afterSeeding: async () => undefined,
		cleanUp: async () => {
			await store.close();
			try {
				let cursor = '0';
				do {
					const [next, keys] = await client.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
					if (keys.length > 0) await client.unlink(...keys);
					cursor = next;
				} while (cursor !== '0');
			} finally {
				await client.quit().catch(() => client.disconnect());
			}
		},
	};
}

function openPostgres(): BenchStore {
	const pool = new Pool({
		host: process.env.BENCH_PG_HOST ?? '127.0.0.1',
		port: Number(process.env.BENCH_PG_PORT ?? 5432),
		database: process.env.BENCH_PG_DATABASE ?? 'test',
		user: process.env.BENCH_PG_USER ?? 'postgres',
		password: process.env.BENCH_PG_PASSWORD,
	});
	pool.on('error', () => undefined);
	const tablePrefix = `clawgate_bench_${runId}_`;
	const store = new PostgresSessionStore({ pool, tablePrefix });
	// Every table of this run, whatever the store named them: they all start with the prefix.
	const benchTables = async () =>
		(
			await pool.query<{ name: string }>(
				`SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.tables
				 WHERE table_schema = current_schema() AND left(table_name, length($1)) = $1`,
				[tablePrefix],
			)
		).rows.map((row) => row.name);
	return {
		name: 'Postgres',
		store,
		afterSeeding: async () => {
			for (const table of await benchTables()) await pool.query(`ANALYZE ${table}`);
		},
		cleanUp: async () => {
			await store.close();
			try {
				const tables = await benchTables();
				if (tables.length > 0) await pool.query(`DROP TABLE IF EXISTS ${tables.join(', ')}`);
			} finally {
				await pool.end();
			}
		},
	};
}

// ---------------------------------------------------------------------------------------------
// Timing of one message, split into store calls, model call and the rest (the engine itself)

interface Parts {
	storeMs: number;
	modelMs: number;
}

async function timedInto<T>(parts: Parts, part: keyof Parts, call: () => Promise<T>): Promise<T> {
	const start = process.hrtime.bigint();
	try {
		return await call();
	} finally {
		parts[part] += elapsedMs(start);
	}
}

/** The store as the engine sees it, adding the time of every call (lock release included) to `parts`. */
function timedStore(store: SessionStore, parts: Parts): SessionStore {
	return new Proxy(store, {
		get(target, property) {
			const value: unknown = Reflect.get(target, property);
			if (typeof value !== 'function') return value;
			if (property === 'lock') {
				return async (sessionId: string, options: LockOptions) => {
					const lock = await timedInto(parts, 'storeMs', () => target.lock(sessionId, options));
					return { release: () => timedInto(parts, 'storeMs', () => lock.release()) };
				};
			}
			return (...args: unknown[]) => timedInto(parts, 'storeMs', () => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
		},
	});
}

function timedModel(model: ChatModel, parts: Parts): ChatModel {
	return { complete: (request) => timedInto(parts, 'modelMs', () => model.complete(request)) };
}

interface Sample {
	ms: number;
	storeMs: number;
	modelMs: number;
	promptTokens: number;
	historyTokens: number;
	promptMessages: number;
}

interface SessionUnderTest {
	bench: BenchStore;
	engine: SessionEngine;
	parts: Parts;
	size: number;
	sessionId: string;
	sent: number;
	samples: Sample[];
	seedMs: number;
}

function userMessage(index: number): string {
	// Short questions, the same sequence in every session, so every window stays identical.
	return `Question ${index}: ${mixedText(seededRandom(1_000 + index), 12, 'en')}?`;
}

async function sendMessage(session: SessionUnderTest, emulator: OpenAiEmulator): Promise<Sample> {
	const index = session.sent++;
	const message: InboundMessage = {
		sessionId: session.sessionId,
		text: userMessage(index),
		messageKey: `bench:${runId}:${session.bench.name}:${session.size}:${index}`,
		senderKey: null,
		command: null,
	};
	session.parts.storeMs = 0;
	session.parts.modelMs = 0;
	const start = process.hrtime.bigint();
	const outcome = await session.engine.handle(message);
	const ms = elapsedMs(start);
	if (outcome.kind !== 'reply') throw new Error(`${session.bench.name}, ${session.size} turns: the message was ignored (${outcome.reason}).`);
	const body = emulator.server.requests.at(-1)?.body as { messages?: unknown[] } | undefined;
	// The emulator records every request; dropping them keeps its memory (and GC) flat.
	emulator.server.requests.length = 0;
	return {
		ms,
		storeMs: session.parts.storeMs,
		modelMs: session.parts.modelMs,
		promptTokens: outcome.reply.usage.promptTokens,
		historyTokens: outcome.reply.session.historyTokens,
		promptMessages: body?.messages?.length ?? 0,
	};
}

// ---------------------------------------------------------------------------------------------
// Statistics

/** Nearest-rank percentile. */
function percentile(values: number[], p: number): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

const median = (values: number[]) => percentile(values, 50);
const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
const fixed = (value: number, digits = 2) => value.toFixed(digits);
const thousands = (value: number) => value.toLocaleString('en-US');

/** Rotates the order each round, so no store or size always runs first (or right after seeding). */
function rotated<T>(items: T[], by: number): T[] {
	const shift = by % items.length;
	return [...items.slice(shift), ...items.slice(0, shift)];
}

// ---------------------------------------------------------------------------------------------
// a) Per-message time

/** The engine settings every section measures with: the bench's model and budget, no limits, compaction or retries. */
function benchEngineConfig(): SessionEngineConfig {
	return {
		models: [MODEL],
		systemPrompt: SYSTEM_PROMPT,
		contextWindow: CONTEXT_WINDOW,
		maxOutputTokens: MAX_OUTPUT_TOKENS,
		safetyMargin: SAFETY_MARGIN,
		commands: { new: true, reset: true, usage: true, help: true },
		limits: { messagesPerMinute: 0, tokensPerDay: 0, limitReply: '' },
		compaction: { enabled: false, thresholdTokens: 0, keepRecentTokens: 0 },
		retries: 0,
		timeoutMs: 30_000,
		lock: { waitMs: 30_000, leaseMs: 30_000 },
	};
}

async function benchSessions() {
	const emulator = new OpenAiEmulator({ responder: () => REPLY_TEXT });
	await emulator.server.start();
	const replyTokens = counter.countText(REPLY_TEXT);
	const config = benchEngineConfig();
	const budget = contextBudget({
		contextWindow: CONTEXT_WINDOW,
		maxOutputTokens: MAX_OUTPUT_TOKENS,
		systemTokens: counter.countMessage({ role: 'system', content: SYSTEM_PROMPT }) + counter.replyPriming,
		safetyMargin: SAFETY_MARGIN,
	});
	const texts = makeSeedTexts();
	const seedTokens = texts.map((text) => text.tokens.user);

	const benches: BenchStore[] = [];
	const sessions: SessionUnderTest[] = [];
	try {
		benches.push(openSqlite(), openRedis(), openPostgres());
		for (const bench of benches) {
			const parts: Parts = { storeMs: 0, modelMs: 0 };
			const model = new OpenAiChatModel({ apiKey: emulator.apiKey, baseUrl: emulator.baseUrl, timeoutMs: 30_000 });
			const engine = new SessionEngine(timedStore(bench.store, parts), timedModel(model, parts), config);
			for (const size of SIZES) {
				const sessionId = `bench-${runId}:${size}`;
				const start = process.hrtime.bigint();
				await seedHistory(bench.store, sessionId, size, texts);
				const seedMs = elapsedMs(start);
				progress(`${bench.name}: seeded ${thousands(size)} turns in ${fixed(seedMs, 0)} ms`);
				sessions.push({ bench, engine, parts, size, sessionId, sent: 0, samples: [], seedMs });
			}
			await bench.afterSeeding();
		}

		for (const session of sessions) for (let i = 0; i < WARMUP_MESSAGES; i++) await sendMessage(session, emulator);
		progress(`warmed up (${WARMUP_MESSAGES} messages per session)`);

		for (let round = 0; round < ROUNDS; round++) {
			for (const bench of rotated(benches, round)) {
				for (const size of rotated(SIZES, round)) {
					checkInterrupted();
					const session = sessions.find((candidate) => candidate.bench === bench && candidate.size === size)!;
					for (let i = 0; i < MESSAGES_PER_ROUND; i++) session.samples.push(await sendMessage(session, emulator));
				}
			}
			progress(`round ${round + 1}/${ROUNDS} done`);
		}
	} finally {
		for (const bench of benches) {
			await bench.cleanUp().catch((error: Error) => progress(`${bench.name}: clean-up failed: ${error.message}`));
		}
		await emulator.server.stop();
		progress('stores cleaned up, emulator stopped');
	}

	const rows = sessions.map((session) => {
		const ms = session.samples.map((sample) => sample.ms);
		return {
			store: session.bench.name,
			seededTurns: session.size,
			turnsAtEnd: session.size + 2 * session.sent,
			seedMs: session.seedMs,
			samples: ms.length,
			p50Ms: median(ms),
			p95Ms: percentile(ms, 95),
			meanMs: mean(ms),
			storeP50Ms: median(session.samples.map((sample) => sample.storeMs)),
			modelP50Ms: median(session.samples.map((sample) => sample.modelMs)),
			engineP50Ms: median(session.samples.map((sample) => sample.ms - sample.storeMs - sample.modelMs)),
			promptTokensP50: median(session.samples.map((sample) => sample.promptTokens)),
			historyTokensP50: median(session.samples.map((sample) => sample.historyTokens)),
			promptMessagesP50: median(session.samples.map((sample) => sample.promptMessages)),
			rawMs: ms.map((value) => Number(fixed(value, 3))),
		};
	});
	const ratios = benches.map(({ name }) => {
		const p50 = (size: number) => rows.find((row) => row.store === name && row.seededTurns === size)!.p50Ms;
		const ratio = p50(SIZES[SIZES.length - 1]) / p50(SIZES[0]);
		return { store: name, smallP50Ms: p50(SIZES[0]), largeP50Ms: p50(SIZES[SIZES.length - 1]), ratio, met: ratio <= RATIO_TARGET };
	});
	return { rows, ratios, replyTokens, budget, seedTokens };
}

// ---------------------------------------------------------------------------------------------
// b) Token counting throughput

function tokenMessages(): string[] {
	const random = seededRandom(7);
	return Array.from({ length: TOKEN_MESSAGES }, () => mixedText(random, TOKEN_WORDS));
}

function benchTokenCounting() {
	const messages = tokenMessages();
	const encoder = get_encoding('o200k_base');
	const ours = createTokenCounter(MODEL);
	const variants: Array<{ name: string; count: (content: string) => number }> = [
		{ name: "createTokenCounter('gpt-4o-mini').countMessage", count: (content) => ours.countMessage({ role: 'user', content }) },
		{ name: "tiktoken get_encoding('o200k_base').encode", count: (content) => encoder.encode(content).length },
		{ name: "tiktoken get_encoding('o200k_base').encode_ordinary", count: (content) => encoder.encode_ordinary(content).length },
	];
	const timings = new Map(variants.map((variant) => [variant.name, [] as number[]]));
	const totals = new Map<string, number>();
	const pass = (variant: (typeof variants)[number]) => {
		let total = 0;
		const start = process.hrtime.bigint();
		for (const content of messages) total += variant.count(content);
		const ms = elapsedMs(start);
		totals.set(variant.name, total);
		return ms;
	};
	try {
		for (const variant of variants) pass(variant); // warm-up: JIT, WebAssembly, role cache
		for (let round = 0; round < TOKEN_ROUNDS; round++) {
			checkInterrupted();
			for (const variant of rotated(variants, round)) timings.get(variant.name)!.push(pass(variant));
			progress(`token counting round ${round + 1}/${TOKEN_ROUNDS} done`);
		}
	} finally {
		encoder.free();
	}
	// Same tokens, or the comparison means nothing: ours adds only the message framing.
	const [oursTotal, encodeTotal, ordinaryTotal] = variants.map((variant) => totals.get(variant.name)!);
	const framing = TOKEN_MESSAGES * (ours.countMessage({ role: 'user', content: '' }));
	if (oursTotal - framing !== ordinaryTotal || encodeTotal !== ordinaryTotal) {
		throw new Error(`Token totals disagree: ours ${oursTotal} (framing ${framing}), encode ${encodeTotal}, encode_ordinary ${ordinaryTotal}.`);
	}
	const medians = variants.map((variant) => median(timings.get(variant.name)!));
	const characters = messages.reduce((sum, message) => sum + message.length, 0);
	return {
		messages: TOKEN_MESSAGES,
		averageCharacters: characters / TOKEN_MESSAGES,
		averageTokens: ordinaryTotal / TOKEN_MESSAGES,
		rows: variants.map((variant, index) => ({
			counter: variant.name,
			medianMs: medians[index],
			microsecondsPerMessage: (medians[index] * 1000) / TOKEN_MESSAGES,
			ratioToEncode: medians[index] / medians[1],
			ratioToEncodeOrdinary: medians[index] / medians[2],
			rawMs: timings.get(variant.name)!.map((value) => Number(fixed(value, 3))),
		})),
		ratio: medians[0] / medians[1],
		met: medians[0] / medians[1] <= TOKEN_RATIO_TARGET,
	};
}


// ---------------------------------------------------------------------------------------------
// c) Model path: OpenAI credential vs a connected Chat Model

interface N8nLangChain {
	version: string;
	/** A ChatOpenAI with the fields n8n's OpenAI Chat Model node (v1.3, Chat Completions) gives it, wrapped as that node wraps it. */
	chatOpenAi(apiKey: string, baseUrl: string): LangChainChatModelLike;
}

/** LangChain as n8n ships it, from the cached n8n (`npm run n8n:install`); null when it is not there. */
function loadN8nLangChain(): N8nLangChain | null {
	const modules = path.join(n8nCacheDir(), 'node_modules');
	try {
		const fromN8n = (request: string) => require(require.resolve(request, { paths: [modules] }));
		const { ChatOpenAI } = fromN8n('@langchain/openai');
		// A file of the package, not one of its exports: required by path.
		const { wrapChatModelMessageInput } = require(path.join(modules, '@n8n', 'n8n-nodes-langchain', 'dist', 'utils', 'chatModelMessageWrapper.js'));
		const version = (fromN8n('@langchain/openai/package.json') as { version: string }).version;
		return {
			version,
			chatOpenAi: (apiKey, baseUrl) =>
				wrapChatModelMessageInput(
					new ChatOpenAI({ apiKey, model: MODEL, timeout: 60_000, maxRetries: 2, configuration: { baseURL: baseUrl }, modelKwargs: {}, supportsStrictToolCalling: false }),
				),
		};
	} catch (error) {
		progress(`model path skipped: LangChain from n8n not found under ${modules} (${(error as Error).message.split('\n')[0]}); run npm run n8n:install`);
		return null;
	}
}

interface ModelPathVariant {
	name: string;
	/** One turn (or one bare call); resolves with the time spent inside the ChatModel, when there is one. */
	run(index: number): Promise<{ ms: number; modelMs: number | null }>;
}

async function benchModelPaths() {
	const langChain = loadN8nLangChain();
	if (!langChain) return null;
	const emulator = new OpenAiEmulator({ responder: () => REPLY_TEXT });
	await emulator.server.start();
	const bench = openSqlite();
	const texts = makeSeedTexts();
	const config = benchEngineConfig();
	const prompt = [
		{ role: 'system' as const, content: SYSTEM_PROMPT },
		{ role: 'user' as const, content: userMessage(0) },
	];
	try {
		const engineVariant = async (name: string, model: ChatModel): Promise<ModelPathVariant> => {
			const sessionId = `bench-${runId}:model-path:${name}`;
			await seedHistory(bench.store, sessionId, MODEL_PATH_TURNS, texts);
			const parts: Parts = { storeMs: 0, modelMs: 0 };
			const engine = new SessionEngine(bench.store, timedModel(model, parts), config);
			return {
				name,
				run: async (index) => {
					parts.modelMs = 0;
					const start = process.hrtime.bigint();
					const outcome = await engine.handle({ sessionId, text: userMessage(index), messageKey: `${sessionId}:${index}`, senderKey: null, command: null });
					const ms = elapsedMs(start);
					if (outcome.kind !== 'reply' || outcome.reply.text !== REPLY_TEXT) throw new Error(`${name}: no answer from the emulator.`);
					return { ms, modelMs: parts.modelMs };
				},
			};
		};
		const sdk = new OpenAI({ apiKey: emulator.apiKey, baseURL: emulator.baseUrl, maxRetries: 0 });
		const bareModel = new OpenAiChatModel({ apiKey: emulator.apiKey, baseUrl: emulator.baseUrl, timeoutMs: 30_000 });
		const bareLangChain = langChain.chatOpenAi(emulator.apiKey, emulator.baseUrl);
		const bare = (name: string, call: () => Promise<unknown>): ModelPathVariant => ({
			name,
			run: async () => {
				const start = process.hrtime.bigint();
				await call();
				return { ms: elapsedMs(start), modelMs: null };
			},
		});
		const variants: ModelPathVariant[] = [
			await engineVariant('OpenAI credential (OpenAiChatModel → fetch)', new OpenAiChatModel({ apiKey: emulator.apiKey, baseUrl: emulator.baseUrl, timeoutMs: 30_000 })),
			await engineVariant(
				`Connected Chat Model (LangChainChatModel → n8n's ChatOpenAI, @langchain/openai ${langChain.version})`,
				new LangChainChatModel(nameConnectedChatModels([langChain.chatOpenAi(emulator.apiKey, emulator.baseUrl)])),
			),
			bare('OpenAiChatModel.complete alone (plain fetch, no engine)', () => bareModel.complete({ model: MODEL, messages: prompt, maxOutputTokens: MAX_OUTPUT_TOKENS })),
			// What AI Session called until December 2026, for comparison.
			bare('openai SDK chat.completions.create alone (no engine)', () => sdk.chat.completions.create({ model: MODEL, messages: prompt, max_tokens: MAX_OUTPUT_TOKENS })),
			bare("n8n's ChatOpenAI invoke alone (no engine)", () => bareLangChain.invoke(prompt)),
		];
		const samples = new Map(variants.map((variant) => [variant.name, [] as Array<{ ms: number; modelMs: number | null }>]));
		let sent = 0;
		for (const variant of variants) for (let i = 0; i < WARMUP_MESSAGES; i++) await variant.run(sent++);
		for (let round = 0; round < MODEL_PATH_ROUNDS; round++) {
			for (const variant of rotated(variants, round)) {
				checkInterrupted();
				for (let i = 0; i < MODEL_PATH_MESSAGES; i++) samples.get(variant.name)!.push(await variant.run(sent++));
				emulator.server.requests.length = 0;
			}
			progress(`model path round ${round + 1}/${MODEL_PATH_ROUNDS} done`);
		}
		const rows = variants.map((variant) => {
			const values = samples.get(variant.name)!;
			const modelMs = values.map((value) => value.modelMs).filter((value): value is number => value !== null);
			return {
				path: variant.name,
				samples: values.length,
				p50Ms: median(values.map((value) => value.ms)),
				p95Ms: percentile(values.map((value) => value.ms), 95),
				meanMs: mean(values.map((value) => value.ms)),
				modelP50Ms: modelMs.length > 0 ? median(modelMs) : null,
				rawMs: values.map((value) => Number(fixed(value.ms, 3))),
			};
		});
		const ratio = rows[1].p50Ms / rows[0].p50Ms;
		return { rows, ratio, met: ratio <= MODEL_PATH_RATIO_TARGET, langChainVersion: langChain.version };
	} finally {
		await bench.cleanUp().catch((error: Error) => progress(`model path store clean-up failed: ${error.message}`));
		await emulator.server.stop();
	}
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
	process.once('SIGINT', () => {
		interrupted = true;
		progress('interrupt received: stopping after the current step');
	});
	const startedAt = new Date();
	const loadBefore = os.loadavg();
	const sessions = SECTIONS.has('stores') ? await benchSessions() : null;
	const tokens = SECTIONS.has('tokens') ? benchTokenCounting() : null;
	const models = SECTIONS.has('models') ? await benchModelPaths() : null;
	const preview = SECTIONS.has('preview') ? await benchStreamPreview(benchEngineConfig(), numberFromEnv('BENCH_PREVIEW_SAMPLES', 20), progress) : null;
	const loadAfter = os.loadavg();
	const machine = {
		cores: os.availableParallelism(),
		cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
		node: process.version,
		platform: `${os.platform()} ${os.release()}`,
		loadAverage1m: { before: loadBefore[0], after: loadAfter[0] },
	};
	const samplesPerSize = ROUNDS * MESSAGES_PER_ROUND;
	const machineLine = `Machine: ${machine.cores} cores (${machine.cpu}), Node ${machine.node}, ${machine.platform}; 1-min load average ${fixed(loadBefore[0])} before, ${fixed(loadAfter[0])} after (other processes were running). Run ${runId}, ${startedAt.toISOString()}.`;
	const directory = path.resolve(__dirname, '..', 'bench-results');
	mkdirSync(directory, { recursive: true });
	const result: Record<string, unknown> = { runId, startedAt: startedAt.toISOString(), machine };

	if (sessions && tokens) {
		const seedTokensMin = Math.min(...sessions.seedTokens);
		const seedTokensMax = Math.max(...sessions.seedTokens);
		const method = [
			`Method (a): per-message time of SessionEngine.handle() on the real path (SessionEngine → OpenAiChatModel → fetch → HTTP), measured with process.hrtime.bigint() around engine.handle(); model = OpenAI emulator (test/emulators/openai.ts) in this process on loopback (zero latency, fixed ${sessions.replyTokens}-token reply; it also counts the prompt with tiktoken, the same work at every size).`,
			`Window: contextWindow ${CONTEXT_WINDOW}, maxOutputTokens ${MAX_OUTPUT_TOKENS}, safetyMargin ${SAFETY_MARGIN} → ${sessions.budget} tokens for history + message. Seeded turns are ${seedTokensMin}–${seedTokensMax} tokens each (${SEED_TEXTS} distinct texts, counted once with createTokenCounter), so even 10 turns overfill the window and every size sends the model the same window; the seeded history ends in the same turns at every size. Seeded with store.appendTurns in batches of ${SEED_BATCH}; Postgres tables ANALYZEd after seeding (as autovacuum would), SQLite left as the store leaves it.`,
			`Per (store, size): ${WARMUP_MESSAGES} warm-up messages, then ${samplesPerSize} measured messages (${ROUNDS} rounds × ${MESSAGES_PER_ROUND}, sequential, one session, a new message key each); rounds interleaved round-robin across stores and sizes, order rotated each round. Each message appends 2 turns, so a session grows by ${2 * (WARMUP_MESSAGES + samplesPerSize)} turns over the run. "store"/"model" = time inside store calls / the model call, "engine" = the rest (p50 of each).`,
			`Method (b): token counting of the same ${thousands(TOKEN_MESSAGES)} deterministic messages of ~${TOKEN_WORDS} words (mostly English, with German, French, Spanish, Russian, Japanese, Chinese, Arabic, Hindi, numbers and emoji); one untimed warm-up pass each, then ${TOKEN_ROUNDS} rounds with the three counters interleaved (order rotated), median of the rounds.`,
			machineLine,
		];
		const lines: string[] = [...method, ''];
		lines.push(
			'| store | turns seeded → at end | prompt tokens (p50) | p50 ms | p95 ms | mean ms | store p50 ms | model p50 ms | engine p50 ms |',
			'| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
		);
		for (const row of sessions.rows) {
			lines.push(
				`| ${row.store} | ${thousands(row.seededTurns)} → ${thousands(row.turnsAtEnd)} | ${row.promptTokensP50} | ${fixed(row.p50Ms)} | ${fixed(row.p95Ms)} | ${fixed(row.meanMs)} | ${fixed(row.storeP50Ms)} | ${fixed(row.modelP50Ms)} | ${fixed(row.engineP50Ms)} |`,
			);
		}
		lines.push('', `| store | p50 ms, 10 turns | p50 ms, 10,000 turns | ratio | target ≤ ${RATIO_TARGET} |`, '| --- | ---: | ---: | ---: | --- |');
		for (const ratio of sessions.ratios) {
			lines.push(`| ${ratio.store} | ${fixed(ratio.smallP50Ms)} | ${fixed(ratio.largeP50Ms)} | ${fixed(ratio.ratio)} | ${ratio.met ? 'met' : 'MISSED'} |`);
		}
		lines.push(
			'',
			`Token counting: ${thousands(tokens.messages)} messages, ${fixed(tokens.averageCharacters, 0)} characters and ${fixed(tokens.averageTokens, 0)} tokens on average.`,
			'',
			'| counter | median ms / 10,000 messages | µs per message | ratio to encode | ratio to encode_ordinary |',
			'| --- | ---: | ---: | ---: | ---: |',
		);
		for (const row of tokens.rows) {
			lines.push(`| ${row.counter} | ${fixed(row.medianMs, 1)} | ${fixed(row.microsecondsPerMessage)} | ${fixed(row.ratioToEncode)} | ${fixed(row.ratioToEncodeOrdinary)} |`);
		}
		lines.push('', `countMessage / encode: ${fixed(tokens.ratio)} (target ≤ ${TOKEN_RATIO_TARGET}: ${tokens.met ? 'met' : 'MISSED'}).`);
		process.stdout.write(`${lines.join('\n')}\n`);
		const page = writeDocsSection('performance.md', 'bench-session', lines.join('\n'));
		process.stderr.write(`Wrote the tables to ${path.relative(path.resolve(__dirname, '..'), page)}.\n`);
		Object.assign(result, {
			method,
			config: {
				model: MODEL,
				contextWindow: CONTEXT_WINDOW,
				maxOutputTokens: MAX_OUTPUT_TOKENS,
				safetyMargin: SAFETY_MARGIN,
				historyBudget: sessions.budget,
				seededTurnTokens: { min: seedTokensMin, max: seedTokensMax },
				replyTokens: sessions.replyTokens,
				sizes: SIZES,
				warmupMessages: WARMUP_MESSAGES,
				rounds: ROUNDS,
				messagesPerRound: MESSAGES_PER_ROUND,
				tokenRounds: TOKEN_ROUNDS,
			},
			session: { rows: sessions.rows, ratios: sessions.ratios, target: RATIO_TARGET },
			tokenCounting: { ...tokens, target: TOKEN_RATIO_TARGET },
		});
	}

	if (models) {
		const perPath = MODEL_PATH_ROUNDS * MODEL_PATH_MESSAGES;
		const method = [
			`Method (c): the cost of one turn by model path, measured with process.hrtime.bigint() around SessionEngine.handle() in one process: the OpenAI credential path (OpenAiChatModel → fetch) and the Connected Chat Model path (LangChainChatModel → n8n's own ChatOpenAI from the cached n8n, @langchain/openai ${models.langChainVersion}, built with the fields n8n's OpenAI Chat Model node v1.3 gives it for Chat Completions and wrapped as that node wraps it, without n8n's N8nLlmTracing callback, which needs an n8n execution), both against the same loopback OpenAI emulator (zero latency, the same ${counter.countText(REPLY_TEXT)}-token reply) and one SQLite store, each session seeded with ${MODEL_PATH_TURNS} turns (a full ${CONTEXT_WINDOW}-token window). "model p50" = time inside ChatModel.complete. The bare rows call each client alone with a 2-message prompt (no engine, no store): what the model client, the openai SDK (which AI Session used until December 2026) and LangChain cost by themselves.`,
			`${WARMUP_MESSAGES} warm-up calls per row, then ${perPath} measured (${MODEL_PATH_ROUNDS} rounds × ${MODEL_PATH_MESSAGES}, sequential), rows interleaved per round, order rotated each round.`,
			machineLine,
		];
		const lines: string[] = [...method, '', '| path | samples | p50 ms | p95 ms | mean ms | model p50 ms |', '| --- | ---: | ---: | ---: | ---: | ---: |'];
		for (const row of models.rows) {
			lines.push(`| ${row.path} | ${row.samples} | ${fixed(row.p50Ms)} | ${fixed(row.p95Ms)} | ${fixed(row.meanMs)} | ${row.modelP50Ms === null ? '–' : fixed(row.modelP50Ms)} |`);
		}
		lines.push('', `Connected Chat Model / OpenAI credential, p50 per turn: ${fixed(models.ratio)} (target ≤ ${MODEL_PATH_RATIO_TARGET}: ${models.met ? 'met' : 'MISSED'}).`);
		process.stdout.write(`\n${lines.join('\n')}\n`);
		const page = writeDocsSection('performance.md', 'bench-session-models', lines.join('\n'));
		process.stderr.write(`Wrote the model path table to ${path.relative(path.resolve(__dirname, '..'), page)}.\n`);
		Object.assign(result, { modelPath: { method, ...models, target: MODEL_PATH_RATIO_TARGET } });
	}

	if (preview) {
		const lines = [preview.method, machineLine, '', '| mode | answers | first visible text p50 ms | p95 ms | whole answer shown p50 ms | posts + edits p50 |', '| --- | ---: | ---: | ---: | ---: | ---: |'];
		for (const row of preview.rows) lines.push(`| ${row.mode} | ${row.samples} | ${fixed(row.firstTextP50Ms, 0)} | ${fixed(row.firstTextP95Ms, 0)} | ${fixed(row.finalP50Ms, 0)} | ${row.writesP50} |`);
		lines.push('', `First visible text, p50 without / with Stream Preview: ${fixed(preview.speedup, 1)}× sooner.`);
		process.stdout.write(`\n${lines.join('\n')}\n`);
		const page = writeDocsSection('performance.md', 'bench-session-preview', lines.join('\n'));
		process.stderr.write(`Wrote the Stream Preview table to ${path.relative(path.resolve(__dirname, '..'), page)}.\n`);
		Object.assign(result, { streamPreview: preview });
	}

	const file = path.join(directory, 'session.json');
	writeFileSync(file, `${JSON.stringify(result, null, '\t')}\n`);
	progress(`wrote ${path.relative(process.cwd(), file)}`);
}

main().catch((error: unknown) => {
	process.stderr.write(`bench:session failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
	process.exitCode = 1;
});
