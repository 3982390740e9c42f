/**
 * The channel contract suite for listener channels (messages fetched by long poll or socket, so
 * no proof of origin or redelivery to answer): the same envelope, bot, group, access-policy and
 * outbound checks as channel-contract.test.ts, through the normaliser each trigger's receive loop
 * uses and the shared admission. A channel joins by one driver in contract-drivers.ts.
 */
import { admitMessage, pairingWorkOf } from '../../nodes/core/admission';
import { policyWithApprovedSenders, settlePairingWork, type PairingContext } from '../../nodes/shared/trigger-pairing';
import { stampVia, type Envelope } from '../../nodes/core/envelope';
import { deliverText, replyTo } from '../../nodes/core/outbound';
import { receiveSettingsFrom } from '../../nodes/shared/trigger-settings';
import { listenerContractDrivers, type ListenerContractDriver } from './contract-drivers';

jest.setTimeout(30_000);

describe.each(listenerContractDrivers.map((driver) => [driver.plugin.name, driver] as const))('listener channel contract: %s', (_name, driver: ListenerContractDriver) => {
	const { plugin } = driver;
	beforeAll(() => driver.start());
	afterAll(() => driver.stop());

	/** What the trigger emits for a payload: the normaliser, then the shared access policy. */
	async function envelopesOf(sample: unknown, options: Record<string, unknown> = {}): Promise<Envelope[]> {
		const settings = receiveSettingsFrom(plugin, options);
		const inbound = await driver.inbound(sample, settings);
		if (!inbound?.envelope) return [];
		const envelope = stampVia(inbound.envelope, plugin.id);
		return admitMessage(plugin, envelope, inbound.facts, settings.policy).kind === 'emit' ? [envelope] : [];
	}
	const sendDm = (text: string, from: 'ada' | 'stranger' = 'ada', options?: Record<string, unknown>) => envelopesOf(driver.dm(text, from), options);

	test('a DM becomes one envelope of the DESIGN.md shape', async () => {
		const [envelope, ...more] = await sendDm('What is the capital of France?');
		expect(more).toHaveLength(0);
		expect(envelope.via).toBe(plugin.id);
		expect(plugin.channels).toContain(envelope.channel);
		expect(envelope.accountId).not.toBe('');
		expect(envelope.chat).toMatchObject({ type: 'dm', id: expect.any(String) });
		const thread = envelope.chat.threadId ? `:${envelope.chat.threadId}` : '';
		expect(envelope.sessionId).toBe(`${envelope.channel}:${envelope.accountId}:${envelope.chat.type}:${envelope.chat.id}${thread}`);
		expect(envelope.sender).toMatchObject({ id: expect.any(String), isBot: false });
		expect(envelope.message).toMatchObject({ id: expect.any(String), text: 'What is the capital of France?', mentionsBot: expect.any(Boolean), command: null, attachments: [] });
		expect(new Date(envelope.message.timestamp).toISOString()).toBe(envelope.message.timestamp);
		expect(Object.keys(envelope).slice(0, 3)).toEqual(['sessionId', 'channel', 'via']);
	});

	test('/new in a DM is the command "new"; the credential\'s account is the envelope\'s', async () => {
		const [envelope] = await sendDm('/new');
		expect(envelope.message.command).toBe('new');
		const credential = driver.credential();
		expect(await plugin.accountOf(credential, await plugin.createClient(credential))).toBe(envelope.accountId);
	});

	(driver.ownMessage ? test : test.skip)("the bot's own message is ignored, even with Include Other Bots on", async () => {
		expect(await envelopesOf(driver.ownMessage!('my own answer'))).toEqual([]);
		expect(await envelopesOf(driver.ownMessage!('my own answer again'), { includeBots: true, groupActivation: 'all' })).toEqual([]);
	});

	(driver.otherBotMessage ? test : test.skip)("another bot's message is ignored by default and emitted with Include Other Bots", async () => {
		expect(await envelopesOf(driver.otherBotMessage!('deploy finished'))).toEqual([]);
		const [envelope] = await envelopesOf(driver.otherBotMessage!('deploy finished again'), { includeBots: true });
		expect(envelope.sender.isBot).toBe(true);
	});

	describe('groups', () => {
		const group = driver.group!;
		test('a message without a mention starts nothing; a mention is a group message of that chat; Every Message lets all through', async () => {
			expect(await envelopesOf(group.plain('lunch, anyone?'))).toEqual([]);
			const [envelope] = await envelopesOf(group.mention('what is new?'));
			expect(envelope.chat).toMatchObject({ id: group.chatId, type: 'group' });
			expect(envelope.message).toMatchObject({ mentionsBot: true, text: 'what is new?' });
			expect(await envelopesOf(group.plain('lunch at noon'), { groupActivation: 'all' })).toHaveLength(1);
		});

		test('per-user sessions, Allowed Chats and Allowed Senders hold in groups', async () => {
			const [ada] = await envelopesOf(group.mention('mine'), { perUserSessions: true });
			const [eve] = await envelopesOf(group.mention('mine', 'stranger'), { perUserSessions: true });
			expect(ada.sessionId).toMatch(new RegExp(`:user:${ada.sender.id.replace(/[+$]/g, '\\$&')}$`));
			expect(eve.sessionId).not.toBe(ada.sessionId);
			expect(await envelopesOf(group.mention('hello?'), { allowedGroupChatIds: 'some-other-chat' })).toEqual([]);
			expect(await envelopesOf(group.mention('hello!'), { allowedGroupChatIds: `some-other-chat, ${group.chatId}` })).toHaveLength(1);
			expect(await envelopesOf(group.mention('let me in', 'stranger'), { allowedSenderIds: driver.adaListedAs })).toEqual([]);
			expect(await envelopesOf(group.mention('it is me'), { allowedSenderIds: driver.adaListedAs })).toHaveLength(1);
		});
	});

	test('DM policies: Allowlist, Allowed Senders, Disabled, and the open default', async () => {
		const allowlist = { dmPolicy: 'allowlist', allowedSenderIds: driver.adaListedAs };
		expect(await sendDm('hi, it is Ada', 'ada', allowlist)).toHaveLength(1);
		expect(await sendDm('hi, a stranger here', 'stranger', allowlist)).toEqual([]);
		expect(await sendDm('anyone?', 'ada', { dmPolicy: 'allowlist' })).toEqual([]);
		expect(await sendDm('not me', 'stranger', { allowedSenderIds: driver.adaListedAs })).toEqual([]);
		expect(await sendDm('hello?', 'ada', { dmPolicy: 'disabled', allowedSenderIds: driver.adaListedAs })).toEqual([]);
		expect(await sendDm('hello from afar', 'stranger')).toHaveLength(1);
	});

	describe('DM pairing', () => {
		let staticData: Record<string, unknown> = {};
		const warnings: string[] = [];
		const node = { getWorkflowStaticData: () => staticData, logger: { info: () => undefined, warn: (line: string) => void warnings.push(line) } } as unknown as PairingContext;
		const pairing = { dmPolicy: 'pairing', allowedSenderIds: driver.adaListedAs };

		/** A DM through the listener's admission with pairing, as runListenerTrigger's admit does it. */
		async function pairingDm(text: string, from: 'ada' | 'stranger') {
			const settings = receiveSettingsFrom(plugin, pairing);
			const inbound = (await driver.inbound(driver.dm(text, from), settings))!;
			const envelope = stampVia(inbound.envelope!, plugin.id);
			const admission = admitMessage(plugin, envelope, inbound.facts, policyWithApprovedSenders(node, settings.policy));
			const work = pairingWorkOf(admission);
			if (work) await settlePairingWork(node, plugin, driver.credential(), work);
			return { admission, chatId: envelope.chat.id };
		}

		test("a stranger's DM gets a one-time code and starts nothing; the owner's /pair approves; the stranger's next DM is emitted", async () => {
			staticData = {};
			const asked = await pairingDm('hello, can I use you?', 'stranger');
			expect(asked.admission.kind).toBe('pairing-request');
			const code = /\b([A-HJ-NP-Z2-9]{8})\b/.exec(driver.outbound.sentTexts(asked.chatId).at(-1) ?? '')?.[1];
			expect(code).toEqual(expect.any(String));
			const approved = await pairingDm(`/pair ${code}`, 'ada');
			expect(approved.admission.kind).toBe('pair-command');
			expect(driver.outbound.sentTexts(approved.chatId).at(-1)).toMatch(/^Approved /);
			expect((await pairingDm('thanks!', 'stranger')).admission.kind).toBe('emit');
			expect(warnings).toEqual([]);
		});
	});

	describe('outbound', () => {
		test('a 10,000-character Markdown answer arrives as several messages within the limit, in order', async () => {
			const [envelope] = await sendDm('tell me everything');
			const markers = Array.from({ length: 60 }, (_, i) => `Q${i + 1}Q`);
			const markdown = markers.map((marker) => `${marker} Lorem ipsum dolor sit amet, **consectetur** adipiscing elit, sed do *eiusmod* tempor incididunt ut labore et dolore magna aliqua.`).join('\n\n').repeat(1);
			const long = `${markdown}\n\n${markdown.replace(/Q(\d+)Q/g, 'R$1R')}\n\n${markdown.replace(/Q(\d+)Q/g, 'S$1S')}`;
			const sent = await replyTo(plugin, await plugin.createClient(driver.credential()), { envelope, text: long, quote: true, inThread: true, linkPreviews: false });
			const posted = driver.outbound.sentTexts(sent.chatId).slice(-sent.messageIds.length);
			expect(posted.length).toBeGreaterThan(1);
			const measure = plugin.capabilities.renderer.measure ?? ((text: string) => text.length);
			for (const text of posted) expect(measure(text)).toBeLessThanOrEqual(plugin.capabilities.textLimit);
			const all = posted.join('\n');
			let from = 0;
			for (const marker of [...markers, ...markers.map((m) => m.replace(/Q/g, 'R')), ...markers.map((m) => m.replace(/Q/g, 'S'))]) {
				const at = all.indexOf(marker, from);
				expect({ marker, found: at >= 0 }).toEqual({ marker, found: true });
				from = at + marker.length;
			}
		});

		test('a 429 with Retry-After is waited out and the message arrives once; a longer one fails at once', async () => {
			const [envelope] = await sendDm('are you there?');
			const client = await plugin.createClient(driver.credential());
			const text = `after the wait ${Date.now()}`;
			driver.outbound.rateLimitNextSend!(1);
			const calls = driver.outbound.sendCalls();
			const started = Date.now();
			const sent = await replyTo(plugin, client, { envelope, text, quote: false, inThread: true, linkPreviews: false });
			expect(Date.now() - started).toBeGreaterThanOrEqual(900);
			expect(driver.outbound.sendCalls() - calls).toBe(2);
			expect(driver.outbound.sentTexts(sent.chatId).filter((posted) => posted === text)).toHaveLength(1);

			driver.outbound.rateLimitNextSend!(120);
			const failure = await replyTo(plugin, client, { envelope, text: 'too late', quote: false, inThread: true, linkPreviews: false }).catch((error: Error) => error);
			expect((failure as Error).message).toMatch(/rate.?limit|429/i);
		});

		test('a send with a wrong credential fails in words that point at the credential, never carrying its secret', async () => {
			const [envelope] = await sendDm('hello again');
			const { credential, token } = driver.wrongToken();
			const failure = await Promise.resolve()
				.then(async () => await replyTo(plugin, await plugin.createClient(credential), { envelope, text: 'never', quote: false, inThread: true, linkPreviews: false }))
				.catch((error: Error) => error);
			expect(failure).toBeInstanceOf(Error);
			expect((failure as Error).message).toContain(plugin.name);
			expect((failure as Error).message).toMatch(/credential/i);
			expect(JSON.stringify({ message: (failure as Error).message, ...(failure as object) })).not.toContain(token);
		});

		test('deliverText to the chat of an envelope posts there', async () => {
			const [envelope] = await sendDm('ping');
			const target = plugin.outbound.replyTarget?.(envelope, false) ?? { chatId: envelope.chat.id, threadId: null };
			const sent = await deliverText(plugin, await plugin.createClient(driver.credential()), { ...target, markdown: 'pong', replyToId: null, linkPreviews: false });
			expect(sent.messageIds).toHaveLength(1);
			expect(driver.outbound.sentTexts(sent.chatId).at(-1)).toBe('pong');
		});
	});
});
