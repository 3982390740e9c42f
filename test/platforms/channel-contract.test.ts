/**
 * The channel contract suite (DESIGN.md "Tests"): the same checks over every webhook channel,
 * through `handleWebhookDelivery` exactly as the n8n glue (nodes/shared/webhook-trigger.ts) calls
 * it, and outbound through the shared send pipeline against each platform's emulator. A channel
 * joins by one driver in contract-drivers.ts.
 */
import type { AnyChannelPlugin, WebhookRequest } from '../../nodes/core/channel';
import type { Envelope } from '../../nodes/core/envelope';
import { deliverText, replyTo } from '../../nodes/core/outbound';
import { RecentKeys } from '../../nodes/core/recent-keys';
import { handleWebhookDelivery, type WebhookOutcome } from '../../nodes/core/webhook-delivery';
import { policyWithApprovedSenders, settlePairingWork, type PairingContext } from '../../nodes/shared/trigger-pairing';
import { receiveSettingsFrom } from '../../nodes/shared/trigger-settings';
import { CONTRACT_WEBHOOK, CONTRACT_WEBHOOK_URL, connectionContractDrivers, contractDrivers, socketContractDrivers, type ConnectionContractDriver, type ContractDriver, type Delivery, type Sender, type SocketContractDriver } from './contract-drivers';
import { settle } from './socket-harness';

jest.setTimeout(30_000);

/** How the platform counts a message's length: the renderer's `measure` when it has one (Telegram counts visible text, not HTML). */
function measureOf(plugin: AnyChannelPlugin): (text: string) => number {
	const measure = (plugin.capabilities.renderer as { measure?: (text: string) => number } | undefined)?.measure;
	return measure ? (text) => measure(text) : (text) => text.length;
}

/** At least `length` (about 10,000) characters of Markdown as a model writes it, each paragraph marked Q<n>Q to check order. */
function longMarkdownAnswer(length = 10_000): { markdown: string; markers: string[] } {
	const markers: string[] = [];
	const parts: string[] = [];
	for (let i = 1, size = 0; size < length; i++) {
		const marker = `Q${i}Q`;
		const before = parts.length;
		markers.push(marker);
		if (i % 7 === 1) parts.push(`## Section ${i}`);
		parts.push(
			i % 5 === 0
				? `- ${marker} a point with **weight** and \`inline code\`\n- a second point that goes on for a while to make the list longer`
				: `${marker} Lorem ipsum dolor sit amet, **consectetur** adipiscing elit, sed do *eiusmod* tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation.`,
		);
		// Linear: joining everything on each turn made 48,000 characters quadratic.
		for (const part of parts.slice(before)) size += part.length + 2;
	}
	return { markdown: parts.join('\n\n'), markers };
}

