import type { WebhookContext, WebhookRequest } from '../../nodes/core/channel';
import { InvalidPayloadError } from '../../nodes/core/errors';
import { buildMessageKey, type Envelope } from '../../nodes/core/envelope';
import { RecentKeys } from '../../nodes/core/recent-keys';
import { handleWebhookDelivery, type WebhookDeliveryInput, type WebhookOutcome } from '../../nodes/core/webhook-delivery';
import {
	checkSlackTriggerCredential,
	createSlackClient,
	formatSlackMessages,
	normalizeSlackEvent,
	resolveSlackBotUserId,
	sendSlackText,
	slackCapabilities,
	slackMissingSignature,
	updateSlackMessage,
	uploadSlackFile,
	verifySlackDelivery,
	verifySlackSignature,
	type SlackCredential,
	type SlackEventCallback,
	type SlackTriggerOptions,
} from '../../nodes/Slack/slack.adapter';
import { slackPlugin } from '../../nodes/Slack/slack.plugin';
import { receiveSettingsFrom } from '../../nodes/shared/trigger-settings';
import { EmulatorServer } from '../emulators/kit';
import { makeBotToken, signSlackRequest, SlackEmulator } from '../emulators/slack';

/** An outcome as the platform sees it, without the credential the pipeline hands on to the trigger. */
function decided(outcome: WebhookOutcome | undefined): unknown {
	if (!outcome || !('credential' in outcome)) return outcome;
	return Object.fromEntries(Object.entries(outcome).filter(([key]) => key !== 'credential'));
}

interface SlackTriggerSetup {
	credential: SlackCredential;
	/** The trigger's options as n8n holds them (v1 names included). */
	options?: Record<string, unknown>;
	recent: RecentKeys;
	webhookId?: string;
	/** Counts the trigger's credential reads. */
	reads?: { count: number };
}

/** What the Slack Trigger hands the shared pipeline for one request (nodes/shared/webhook-trigger.ts builds the same from n8n's). */
function slackDelivery(request: { headers: WebhookRequest['headers']; rawBody: Buffer | string }, { credential, options = {}, recent, webhookId = 'hook-1', reads }: SlackTriggerSetup): WebhookDeliveryInput<SlackCredential> {
	const rawBody = Buffer.isBuffer(request.rawBody) ? request.rawBody : Buffer.from(request.rawBody);
	const context: WebhookContext = { workflowId: 'workflow-1', nodeId: 'slack-trigger', webhookId, options, now: Date.now() };
	return {
		request: { method: 'POST', headers: request.headers, rawBody, body: undefined, query: {}, url: `https://n8n.example.com/webhook/${webhookId}/webhook` },
		context,
		async credentialFor(verifies) {
			if (reads) reads.count++;
			return { credential, verified: verifies(credential) };
		},
		...receiveSettingsFrom(slackPlugin, options),
		recent,
	};
}