describe.each(contractDrivers.map((driver) => [driver.plugin.name, driver] as const))('channel contract: %s', (_name, driver: ContractDriver) => {
	const { plugin } = driver;
	const recent = new RecentKeys();
	let credentialReads = 0;

	beforeAll(() => driver.start());
	afterAll(() => driver.stop());

	/** One request through the shared webhook pipeline, built as receiveWebhook builds it (with its node's static data, for pairing). */
	async function receive(delivery: Delivery, triggerOptions: Record<string, unknown> = {}, node?: PairingContext): Promise<WebhookOutcome> {
		const options = { ...driver.options, ...triggerOptions };
		const settings = receiveSettingsFrom(plugin, options);
		const request: WebhookRequest = { method: 'POST', headers: delivery.headers, rawBody: Buffer.from(delivery.rawBody), body: delivery.body, query: {}, url: CONTRACT_WEBHOOK_URL };
		return await handleWebhookDelivery(plugin, {
			request,
			context: { ...CONTRACT_WEBHOOK, options, now: Date.now() },
			credentialFor: async (verifies) => {
				credentialReads++;
				const credential = driver.credential();
				return { credential, verified: verifies(credential) };
			},
			...settings,
			policy: node ? policyWithApprovedSenders(node, settings.policy) : settings.policy,
			recent,
		});
	}

	async function envelopesOf(delivery: Delivery, triggerOptions?: Record<string, unknown>): Promise<Envelope[]> {
		const outcome = await receive(delivery, triggerOptions);
		if (outcome.kind !== 'taken') throw new Error(`Expected the delivery to be taken, got ${outcome.kind} (${outcome.answer.status}): ${'reason' in outcome ? outcome.reason : ''}`);
		return outcome.envelopes;
	}

	const sendDm = (text: string, from: 'ada' | 'stranger' = 'ada', triggerOptions?: Record<string, unknown>) => envelopesOf(driver.deliver(driver.dm(text, from)), triggerOptions);

	describe('proof of origin', () => {
		test('a delivery signed by the platform is taken and acknowledged', async () => {
			const outcome = await receive(driver.deliver(driver.dm('hello')));
			expect(outcome).toMatchObject({ kind: 'taken', answer: plugin.webhook!.acknowledgement });
			expect(outcome.answer.status).toBeGreaterThanOrEqual(200);
			expect(outcome.answer.status).toBeLessThan(300);
		});

		test('a forged delivery (signed with another secret) is refused 401 and starts nothing', async () => {
			const outcome = await receive(driver.deliver(driver.dm('forged'), 'forged'));
			expect(outcome).toMatchObject({ kind: 'forged', answer: { status: 401 } });
			expect(outcome.answer.body).toBeTruthy();
		});

		test('an unsigned delivery is refused 401 without reading the credential', async () => {
			const before = credentialReads;
			const outcome = await receive(driver.deliver(driver.dm('unsigned'), 'unsigned'));
			expect(outcome).toMatchObject({ kind: 'forged', answer: { status: 401 } });
			expect(credentialReads).toBe(before);
		});

		test('a signed body the platform would never send is answered 400', async () => {
			expect(await receive(driver.malformed())).toMatchObject({ kind: 'invalid', answer: { status: 400 } });
		});
	});

	describe('the envelope', () => {
		test('a DM becomes one envelope of the DESIGN.md shape', async () => {
			const [envelope, ...more] = await sendDm('What is the capital of France?');
			expect(more).toHaveLength(0);
			expect(envelope.via).toBe(plugin.id);
			expect(plugin.channels).toContain(envelope.channel);
			expect(envelope.accountId).toEqual(expect.any(String));
			expect(envelope.accountId).not.toBe('');
			expect(envelope.chat.type).toBe('dm');
			expect(envelope.chat.id).toEqual(expect.any(String));
			expect(envelope.chat.id).not.toBe('');
			const thread = envelope.chat.threadId ? `:${envelope.chat.threadId}` : '';
			expect(envelope.sessionId).toBe(`${envelope.channel}:${envelope.accountId}:${envelope.chat.type}:${envelope.chat.id}${thread}`);
			expect(envelope.event ?? 'message').toBe('message');
			expect(envelope.sender).toMatchObject({ id: expect.any(String), isBot: false });
			expect(envelope.sender.id).not.toBe('');
			expect(envelope.message.id).toEqual(expect.any(String));
			expect(envelope.message.id).not.toBe('');
			expect(envelope.message.text).toBe('What is the capital of France?');
			expect(envelope.message).toMatchObject({ mentionsBot: expect.any(Boolean), command: null, attachments: [] });
			expect(new Date(envelope.message.timestamp).toISOString()).toBe(envelope.message.timestamp);
			expect(Object.keys(envelope).slice(0, 3)).toEqual(['sessionId', 'channel', 'via']);
			expect(envelope).toHaveProperty('raw');
		});

		test('/new in a DM is the command "new"', async () => {
			const [envelope] = await sendDm('/new');
			expect(envelope.message.command).toBe('new');
		});

		test("the credential's account is the one the envelope names, so Reply answers with the right bot", async () => {
			const [envelope] = await sendDm('which bot?');
			const credential = driver.credential();
			const account = await plugin.accountOf(credential, await plugin.createClient(credential));
			if (account !== null) expect(account).toBe(envelope.accountId);
		});
	});

	describe('redelivery', () => {
		test('the same delivery again makes no second envelope, and is still acknowledged', async () => {
			const sample = driver.dm('only once');
			expect(await envelopesOf(driver.deliver(sample))).toHaveLength(1);
			const again = await receive(driver.deliver(sample, 'redelivery'));
			expect(again).toMatchObject({ kind: 'taken', answer: plugin.webhook!.acknowledgement, envelopes: [] });
			expect(again.kind === 'taken' && again.dropped.join('\n')).toMatch(/redelivery/);
		});
	});

	describe('bots', () => {
		(driver.ownMessage ? test : test.skip)("the bot's own message is ignored, even with Include Other Bots on", async () => {
			expect(await envelopesOf(driver.deliver(driver.ownMessage!('my own answer')))).toEqual([]);
			expect(await envelopesOf(driver.deliver(driver.ownMessage!('my own answer again')), { includeBots: true, groupActivation: 'all' })).toEqual([]);
		});

		(driver.otherBotMessage ? test : test.skip)("another bot's message is ignored by default and emitted with Include Other Bots", async () => {
			expect(await envelopesOf(driver.deliver(driver.otherBotMessage!('deploy finished')))).toEqual([]);
			const [envelope, ...more] = await envelopesOf(driver.deliver(driver.otherBotMessage!('deploy finished again')), { includeBots: true });
			expect(more).toHaveLength(0);
			expect(envelope.sender.isBot).toBe(true);
			expect(envelope.via).toBe(plugin.id);
		});
	});

	describe('groups', () => {
		const group = driver.group;
		const inGroups = group ? test : test.skip;

		inGroups('a group message that does not address the bot starts nothing (React To: mentions, the default)', async () => {
			expect(await envelopesOf(driver.deliver(group!.plain('lunch, anyone?')))).toEqual([]);
		});

		inGroups('a group message that mentions the bot is emitted, as a group message of that chat', async () => {
			const [envelope, ...more] = await envelopesOf(driver.deliver(group!.mention('what is new?')));
			expect(more).toHaveLength(0);
			expect(envelope.chat).toMatchObject({ id: group!.chatId, type: expect.stringMatching(/^(group|channel)$/) });
			expect(envelope.message.mentionsBot).toBe(true);
			expect(envelope.message.text).toContain('what is new?');
			const thread = envelope.chat.threadId ? `:${envelope.chat.threadId}` : '';
			expect(envelope.sessionId).toBe(`${envelope.channel}:${envelope.accountId}:${envelope.chat.type}:${envelope.chat.id}${thread}`);
		});

		inGroups('with React To: every message, a group message without mention is emitted', async () => {
			expect(await envelopesOf(driver.deliver(group!.plain('lunch at noon')), { groupActivation: 'all' })).toHaveLength(1);
		});

		inGroups('per-user sessions give each member of a group their own session', async () => {
			const [ada] = await envelopesOf(driver.deliver(group!.mention('mine')), { perUserSessions: true });
			const [eve] = await envelopesOf(driver.deliver(group!.mention('mine', 'stranger')), { perUserSessions: true });
			expect(ada.sessionId).toBe(`${ada.channel}:${ada.accountId}:${ada.chat.type}:${ada.chat.id}${ada.chat.threadId ? `:${ada.chat.threadId}` : ''}:user:${ada.sender.id}`);
			expect(eve.sessionId).not.toBe(ada.sessionId);
		});

		inGroups('Allowed Chats: a mention in a group that is not listed starts nothing; in a listed one it does', async () => {
			expect(await envelopesOf(driver.deliver(group!.mention('hello?')), { allowedGroupChatIds: 'some-other-chat' })).toEqual([]);
			expect(await envelopesOf(driver.deliver(group!.mention('hello!')), { allowedGroupChatIds: `some-other-chat, ${group!.chatId}` })).toHaveLength(1);
		});

		inGroups('Allowed Senders holds in groups too: a stranger mentioning the bot starts nothing', async () => {
			expect(await envelopesOf(driver.deliver(group!.mention('let me in', 'stranger')), { allowedSenderIds: driver.adaListedAs })).toEqual([]);
			expect(await envelopesOf(driver.deliver(group!.mention('it is me')), { allowedSenderIds: driver.adaListedAs })).toHaveLength(1);
		});
	});

	describe('access policy in DMs', () => {
		test('DM Policy Allowlist: a listed sender is emitted, a stranger dropped', async () => {
			const allowlist = { dmPolicy: 'allowlist', allowedSenderIds: driver.adaListedAs };
			expect(await sendDm('hi, it is Ada', 'ada', allowlist)).toHaveLength(1);
			expect(await sendDm('hi, a stranger here', 'stranger', allowlist)).toEqual([]);
		});

		test('DM Policy Allowlist with no Allowed Senders lets no DM through', async () => {
			expect(await sendDm('anyone?', 'ada', { dmPolicy: 'allowlist' })).toEqual([]);
		});

		test('Allowed Senders with DM Policy Open: only listed senders', async () => {
			expect(await sendDm('me again', 'ada', { allowedSenderIds: driver.adaListedAs })).toHaveLength(1);
			expect(await sendDm('not me', 'stranger', { allowedSenderIds: driver.adaListedAs })).toEqual([]);
		});

		test('DM Policy Disabled: no DM starts the workflow', async () => {
			expect(await sendDm('hello?', 'ada', { dmPolicy: 'disabled', allowedSenderIds: driver.adaListedAs })).toEqual([]);
		});

		test('the open default lets a stranger\'s DM through', async () => {
			expect(await sendDm('hello from afar', 'stranger')).toHaveLength(1);
		});
	});

	describe('DM pairing', () => {
		const pairing = { dmPolicy: 'pairing', allowedSenderIds: driver.adaListedAs };
		const warnings: string[] = [];
		/** The trigger node as n8n holds it: its static data, and a log. */
		const node = { getWorkflowStaticData: () => staticData, logger: { info: () => undefined, warn: (line: string) => void warnings.push(line) } } as unknown as PairingContext;
		let staticData: Record<string, unknown> = {};

		/** A delivery through receiveWebhook's steps: the pipeline, then the pairing work settled and its messages sent. */
		async function pairingDelivery(sample: unknown) {
			const outcome = await receive(driver.deliver(sample), pairing, node);
			if (outcome.kind !== 'taken') throw new Error(`Expected the delivery to be taken, got ${outcome.kind}`);
			if (outcome.pairing) await settlePairingWork(node, plugin, outcome.credential, outcome.pairing);
			return outcome;
		}

		beforeEach(() => {
			staticData = {};
			warnings.length = 0;
		});

		test("a stranger's DM starts no execution and gets a one-time code; writing again sends no second message", async () => {
			const first = await pairingDelivery(driver.dm('hello, can I use you?', 'stranger'));
			expect(first.envelopes).toEqual([]);
			const strangerChat = first.pairing!.requests[0].target.chatId;
			const told = driver.outbound.sentTexts(strangerChat);
			const code = /\b([A-HJ-NP-Z2-9]{8})\b/.exec(told.at(-1) ?? '')?.[1];
			expect(code).toEqual(expect.any(String));
			expect(told.at(-1)).toContain(`/pair ${code}`);

			const again = await pairingDelivery(driver.dm('hello??', 'stranger'));
			expect(again.envelopes).toEqual([]);
			expect(driver.outbound.sentTexts(strangerChat)).toHaveLength(told.length);
			expect(warnings).toEqual([]);
		});

		test("an owner's /pair CODE approves the stranger, answers both, starts no execution; the stranger's next DM is emitted", async () => {
			const asked = await pairingDelivery(driver.dm('hello, can I use you?', 'stranger'));
			const strangerChat = asked.pairing!.requests[0].target.chatId;
			const code = /\b([A-HJ-NP-Z2-9]{8})\b/.exec(driver.outbound.sentTexts(strangerChat).at(-1) ?? '')![1];

			const command = await pairingDelivery(driver.dm(`/pair ${code}`, 'ada'));
			expect(command.envelopes).toEqual([]);
			const ownerChat = command.pairing!.commands[0].target.chatId;
			expect(driver.outbound.sentTexts(ownerChat).at(-1)).toMatch(/^Approved /);
			expect(driver.outbound.sentTexts(strangerChat).at(-1)).toMatch(/you can now talk to the bot/);

			const next = await pairingDelivery(driver.dm('thanks! what is 2 + 2?', 'stranger'));
			expect(next.envelopes).toHaveLength(1);
			expect(next.envelopes[0].message.text).toBe('thanks! what is 2 + 2?');
			expect(next).not.toHaveProperty('pairing');
			expect(warnings).toEqual([]);
		});

		test('a listed owner talks to the bot as usual under Pairing', async () => {
			expect(await pairingDelivery(driver.dm('hi, it is Ada'))).toMatchObject({ envelopes: [{ message: { text: 'hi, it is Ada' } }] });
		});
	});

	describeOutbound(driver, sendDm);
});

/** Outbound through the shared send pipeline against the platform's emulator: the same checks for webhook and listener channels. */
function describeOutbound(driver: Pick<ContractDriver, 'plugin' | 'credential' | 'wrongToken' | 'outbound'>, sendDm: (text: string) => Promise<Envelope[]>): void {
	const { plugin } = driver;
	describe('outbound', () => {
		const measure = measureOf(plugin);

		test('a 10,000-character Markdown answer (longer where the limit is higher) arrives as several messages, each within the limit, in order', async () => {
			const [envelope] = await sendDm('tell me everything');
			// Past the limit on every platform: Nextcloud Talk takes 32,000 characters in one message.
			const { markdown, markers } = longMarkdownAnswer(Math.max(10_000, plugin.capabilities.textLimit + 5_000));
			const credential = driver.credential();
			const client = await plugin.createClient(credential);
			const sent = await replyTo(plugin, client, { envelope, text: markdown, quote: true, inThread: true, linkPreviews: false });

			const texts = driver.outbound.sentTexts(sent.chatId);
			const posted = texts.slice(-sent.messageIds.length);
			expect(posted.length).toBeGreaterThan(1);
			expect(sent.messageIds).toHaveLength(posted.length);
			for (const text of posted) {
				expect(measure(text)).toBeLessThanOrEqual(plugin.capabilities.textLimit);
				expect(text.trim()).not.toBe('');
			}
			const all = posted.join('\n');
			let from = 0;
			for (const marker of markers) {
				const at = all.indexOf(marker, from);
				expect({ marker, found: at >= 0 }).toEqual({ marker, found: true });
				expect(all.indexOf(marker, at + marker.length)).toBe(-1);
				from = at + marker.length;
			}
		});

		const withRetryAfter = driver.outbound.rateLimitNextSend ? test : test.skip;

		withRetryAfter('a 429 with Retry-After is waited out and the message arrives once', async () => {
			const [envelope] = await sendDm('are you there?');
			const client = await plugin.createClient(driver.credential());
			const text = `after the wait ${Date.now()}`;
			driver.outbound.rateLimitNextSend!(1);
			const callsBefore = driver.outbound.sendCalls();
			const started = Date.now();
			const sent = await replyTo(plugin, client, { envelope, text, quote: false, inThread: true, linkPreviews: false });

			expect(Date.now() - started).toBeGreaterThanOrEqual(900);
			expect(driver.outbound.sendCalls() - callsBefore).toBe(2);
			expect(driver.outbound.sentTexts(sent.chatId).filter((posted) => posted === text)).toHaveLength(1);
			expect(sent.messageIds).toHaveLength(1);
		});

		withRetryAfter('a Retry-After longer than Clawgate waits fails at once, saying the platform refused (429)', async () => {
			const [envelope] = await sendDm('still there?');
			const client = await plugin.createClient(driver.credential());
			driver.outbound.rateLimitNextSend!(120);
			const callsBefore = driver.outbound.sendCalls();
			const started = Date.now();
			const failure = await replyTo(plugin, client, { envelope, text: 'too late', quote: false, inThread: true, linkPreviews: false }).then(
				() => null,
				(error: unknown) => error as Error,
			);
			expect(failure).toBeInstanceOf(Error);
			expect(failure!.message).toMatch(/rate.?limit|429/i);
			expect(Date.now() - started).toBeLessThan(5_000);
			expect(driver.outbound.sendCalls() - callsBefore).toBe(1);
		});

		(driver.outbound.rateLimitNextSendWithoutWait ? test : test.skip)('a rate limit that names no wait fails at once, in words that say so', async () => {
			const [envelope] = await sendDm('one more?');
			const client = await plugin.createClient(driver.credential());
			driver.outbound.rateLimitNextSendWithoutWait!();
			const callsBefore = driver.outbound.sendCalls();
			const failure = await replyTo(plugin, client, { envelope, text: 'not now', quote: false, inThread: true, linkPreviews: false }).then(
				() => null,
				(error: unknown) => error as Error,
			);
			expect(failure!.message).toMatch(/rate.?limit/i);
			expect(driver.outbound.sendCalls() - callsBefore).toBe(1);
		});

		test('a send with a wrong token fails in words that point at the credential, never carrying the token', async () => {
			const [envelope] = await sendDm('hello again');
			const { credential, token } = driver.wrongToken();
			const failure = await Promise.resolve()
				.then(async () => await replyTo(plugin, await plugin.createClient(credential), { envelope, text: 'never', quote: false, inThread: true, linkPreviews: false }))
				.then(
					() => null,
					(error: unknown) => error as Error,
				);
			expect(failure).toBeInstanceOf(Error);
			expect(failure!.message).toContain(plugin.name);
			expect(failure!.message).toMatch(/credential/i);
			expect(failure!.message).not.toContain(token);
			expect(JSON.stringify(failure)).not.toContain(token);
		});

		test('deliverText to the chat of an envelope posts there', async () => {
			const [envelope] = await sendDm('ping');
			const client = await plugin.createClient(driver.credential());
			const target = plugin.outbound.replyTarget?.(envelope, false) ?? { chatId: envelope.chat.id, threadId: null };
			const sent = await deliverText(plugin, client, { ...target, markdown: 'pong', replyToId: null, linkPreviews: false, accountId: envelope.accountId });
			expect(sent.messageIds).toHaveLength(1);
			expect(driver.outbound.sentTexts(sent.chatId).at(-1)).toBe('pong');
		});
	});
}