describe('Slack adapter against the Web API emulator (@slack/web-api over HTTP)', () => {
	const slack = new SlackEmulator();
	const client = () => createSlackClient({ botToken: slack.token, baseUrl: slack.apiUrl });

	beforeAll(() => slack.start());
	afterAll(() => slack.stop());

	test('posts the model\'s Markdown to a channel as Slack mrkdwn and returns the message ts', async () => {
		const sent = await sendSlackText(client(), { channel: 'C0GENERAL', text: '**Paris** is the *capital* & a [city](https://en.wikipedia.org/wiki/Paris)' });
		const call = slack.calls('chat.postMessage').at(-1)!;
		expect(call.headers.authorization).toBe(`Bearer ${slack.token}`);
		// Link previews of model text are off unless asked for.
		expect(call.body).toEqual({ channel: 'C0GENERAL', text: '*Paris* is the _capital_ &amp; a <https://en.wikipedia.org/wiki/Paris|city>', mrkdwn: 'true', unfurl_links: 'false', unfurl_media: 'false' });
		expect(sent).toEqual({ chatId: 'C0GENERAL', messageIds: [slack.posted.at(-1)!.ts], threadId: null });
	});

	test('posts into a thread when given the parent ts; an empty thread posts to the channel', async () => {
		await sendSlackText(client(), { channel: 'C0GENERAL', text: 'in thread', threadTs: '1700000000.000100' });
		expect(slack.calls('chat.postMessage').at(-1)!.body).toMatchObject({ thread_ts: '1700000000.000100' });
		await sendSlackText(client(), { channel: 'C0GENERAL', text: 'top level', threadTs: '' });
		expect(slack.calls('chat.postMessage').at(-1)!.body).not.toHaveProperty('thread_ts');
	});

	test('splits text longer than Slack\'s 4,000-character limit into several messages, in order', async () => {
		const paragraph = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(30).trim();
		const text = Array.from({ length: 6 }, (_, index) => `Part ${index + 1}. ${paragraph}`).join('\n\n');
		const before = slack.posted.length;
		const sent = await sendSlackText(client(), { channel: 'C0LONG', text, threadTs: '1700000000.000200' });

		const posted = slack.posted.slice(before);
		expect(posted.length).toBeGreaterThan(2);
		expect(sent.messageIds).toEqual(posted.map((message) => message.ts));
		for (const message of posted) {
			expect(message.text.length).toBeLessThanOrEqual(slackCapabilities.textLimit);
			expect(message.threadTs).toBe('1700000000.000200');
		}
		expect(posted.map((message) => message.text).join(' ').replace(/\s+/g, ' ')).toBe(text.replace(/\s+/g, ' '));
	});

	test('never splits a UTF-16 surrogate pair, even in text without spaces', async () => {
		const emoji = '😀'.repeat(3000);
		const before = slack.posted.length;
		await sendSlackText(client(), { channel: 'C0GENERAL', text: emoji });
		const texts = slack.posted.slice(before).map((message) => message.text);
		expect(texts.length).toBeGreaterThan(1);
		expect(texts.join('')).toBe(emoji);
		for (const text of texts) expect(text).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
	});

	test('a code block split across messages is closed and reopened, so each message renders', () => {
		const code = Array.from({ length: 400 }, (_, index) => `const line${index} = ${index};`).join('\n');
		const chunks = formatSlackMessages(`Here:\n\n\`\`\`js\n${code}\n\`\`\``);
		expect(chunks.length).toBeGreaterThan(1);
		for (const chunk of chunks) {
			expect(chunk.length).toBeLessThanOrEqual(slackCapabilities.textLimit);
			expect(chunk.match(/```/g)?.length ?? 0).toBe(2);
		}
	});

	test('edits a message the bot posted (chat.update)', async () => {
		const { messageIds } = await sendSlackText(client(), { channel: 'C0GENERAL', text: 'Thinking…' });
		const updated = await updateSlackMessage(client(), { channel: 'C0GENERAL', ts: messageIds[0], text: 'Paris.' });
		expect(updated.messageIds).toEqual(messageIds);
		expect(slack.posted.find((message) => message.ts === messageIds[0])?.text).toBe('Paris.');
	});

	test('an edit that does not fit in one message is refused before any call', async () => {
		const before = slack.calls('chat.update').length;
		await expect(updateSlackMessage(client(), { channel: 'C0GENERAL', ts: '1.2', text: 'x '.repeat(3000) })).rejects.toThrow(/does not fit in one Slack message/);
		expect(slack.calls('chat.update')).toHaveLength(before);
	});

	test('editing a message that does not exist names the timestamp as the thing to check', async () => {
		await expect(updateSlackMessage(client(), { channel: 'C0GENERAL', ts: '1.000001', text: 'x' })).rejects.toThrow(
			'Slack refused chat.update (message_not_found): check the message timestamp (ts); it must be a message in that channel.',
		);
	});

	test('uploads a file with files.uploadV2: upload URL, the bytes, then completion in the channel and thread', async () => {
		const data = Buffer.from('%PDF-1.4 a tiny report\n');
		const uploaded = await uploadSlackFile(client(), {
			channel: 'C0GENERAL',
			data,
			filename: 'report.pdf',
			title: 'Weekly report',
			threadTs: '1700000000.000300',
			initialComment: 'Here it is',
		});

		expect(uploaded).toEqual({ chatId: 'C0GENERAL', fileIds: [expect.stringMatching(/^F/)], threadId: '1700000000.000300' });
		expect(slack.calls('files.getUploadURLExternal').at(-1)!.body).toMatchObject({ filename: 'report.pdf', length: String(data.length) });
		expect(slack.uploadedBytes(uploaded.fileIds[0])).toEqual(data);
		const completion = slack.calls('files.completeUploadExternal').at(-1)!.body;
		expect(completion).toMatchObject({ channel_id: 'C0GENERAL', thread_ts: '1700000000.000300', initial_comment: 'Here it is' });
		expect(JSON.parse(String(completion.files))).toEqual([{ id: uploaded.fileIds[0], title: 'Weekly report' }]);
		expect(slack.posted.at(-1)).toMatchObject({ channel: 'C0GENERAL', files: uploaded.fileIds });
	});

	test('waits out a 429 for its Retry-After, then posts once', async () => {
		slack.fail({ method: 'chat.postMessage', rateLimitSeconds: 1 });
		const before = slack.calls('chat.postMessage').length;
		const postedBefore = slack.posted.length;

		const sent = await sendSlackText(client(), { channel: 'C0GENERAL', text: 'after the limit' });

		const calls = slack.calls('chat.postMessage').slice(before);
		expect(calls).toHaveLength(2);
		expect(calls[1].receivedAt - calls[0].receivedAt).toBeGreaterThanOrEqual(990);
		expect(slack.posted.slice(postedBefore).map((message) => message.text)).toEqual(['after the limit']);
		expect(sent.messageIds).toHaveLength(1);
	});

	test('a Retry-After longer than Clawgate waits fails at once, saying so', async () => {
		slack.fail({ method: 'chat.postMessage', rateLimitSeconds: 600 });
		const before = slack.calls('chat.postMessage').length;
		const started = Date.now();
		await expect(sendSlackText(client(), { channel: 'C0GENERAL', text: 'x' })).rejects.toThrow(/rate-limiting chat\.postMessage and asked to wait 600 s/);
		expect(Date.now() - started).toBeLessThan(2000);
		expect(slack.calls('chat.postMessage')).toHaveLength(before + 1);
	});

	test('gives up after three retries when Slack keeps answering 429', async () => {
		slack.fail(...Array.from({ length: 4 }, () => ({ method: 'chat.postMessage', rateLimitSeconds: 0 })));
		const before = slack.calls('chat.postMessage').length;
		await expect(sendSlackText(client(), { channel: 'C0GENERAL', text: 'x' })).rejects.toThrow(/kept rate-limiting chat\.postMessage after 3 retries/);
		expect(slack.calls('chat.postMessage')).toHaveLength(before + 4);
		expect(slack.pendingFaults()).toEqual([]);
	});

	test('a wrong bot token fails with advice to check the credential, without the token in the error', async () => {
		const wrongToken = makeBotToken();
		const failure = sendSlackText(createSlackClient({ botToken: wrongToken, baseUrl: slack.apiUrl }), { channel: 'C0GENERAL', text: 'hello' });
		await expect(failure).rejects.toThrow(
			'Slack refused chat.postMessage (invalid_auth): check the Bot User OAuth Token (xoxb-...) in the Clawgate Slack credential.',
		);
		await failure.catch((error: Error) => {
			expect(JSON.stringify({ ...error, message: error.message, stack: error.stack })).not.toContain(wrongToken);
		});
	});

	test('posting in a channel the bot is not in tells the user to invite it', async () => {
		slack.notInChannel.add('C0PRIVATE');
		await expect(sendSlackText(client(), { channel: 'C0PRIVATE', text: 'hello' })).rejects.toThrow(
			'Slack refused chat.postMessage (not_in_channel): invite the bot to the channel with /invite @yourbot.',
		);
	});

	test('a missing scope is named, with where to add it', async () => {
		slack.fail({ method: 'files.getUploadURLExternal', error: 'missing_scope', extra: { needed: 'files:write', provided: 'chat:write' } });
		await expect(uploadSlackFile(client(), { channel: 'C0GENERAL', data: Buffer.from('x'), filename: 'x.txt' })).rejects.toThrow(
			/Slack refused files\.uploadV2 \(missing_scope\): add the bot token scope files:write under "OAuth & Permissions"/,
		);
	});

	test('an unreachable API names the base URL, quickly (the SDK\'s 30-minute retries are off)', async () => {
		const offline = createSlackClient({ botToken: slack.token, baseUrl: 'http://127.0.0.1:9/api' });
		const started = Date.now();
		await expect(sendSlackText(offline, { channel: 'C0GENERAL', text: 'x' })).rejects.toThrow(/Could not reach the Slack Web API for chat\.postMessage.*base URL/);
		expect(Date.now() - started).toBeLessThan(5000);
	});

	test('a base URL with a trailing slash works the same', async () => {
		const withSlash = createSlackClient({ botToken: slack.token, baseUrl: `${slack.apiUrl}/` });
		await sendSlackText(withSlash, { channel: 'C0GENERAL', text: 'slash' });
		expect(slack.calls('chat.postMessage').at(-1)!.path).toBe('/api/chat.postMessage');
	});

	test('empty text or channel is refused before any call, with a hint about the default expression', async () => {
		const before = slack.calls('chat.postMessage').length;
		await expect(sendSlackText(client(), { channel: 'C0GENERAL', text: '  ' })).rejects.toThrow(/no text to send.*\$json\.reply\.text/);
		await expect(sendSlackText(client(), { channel: '', text: 'x' })).rejects.toThrow(/no channel to send to.*\$json\.chat\.id/);
		expect(slack.calls('chat.postMessage')).toHaveLength(before);
	});

	test('a credential without a bot token is explained', () => {
		expect(() => createSlackClient({ botToken: ' ' })).toThrow(/no bot token.*xoxb-/);
	});

	test('activating a trigger checks the signing secret is set and Slack accepts the bot token', async () => {
		await expect(checkSlackTriggerCredential(client(), { botToken: slack.token, signingSecret: slack.signingSecret })).resolves.toBeUndefined();
		await expect(checkSlackTriggerCredential(client(), { botToken: slack.token, signingSecret: '' })).rejects.toThrow(/no signing secret.*"Basic Information"/);
		const wrongToken = makeBotToken();
		const wrong = createSlackClient({ botToken: wrongToken, baseUrl: slack.apiUrl });
		await expect(checkSlackTriggerCredential(wrong, { botToken: wrongToken, signingSecret: 'x' })).rejects.toThrow(/auth\.test \(invalid_auth\)/);
	});

	test('the bot user ID comes from auth.test once per process', async () => {
		const workspace = new SlackEmulator({ botUserId: 'U0OTHERBOT' });
		await workspace.start();
		const otherClient = () => createSlackClient({ botToken: workspace.token, baseUrl: workspace.apiUrl });
		expect(await resolveSlackBotUserId(otherClient(), workspace.token)).toBe('U0OTHERBOT');
		expect(await resolveSlackBotUserId(otherClient(), workspace.token)).toBe('U0OTHERBOT');
		expect(workspace.calls('auth.test')).toHaveLength(1);
		await workspace.stop();
	});
});

describe('Slack request signatures (v0, HMAC-SHA256, 5-minute window)', () => {
	const slack = new SlackEmulator();
	const payload = slack.dmMessage({ text: 'hello' });

	function check(delivery = slack.signedDelivery(payload), { signingSecret = slack.signingSecret, now = Date.now() } = {}) {
		return verifySlackSignature({
			signingSecret,
			timestamp: delivery.headers['x-slack-request-timestamp'],
			signature: delivery.headers['x-slack-signature'],
			rawBody: delivery.rawBody,
			now,
		});
	}

	test('a request signed by Slack with the app\'s signing secret is genuine, as a string or as bytes', () => {
		const delivery = slack.signedDelivery(payload);
		expect(check(delivery)).toEqual({ valid: true });
		expect(check({ ...delivery, rawBody: Buffer.from(delivery.rawBody) as unknown as string })).toEqual({ valid: true });
	});

	test('matches Slack\'s documented example signature', () => {
		// From https://docs.slack.dev/authentication/verifying-requests-from-slack
		const body =
			'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
		const result = verifySlackSignature({
			signingSecret: '8f742231b10e8888abcd99yyyzzz85a5',
			timestamp: '1531420618',
			rawBody: body,
			signature: 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
			now: 1531420618_000,
		});
		expect(result).toEqual({ valid: true });
		expect(signSlackRequest('8f742231b10e8888abcd99yyyzzz85a5', 1531420618, body)).toBe('v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503');
	});

	test.each([
		['6 minutes old', 'refused', -360, false],
		['6 minutes in the future', 'refused', 360, false],
		['4 minutes old', 'accepted', -240, true],
	])('a timestamp %s is %s', (_label, _verdict, offsetSeconds, genuine) => {
		const now = Date.now();
		const delivery = slack.signedDelivery(payload, { timestamp: Math.floor(now / 1000) + offsetSeconds });
		expect(check(delivery, { now }).valid).toBe(genuine);
	});

	test('a stale request is refused with a reason that mentions replays and the clock', () => {
		const delivery = slack.signedDelivery(payload, { timestamp: Math.floor(Date.now() / 1000) - 600 });
		expect(check(delivery)).toEqual({ valid: false, reason: expect.stringMatching(/more than 5 minutes.*replay.*clock/) });
	});

	test('a body changed after signing is refused', () => {
		const delivery = slack.signedDelivery(payload);
		expect(check({ ...delivery, rawBody: delivery.rawBody.replace('hello', 'hellO') }).valid).toBe(false);
	});

	test('a request signed with another secret is refused', () => {
		expect(check(slack.signedDelivery(payload, { signingSecret: 'not-the-app-secret' })).valid).toBe(false);
		expect(check(slack.signedDelivery(payload), { signingSecret: 'not-the-app-secret' }).valid).toBe(false);
	});

	test('unsigned requests, malformed headers and an empty secret are refused', () => {
		expect(check(slack.signedDelivery(payload, { unsigned: true })).valid).toBe(false);
		const delivery = slack.signedDelivery(payload);
		expect(check({ ...delivery, headers: { ...delivery.headers, 'x-slack-signature': 'v0=abc' } }).valid).toBe(false);
		expect(check({ ...delivery, headers: { ...delivery.headers, 'x-slack-request-timestamp': 'yesterday' } }).valid).toBe(false);
		expect(check(delivery, { signingSecret: '' })).toEqual({ valid: false, reason: expect.stringMatching(/no signing secret/) });
	});

	test('a delivery without signature headers is refused without the signing secret, with the answer a full check gives it', async () => {
		const recent = new RecentKeys();
		const reads = { count: 0 };
		for (const headers of [slack.signedDelivery(payload, { unsigned: true }).headers, { ...slack.signedDelivery(payload).headers, 'x-slack-request-timestamp': 'yesterday' }]) {
			expect(slackMissingSignature(headers)).toBe('The request carries no Slack signature.');
			const outcome = await handleWebhookDelivery(slackPlugin, slackDelivery({ headers, rawBody: JSON.stringify(payload) }, { credential: { botToken: slack.token, signingSecret: slack.signingSecret }, recent, reads }));
			expect(outcome).toEqual({ kind: 'forged', answer: { status: 401, body: { error: 'The request carries no Slack signature.' } }, reason: 'The request carries no Slack signature.' });
		}
		expect(reads.count).toBe(0);
		expect(recent.size).toBe(0);
		const signed = slack.signedDelivery(payload);
		expect(slackMissingSignature(signed.headers)).toBeNull();
		expect(verifySlackDelivery(signed, slack.signingSecret)).toEqual({ valid: true });
		expect(verifySlackDelivery(signed, 'not-the-app-secret').valid).toBe(false);
	});
});

describe('normalising Slack events into the envelope', () => {
	const slack = new SlackEmulator({ teamId: 'T123' });
	const botUserId = slack.bot.userId;
	const normalize = (payload: Record<string, unknown>, options: SlackTriggerOptions = {}) =>
		normalizeSlackEvent(payload as unknown as SlackEventCallback, { botUserId, options });

	test('a direct message becomes a DM envelope with a stable session ID and the ts as message ID', () => {
		const payload = slack.dmMessage({ text: 'hello', user: 'U0ADA', channel: 'D0ADA' });
		const event = payload.event as { ts: string };
		expect(normalize(payload)).toEqual({
			sessionId: 'slack:T123:dm:D0ADA',
			channel: 'slack',
			accountId: 'T123',
			chat: { id: 'D0ADA', type: 'dm', threadId: null, title: null },
			sender: { id: 'U0ADA', name: null, username: null, isBot: false },
			message: {
				id: event.ts,
				text: 'hello',
				replyToId: null,
				mentionsBot: false,
				command: null,
				attachments: [],
				timestamp: new Date(Math.floor(Number(event.ts) * 1000)).toISOString(),
			},
			// The payload without its legacy verification token (a shared secret).
			raw: Object.fromEntries(Object.entries(payload).filter(([name]) => name !== 'token')),
		});
	});

	test('the idempotency key is slack:<team>:<ts>', () => {
		const payload = slack.dmMessage({ text: 'hello' });
		expect(buildMessageKey(normalize(payload)!)).toBe(`slack:T123:${(payload.event as { channel: string }).channel}:${(payload.event as { ts: string }).ts}`);
	});

	test('an @mention in a channel is a group message that mentions the bot, without the mention in the text', () => {
		const envelope = normalize(slack.appMention({ text: `<@${botUserId}> what is the capital of France?`, channel: 'C0GENERAL' }))!;
		expect(envelope.chat).toEqual({ id: 'C0GENERAL', type: 'group', threadId: null, title: null });
		expect(envelope.sessionId).toBe('slack:T123:group:C0GENERAL');
		expect(envelope.message).toMatchObject({ text: 'what is the capital of France?', mentionsBot: true });
	});

	test('a thread reply carries the thread: its own session, answered in the thread', () => {
		const envelope = normalize(slack.appMention({ text: `<@${botUserId}> and Spain?`, threadTs: '1700000000.000100' }))!;
		expect(envelope.chat.threadId).toBe('1700000000.000100');
		expect(envelope.message.replyToId).toBe('1700000000.000100');
		expect(envelope.sessionId).toBe('slack:T123:group:C0GENERAL:1700000000.000100');
	});

	test('a thread\'s parent message (thread_ts equal to ts) is not a reply', () => {
		const ts = slack.nextTs();
		const envelope = normalize(slack.appMention({ ts, threadTs: ts }))!;
		expect(envelope.chat.threadId).toBeNull();
	});

	test('replies in a DM thread are threaded too', () => {
		const envelope = normalize(slack.threadReply({ text: 'more', threadTs: '1700000000.000500', channelType: 'im' }))!;
		expect(envelope.chat).toMatchObject({ type: 'dm', threadId: '1700000000.000500' });
	});

	test('channel messages without a mention start nothing unless Channel Messages is on', () => {
		const payload = slack.channelMessage({ text: 'just chatting' });
		expect(normalize(payload)).toBeNull();
		expect(normalize(payload, { channelMessages: true })).toMatchObject({ chat: { type: 'group' }, message: { text: 'just chatting', mentionsBot: false } });
	});

	test('private channels and group DMs are groups', () => {
		expect(normalize(slack.channelMessage({ text: 'a', channel: 'G0SECRET', channelType: 'group' }), { channelMessages: true })?.chat.type).toBe('group');
		expect(normalize(slack.channelMessage({ text: 'b', channel: 'G0MPIM', channelType: 'mpim' }), { channelMessages: true })?.chat.type).toBe('group');
	});

	test.each([
		['Channel Messages off', {}, 'app_mention'],
		['Channel Messages on', { channelMessages: true }, 'message'],
	])('a mention delivered as app_mention and as message makes one envelope (%s)', (_label, options, emitted) => {
		const { appMention, message } = slack.mentionInChannel({ text: `<@${botUserId}> hi` });
		const envelopes = [normalize(appMention, options), normalize(message, options)].filter((envelope): envelope is Envelope => envelope !== null);
		expect(envelopes).toHaveLength(1);
		expect((envelopes[0].raw as { event: { type: string } }).event.type).toBe(emitted);
		expect(envelopes[0].message).toMatchObject({ id: (appMention.event as { ts: string }).ts, text: 'hi', mentionsBot: true });
	});

	test('an app_mention in a DM is left to the message.im event', () => {
		expect(normalize(slack.appMention({ channel: 'D0ADA' }))).toBeNull();
	});

	test('the bot\'s own messages are never emitted; other bots only with Include Bots', () => {
		expect(normalize(slack.botMessage({ text: 'my answer', own: true, channel: 'D0ADA', channelType: 'im' }), { includeBots: true })).toBeNull();
		const other = slack.botMessage({ text: 'deployed', channel: 'D0ADA', channelType: 'im' });
		expect(normalize(other)).toBeNull();
		expect(normalize(other, { includeBots: true })?.sender).toEqual({ id: 'B0OTHERBOT', name: 'Deploy Bot', username: null, isBot: true });
	});

	test('without the bot\'s identity no bot message is emitted, since it could be its own', () => {
		const own = slack.botMessage({ text: 'my answer', own: true, channel: 'D0ADA', channelType: 'im' });
		expect(normalizeSlackEvent(own as unknown as SlackEventCallback, { botUserId: null, options: { includeBots: true } })).toBeNull();
	});

	test('edits, deletions and other message subtypes are not emitted', () => {
		expect(normalize(slack.messageChanged({ ts: slack.nextTs(), text: 'edited' }))).toBeNull();
		const deleted = slack.dmMessage({ text: '' });
		Object.assign(deleted.event as object, { subtype: 'message_deleted', hidden: true });
		expect(normalize(deleted)).toBeNull();
		const joined = slack.channelMessage({ text: '<@U0ADA> has joined the channel' });
		Object.assign(joined.event as object, { subtype: 'channel_join' });
		expect(normalize(joined, { channelMessages: true })).toBeNull();
	});

	test('shared files become attachments, with the kind read from the MIME type', () => {
		const envelope = normalize(
			slack.fileShare({
				text: 'what is in these?',
				files: [
					{ name: 'cat.png', mimetype: 'image/png', size: 2048 },
					{ name: 'audio_message.m4a', mimetype: 'audio/mp4', size: 4096, subtype: 'slack_audio' },
					{ name: 'report.pdf', mimetype: 'application/pdf', size: 8192 },
				],
			}),
		)!;
		expect(envelope.message.text).toBe('what is in these?');
		expect(envelope.message.attachments).toEqual([
			{ kind: 'image', id: expect.stringMatching(/^F/), mimeType: 'image/png', name: 'cat.png', size: 2048 },
			{ kind: 'voice', id: expect.stringMatching(/^F/), mimeType: 'audio/mp4', name: 'audio_message.m4a', size: 4096 },
			{ kind: 'document', id: expect.stringMatching(/^F/), mimeType: 'application/pdf', name: 'report.pdf', size: 8192 },
		]);
	});

	test('/new is a command in a DM (also typed " /new", as Slack\'s composer asks) and after an @mention in a channel', () => {
		expect(normalize(slack.dmMessage({ text: '/new' }))?.message.command).toBe('new');
		expect(normalize(slack.dmMessage({ text: ' /new' }))?.message.command).toBe('new');
		expect(normalize(slack.appMention({ text: `<@${botUserId}> /new` }))?.message.command).toBe('new');
		expect(normalize(slack.dmMessage({ text: 'what does /new do?' }))?.message.command).toBeNull();
	});

	test('Slack\'s &amp; &lt; &gt; escapes are undone; other mentions stay as Slack wrote them', () => {
		const envelope = normalize(slack.dmMessage({ text: 'is 1 &lt; 2 &amp;&amp; 3 &gt; 2? ask <@U0BOB>' }))!;
		expect(envelope.message.text).toBe('is 1 < 2 && 3 > 2? ask <@U0BOB>');
	});

	test('a mention of the bot later in a channel message counts as a mention', () => {
		const envelope = normalize(slack.channelMessage({ text: `thanks <@${botUserId}>!` }), { channelMessages: true })!;
		expect(envelope.message).toMatchObject({ mentionsBot: true, text: `thanks <@${botUserId}>!` });
	});

	test('Session Per User in Groups gives each member a session; DMs are per user already', () => {
		expect(normalize(slack.appMention({ user: 'U0BOB' }), { sessionScope: 'user' })?.sessionId).toBe('slack:T123:group:C0GENERAL:user:U0BOB');
		expect(normalize(slack.dmMessage({ text: 'hi' }), { sessionScope: 'user' })?.sessionId).toBe('slack:T123:dm:D0ADA');
	});

	test('allow-lists: senders everywhere, channels only for channels (DMs are limited by sender)', () => {
		const options = { allowedUserIds: ['U0ADA'], allowedChannelIds: ['C0BOTS'] };
		expect(normalize(slack.dmMessage({ text: 'hi', user: 'U0ADA' }), options)).not.toBeNull();
		expect(normalize(slack.dmMessage({ text: 'hi', user: 'U0EVE', channel: 'D0EVE' }), options)).toBeNull();
		expect(normalize(slack.appMention({ user: 'U0ADA', channel: 'C0BOTS' }), options)).not.toBeNull();
		expect(normalize(slack.appMention({ user: 'U0ADA', channel: 'C0GENERAL' }), options)).toBeNull();
	});

	test('the legacy verification token Slack sends in every event never reaches the envelope', () => {
		const payload = { ...slack.dmMessage({ text: 'hi' }), token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl' };
		const envelope = normalize(payload);
		expect(envelope?.raw).toMatchObject({ event: { text: 'hi' } });
		expect(JSON.stringify(envelope)).not.toContain('Jhj5dZrVaK7ZwHHjRyZWjbDl');
	});

	test('a user_profile in the event gives the sender a name', () => {
		const payload = slack.dmMessage({ text: 'hi' });
		Object.assign(payload.event as object, { user_profile: { name: 'ada', real_name: 'Ada Lovelace', display_name: 'Ada' } });
		expect(normalize(payload)?.sender).toEqual({ id: 'U0ADA', name: 'Ada Lovelace', username: 'ada', isBot: false });
	});

	test('an org-wide Enterprise Grid install uses the enterprise ID as the account', () => {
		const payload = slack.dmMessage({ text: 'hi' });
		Object.assign(payload, {
			enterprise_id: 'E0ORG',
			authorizations: [{ enterprise_id: 'E0ORG', team_id: null, user_id: botUserId, is_bot: true, is_enterprise_install: true }],
		});
		expect(normalize(payload)).toMatchObject({ accountId: 'E0ORG', sessionId: 'slack:E0ORG:dm:D0ADA' });
		const workspaceInstall = slack.dmMessage({ text: 'hi' });
		Object.assign(workspaceInstall, { enterprise_id: 'E0ORG' });
		expect(normalize(workspaceInstall)?.accountId).toBe('T123');
	});

	test('a message event without channel or ts is rejected as invalid, not a crash', () => {
		const payload = slack.dmMessage({ text: 'hi' });
		delete (payload.event as Record<string, unknown>).channel;
		Object.assign(payload.event as object, { channel_type: 'im' });
		expect(() => normalize(payload)).toThrow(InvalidPayloadError);
	});
});

describe('one Events API delivery, over HTTP: verify → deduplicate → normalise → decide', () => {
	const slack = new SlackEmulator({ teamId: 'T123' });
	let setup: SlackTriggerSetup;
	const outcomes: WebhookOutcome[] = [];
	// Stands in for the trigger's webhook: the request Slack's sender made, handled by the shared pipeline, answered as the trigger answers.
	const webhook = new EmulatorServer('Slack Trigger webhook', async (request) => {
		const outcome = await handleWebhookDelivery(slackPlugin, slackDelivery({ headers: request.headers, rawBody: request.rawBody }, setup));
		outcomes.push(outcome);
		const { status, body, contentType } = outcome.answer;
		return { status, body, ...(contentType ? { headers: { 'content-type': contentType } } : {}) };
	});
	const deliver = (payload: unknown, options?: Parameters<SlackEmulator['deliver']>[2]) => slack.deliver(webhook.url, payload, options);
	const emitted = () => outcomes.flatMap((outcome) => (outcome.kind === 'taken' ? outcome.envelopes : []));
	const eventIdOf = (payload: Record<string, unknown>) => String(payload.event_id);

	beforeAll(() => Promise.all([slack.start(), webhook.start()]));
	afterAll(() => Promise.all([slack.stop(), webhook.stop()]));
	beforeEach(() => {
		outcomes.length = 0;
		setup = { credential: { botToken: slack.token, signingSecret: slack.signingSecret, baseUrl: slack.apiUrl }, recent: new RecentKeys(), webhookId: 'hook-1' };
	});

	test('a signed direct message is answered 200 and emits one envelope', async () => {
		const result = await deliver(slack.dmMessage({ text: 'hello' }));
		expect(result).toEqual({ status: 200, body: JSON.stringify({ ok: true }) });
		expect(emitted()).toHaveLength(1);
		expect(emitted()[0]).toMatchObject({ channel: 'slack', via: 'slack', chat: { id: 'D0ADA', type: 'dm' }, message: { text: 'hello' } });
		expect(outcomes[0]).toMatchObject({ kind: 'taken', dropped: [] });
	});

	test('the Request URL check is answered with the challenge, and starts nothing', async () => {
		const payload = slack.urlVerification('3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P');
		const result = await deliver(payload);
		expect(result).toEqual({ status: 200, body: JSON.stringify({ challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' }) });
		expect(outcomes[0].kind).toBe('answered');
		expect(emitted()).toHaveLength(0);
	});

	test('an unsigned Request URL check gets no challenge back', async () => {
		const result = await deliver(slack.urlVerification('abc'), { unsigned: true });
		expect(result.status).toBe(401);
		expect(result.body).not.toContain('abc');
		expect(outcomes[0].kind).toBe('forged');
	});

	test('forged, stale and tampered deliveries are answered 401 and start nothing', async () => {
		const payload = slack.dmMessage({ text: 'transfer the money' });
		expect((await deliver(payload, { signingSecret: 'guessed' })).status).toBe(401);
		expect((await deliver(payload, { timestamp: Math.floor(Date.now() / 1000) - 301 })).status).toBe(401);
		const tampered = JSON.stringify(payload).replace('transfer the money', 'transfer it all');
		expect((await deliver(payload, { bodyOverride: tampered })).status).toBe(401);
		expect(outcomes.map((outcome) => outcome.kind)).toEqual(['forged', 'forged', 'forged']);
		expect(emitted()).toHaveLength(0);
	});

	test('Slack\'s retry of an event already received starts nothing', async () => {
		const payload = slack.dmMessage({ text: 'hello once' });
		await deliver(payload);
		const retry = await deliver(payload, { retryNum: 1, retryReason: 'http_timeout' });
		expect(retry).toEqual({ status: 200, body: JSON.stringify({ ok: true }) });
		expect(emitted()).toHaveLength(1);
		expect(decided(outcomes[1])).toEqual({ kind: 'taken', answer: { status: 200, body: { ok: true } }, envelopes: [], dropped: [`${eventIdOf(payload)}: a redelivery of an event already received`] });
	});

	test('a retry of an event this process never saw is emitted (its first delivery was lost)', async () => {
		await deliver(slack.dmMessage({ text: 'lost the first time' }), { retryNum: 2, retryReason: 'http_error' });
		expect(emitted()).toHaveLength(1);
	});

	test('another trigger receiving the same event emits it too: redeliveries are remembered per webhook', async () => {
		const payload = slack.dmMessage({ text: 'two workflows' });
		await deliver(payload);
		setup = { ...setup, webhookId: 'hook-2' };
		await deliver(payload);
		expect(emitted()).toHaveLength(2);
	});

	test('a forged request cannot mark an event as seen', async () => {
		const payload = slack.dmMessage({ text: 'hello' });
		await deliver(payload, { signingSecret: 'guessed' });
		await deliver(payload);
		expect(emitted()).toHaveLength(1);
	});

	test.each([
		['Channel Messages off', {}],
		['Channel Messages on', { channelMessages: true }],
	])('a mention in a channel, delivered as app_mention and as message, starts one execution (%s)', async (_label, options) => {
		setup.options = options;
		const { appMention, message } = slack.mentionInChannel();
		await Promise.all([deliver(appMention), deliver(message)]);
		expect(outcomes.map((outcome) => outcome.answer.status)).toEqual([200, 200]);
		expect(emitted()).toHaveLength(1);
	});

	test('events it does not emit are acknowledged with 200 and start nothing', async () => {
		const edit = slack.messageChanged({ ts: slack.nextTs(), text: 'edited' });
		const own = slack.botMessage({ text: 'my own answer', own: true, channel: 'D0ADA', channelType: 'im' });
		const reaction = slack.eventCallback({ type: 'reaction_added', user: 'U0ADA', reaction: 'thumbsup', item: { type: 'message', channel: 'C0GENERAL', ts: '1.2' }, event_ts: '1.3' });
		for (const payload of [edit, own, reaction]) await deliver(payload);
		await deliver({ token: 'x', team_id: 'T123', minute_rate_limited: 1518467820, api_app_id: 'A0CLAWGATE', type: 'app_rate_limited' });
		const acknowledged = { status: 200, body: { ok: true } };
		expect(outcomes.map(decided)).toEqual([
			{ kind: 'taken', answer: acknowledged, envelopes: [], dropped: [`${eventIdOf(edit)}: message subtype "message_changed" (edits, deletions and notices are not emitted)`] },
			{ kind: 'taken', answer: acknowledged, envelopes: [], dropped: [`${eventIdOf(own)}: the bot sent it itself`] },
			{ kind: 'taken', answer: acknowledged, envelopes: [], dropped: [`${eventIdOf(reaction)}: "reaction_added" events are not messages`] },
			{ kind: 'answered', answer: acknowledged, reason: '"app_rate_limited" payloads are not events' },
		]);
	});

	test('a signed body that is not an Events API payload is answered 400 with what this URL is for', async () => {
		expect((await deliver('a JSON string, not an object')).status).toBe(400);
		const { headers } = slack.signedDelivery({});
		const formBody = 'command=%2Fask&text=hi';
		const timestamp = headers['x-slack-request-timestamp'];
		const response = await fetch(webhook.url, {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': timestamp, 'x-slack-signature': signSlackRequest(slack.signingSecret, timestamp, formBody) },
			body: formBody,
		});
		expect(response.status).toBe(400);
		expect(await response.text()).toMatch(/Events API.*Slash Commands elsewhere/);
		expect(outcomes.map((outcome) => outcome.kind)).toEqual(['invalid', 'invalid']);
	});

	test('without authorizations in the payload the bot is identified with auth.test, so its own messages stay out', async () => {
		const own = slack.botMessage({ text: 'my answer', own: true, channel: 'D0ADA', channelType: 'im' });
		delete own.authorizations;
		setup.options = { includeBots: true };
		await deliver(own);
		expect(slack.calls('auth.test').length).toBeGreaterThan(0);
		expect(decided(outcomes[0])).toEqual({ kind: 'taken', answer: { status: 200, body: { ok: true } }, envelopes: [], dropped: [`${eventIdOf(own)}: the bot sent it itself`] });
	});
});

describe('remembering delivery IDs (RecentKeys, which drops Slack\'s retries)', () => {
	test('remembers an ID past Slack\'s last retry (about five minutes), and forgets it after an hour', () => {
		const recent = new RecentKeys();
		expect(recent.remember('Ev1', 0)).toBe(true);
		expect(recent.remember('Ev1', 9 * 60_000)).toBe(false);
		expect(recent.remember('Ev1', 60 * 60_000 + 1)).toBe(true);
	});

	test('holds at most its bound, dropping the oldest first', () => {
		const recent = new RecentKeys(60_000, 3);
		for (const id of ['Ev1', 'Ev2', 'Ev3', 'Ev4']) recent.remember(id, 1);
		expect(recent.size).toBe(3);
		expect(recent.remember('Ev4', 2)).toBe(false);
		expect(recent.remember('Ev1', 2)).toBe(true);
	});
});