describe.each(socketContractDrivers.map((driver) => [driver.plugin.name, driver] as const))('channel contract (socket listener): %s', (_name, driver: SocketContractDriver) => {
	const { plugin } = driver;

	beforeAll(() => driver.start());
	afterAll(() => driver.stop());

	/** What the listener emits, with these trigger options, for what the platform posts in `act`. */
	async function envelopesOf(act: () => void | Promise<void>, options: Record<string, unknown> = {}, expected?: number): Promise<Envelope[]> {
		const { handlers, close } = await driver.listen(options);
		try {
			await act();
			if (expected) await handlers.waitFor(expected);
			await settle(expected ? 150 : 400);
			return [...handlers.envelopes];
		} finally {
			await close();
		}
	}
	const sendDm = (text: string, from: Sender = 'ada', options: Record<string, unknown> = {}) => envelopesOf(() => driver.dm(text, from), options, 1);

	test('the listener holds one connection while active and none once closed (deactivation)', async () => {
		const before = driver.openConnections();
		const { close } = await driver.listen();
		expect(driver.openConnections()).toBe(before + 1);
		await close();
		expect(driver.openConnections()).toBe(before);
	});

	test('a wrong token fails activation in words that point at the credential, never carrying the token', async () => {
		const { credential, token } = driver.wrongToken();
		const failure = await driver.listen({}, credential).then(
			async ({ close }) => {
				await close();
				return null;
			},
			(error: unknown) => plugin.describeError(error, 'connect'),
		);
		expect(failure).toBeInstanceOf(Error);
		expect(failure!.message).toContain(plugin.name);
		expect(failure!.message).toMatch(/credential/i);
		expect(JSON.stringify({ message: failure!.message, ...failure })).not.toContain(token);
	});

	describe('the envelope', () => {
		test('a DM becomes one envelope of the DESIGN.md shape', async () => {
			const [envelope, ...more] = await sendDm('What is the capital of France?');
			expect(more).toHaveLength(0);
			expect(envelope.via).toBe(plugin.id);
			expect(plugin.channels).toContain(envelope.channel);
			expect(envelope.chat.type).toBe('dm');
			expect(envelope.sessionId).toBe(`${envelope.channel}:${envelope.accountId}:${envelope.chat.type}:${envelope.chat.id}`);
			expect(envelope.sender).toMatchObject({ id: expect.any(String), isBot: false });
			expect(envelope.message).toMatchObject({ text: 'What is the capital of France?', mentionsBot: false, command: null, attachments: [] });
			expect(new Date(envelope.message.timestamp).toISOString()).toBe(envelope.message.timestamp);
			expect(Object.keys(envelope).slice(0, 3)).toEqual(['sessionId', 'channel', 'via']);
		});

		test('/new in a DM is the command "new"', async () => {
			const [envelope] = await sendDm('/new');
			expect(envelope.message.command).toBe('new');
		});

		test("the credential's account is the one the envelope names, so Reply answers with the right bot", async () => {
			const [envelope] = await sendDm('which bot?');
			const credential = driver.credential();
			expect(await plugin.accountOf(credential, await plugin.createClient(credential))).toBe(envelope.accountId);
		});

		test('the same message sent again by the platform starts one execution', async () => {
			expect(await envelopesOf(() => driver.dmTwice('only once'), {}, 1)).toHaveLength(1);
		});
	});

	describe('bots', () => {
		test("the bot's own message is ignored, even with Include Other Bots on", async () => {
			expect(await envelopesOf(() => driver.ownMessage('my own answer'), { includeBots: true, groupActivation: 'all' })).toEqual([]);
		});

		test("another bot's message is ignored by default and emitted with Include Other Bots", async () => {
			expect(await envelopesOf(() => driver.otherBotMessage('deploy finished'))).toEqual([]);
			const [envelope] = await envelopesOf(() => driver.otherBotMessage('deploy finished again'), { includeBots: true }, 1);
			expect(envelope.sender.isBot).toBe(true);
		});
	});

	describe('groups', () => {
		test('a group message that does not address the bot starts nothing (React To: mentions, the default)', async () => {
			expect(await envelopesOf(() => driver.group.plain('lunch, anyone?'))).toEqual([]);
		});

		test('a group message that mentions the bot is emitted, as a group message of that chat, without the mention', async () => {
			const [envelope] = await envelopesOf(() => driver.group.mention('what is new?'), {}, 1);
			expect(envelope.chat).toMatchObject({ id: driver.group.chatId, type: 'group' });
			expect(envelope.message).toMatchObject({ mentionsBot: true, text: 'what is new?' });
		});

		test('with React To: every message, a group message without mention is emitted', async () => {
			expect(await envelopesOf(() => driver.group.plain('lunch at noon'), { groupActivation: 'all' }, 1)).toHaveLength(1);
		});

		test('Allowed Chats and Allowed Senders hold in groups', async () => {
			expect(await envelopesOf(() => driver.group.mention('hello?'), { allowedGroupChatIds: 'some-other-chat' })).toEqual([]);
			expect(await envelopesOf(() => driver.group.mention('let me in', 'stranger'), { allowedSenderIds: driver.adaListedAs })).toEqual([]);
			expect(await envelopesOf(() => driver.group.mention('it is me'), { allowedSenderIds: driver.adaListedAs, allowedGroupChatIds: driver.group.chatId }, 1)).toHaveLength(1);
		});
	});

	describe('access policy in DMs', () => {
		test('DM Policy Allowlist: a listed sender is emitted, a stranger dropped', async () => {
			const allowlist = { dmPolicy: 'allowlist', allowedSenderIds: driver.adaListedAs };
			expect(await sendDm('hi, it is Ada', 'ada', allowlist)).toHaveLength(1);
			expect(await envelopesOf(() => driver.dm('a stranger here', 'stranger'), allowlist)).toEqual([]);
		});

		test('DM Policy Disabled: no DM starts the workflow', async () => {
			expect(await envelopesOf(() => driver.dm('hello?'), { dmPolicy: 'disabled', allowedSenderIds: driver.adaListedAs })).toEqual([]);
		});
	});

	describeOutbound({ ...driver, outbound: driver.outbound } as unknown as ContractDriver, (text) => sendDm(text));
});

describe.each(connectionContractDrivers.map((driver) => [driver.plugin.name, driver] as const))('channel contract (listener): %s', (_name, driver: ConnectionContractDriver) => {
	const { plugin } = driver;

	beforeAll(() => driver.start());
	afterAll(() => driver.stop());

	/** Starts the listener, lets `act` talk to it, and returns what it emitted within a short wait. */
	async function emittedBy(options: Record<string, unknown>, act: () => void, expected: number): Promise<Envelope[]> {
		const running = await driver.listen(options);
		try {
			act();
			const deadline = Date.now() + 5_000;
			while (running.emitted.length < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
			// Time for anything beyond the expected to show up.
			await new Promise((resolve) => setTimeout(resolve, 400));
			return [...running.emitted];
		} finally {
			await running.close();
		}
	}

	test('a DM becomes one envelope of the DESIGN.md shape, and /new is the command "new"', async () => {
		const [envelope, command, ...more] = await emittedBy({}, () => {
			driver.dm('What is the capital of France?');
			setTimeout(() => driver.dm('/new'), 150);
		}, 2);
		expect(more).toHaveLength(0);
		expect(envelope.via).toBe(plugin.id);
		expect(plugin.channels).toContain(envelope.channel);
		expect(envelope.chat.type).toBe('dm');
		const thread = envelope.chat.threadId ? `:${envelope.chat.threadId}` : '';
		expect(envelope.sessionId).toBe(`${envelope.channel}:${envelope.accountId}:dm:${envelope.chat.id}${thread}`);
		expect(envelope.sender).toMatchObject({ id: expect.any(String), isBot: false });
		expect(envelope.message).toMatchObject({ text: 'What is the capital of France?', command: null, attachments: [] });
		expect(new Date(envelope.message.timestamp).toISOString()).toBe(envelope.message.timestamp);
		expect(Object.keys(envelope).slice(0, 3)).toEqual(['sessionId', 'channel', 'via']);
		expect(command.message.command).toBe('new');
		const credential = driver.credential();
		expect(await plugin.accountOf(credential, await plugin.createClient(credential))).toBe(envelope.accountId);
	});

	(driver.ownMessage ? test : test.skip)("the bot's own message is ignored, even with Include Other Bots on", async () => {
		expect(await emittedBy({ includeBots: true, groupActivation: 'all' }, () => driver.ownMessage!('my own answer'), 0)).toEqual([]);
	});

	(driver.group ? test : test.skip)('groups: only mentions by default, every message with React To: every message, Allowed Chats and per-user sessions hold', async () => {
		const group = driver.group!;
		const mentions = await emittedBy({}, () => {
			group.plain('lunch, anyone?');
			group.mention('what is new?');
		}, 1);
		expect(mentions).toHaveLength(1);
		expect(mentions[0]).toMatchObject({ chat: { id: group.chatId, type: 'group' }, message: { mentionsBot: true, text: 'what is new?' } });
		expect(await emittedBy({ groupActivation: 'all' }, () => group.plain('lunch at noon'), 1)).toHaveLength(1);
		expect(await emittedBy({ allowedGroupChatIds: 'some-other-chat' }, () => group.mention('hello?'), 0)).toEqual([]);
		const [ada, eve] = await emittedBy({ perUserSessions: true }, () => {
			group.mention('mine');
			setTimeout(() => group.mention('mine', 'stranger'), 100);
		}, 2);
		expect(ada.sessionId).toMatch(/:user:/);
		expect(eve.sessionId).not.toBe(ada.sessionId);
	});

	test('access policy in DMs: Allowlist lets only listed senders through, Disabled none, Open a stranger', async () => {
		const allowlist = { dmPolicy: 'allowlist', allowedSenderIds: driver.adaListedAs };
		const listed = await emittedBy(allowlist, () => {
			driver.dm('hi, a stranger here', 'stranger');
			driver.dm('hi, it is Ada');
		}, 1);
		expect(listed.map((envelope) => envelope.message.text)).toEqual(['hi, it is Ada']);
		expect(await emittedBy({ dmPolicy: 'disabled', allowedSenderIds: driver.adaListedAs }, () => driver.dm('hello?'), 0)).toEqual([]);
		expect(await emittedBy({}, () => driver.dm('hello from afar', 'stranger'), 1)).toHaveLength(1);
	});

	// 2,500 characters: IRC paces its lines at one a second, so 10,000 would take over a minute here.
	test('a 2,500-character Markdown answer arrives in order, each message within the limit', async () => {
		const [envelope] = await emittedBy({}, () => driver.dm('tell me everything'), 1);
		const { markdown, markers } = longMarkdownAnswer(2_500);
		const client = await plugin.createClient(driver.credential());
		const running = await driver.listen({});
		let sent;
		try {
			sent = await replyTo(plugin, client, { envelope, text: markdown, quote: false, inThread: true, linkPreviews: false });
		} finally {
			await running.close();
		}
		const deadline = Date.now() + 10_000;
		while (driver.sentTexts(sent.chatId).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
		const all = driver.sentTexts(sent.chatId).join('\n');
		const measure = measureOf(plugin);
		for (const text of driver.sentTexts(sent.chatId)) expect(measure(text)).toBeLessThanOrEqual(plugin.capabilities.textLimit);
		let from = 0;
		for (const marker of markers) {
			const at = all.indexOf(marker, from);
			expect({ marker, found: at >= 0 }).toEqual({ marker, found: true });
			from = at + marker.length;
		}
	}, 60_000);
});
