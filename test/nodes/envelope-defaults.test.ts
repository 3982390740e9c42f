/**
 * The newest version of every node that reads the envelope does so without n8n's expression
 * engine: its defaults are plain values meaning "from the envelope", so a default workflow
 * evaluates no expression per message (n8n evaluates each `={{ }}` in an isolate). Older versions
 * keep their expression defaults, so workflow JSON saved with them (which omits default values)
 * answers exactly as before.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Expression, NodeHelpers, type IDataObject, type INode, type INodeParameters, type INodeTypeDescription } from 'n8n-workflow';

import { closeSessionStores } from '../../nodes/shared/session-stores';
import { normalizeDiscordMessage, type DiscordMessagePayload } from '../../nodes/Discord/discord.adapter';
import { DiscordEmulator } from '../emulators/discord';
import { OpenAiEmulator } from '../emulators/openai';
import { SlackEmulator } from '../emulators/slack';
import { TelegramEmulator } from '../emulators/telegram';
import { TwilioEmulator } from '../emulators/twilio';
import { fromTrigger, INPUT_NODE_NAME, nodeTypes, PACKAGE, runWorkflow, telegramDmEnvelope } from './harness';

const model = new OpenAiEmulator({ responder: (request) => `answer to: ${String(request.messages.at(-1)?.content)}` });
const telegram = new TelegramEmulator();
const slack = new SlackEmulator();
const discord = new DiscordEmulator();
const SMS_NUMBER = '+14155550100';
const twilio = new TwilioEmulator({ numbers: [SMS_NUMBER] });
const folder = mkdtempSync(join(tmpdir(), 'clawgate-envelope-defaults-'));
beforeAll(async () => {
	await Promise.all([model.start(), telegram.start(), slack.start(), discord.start(), twilio.start()]);
});
afterAll(async () => {
	await closeSessionStores();
	await Promise.all([model.stop(), telegram.stop(), slack.stop(), discord.stop(), twilio.stop()]);
	rmSync(folder, { recursive: true, force: true });
});

/** Every expression n8n's engine evaluates while `run` runs (the text after `=`). */
async function expressionsEvaluatedDuring<T>(run: () => Promise<T>): Promise<{ result: T; expressions: string[] }> {
	// renderExpression is where n8n hands an expression to its engine (isolated-vm by default); it is not public API.
	const spy = jest.spyOn(Expression.prototype as unknown as { renderExpression(expression: string, data: unknown): unknown }, 'renderExpression');
	try {
		const result = await run();
		return { result, expressions: spy.mock.calls.map(([expression]) => String(expression)) };
	} finally {
		spy.mockRestore();
	}
}

/** The parameters n8n gives a node of this version dropped onto the canvas (or imported without parameters). */
function defaultParameters(type: string, typeVersion: number): INodeParameters {
	const description = (nodeTypes[`${PACKAGE}.${type}`] as { description: INodeTypeDescription }).description;
	const node = { typeVersion, parameters: {} } as unknown as INode;
	return NodeHelpers.getNodeParameters(description.properties, {}, true, false, node, description) ?? {};
}

function expressionValues(value: unknown): string[] {
	if (typeof value === 'string') return value.startsWith('=') ? [value] : [];
	if (Array.isArray(value)) return value.flatMap(expressionValues);
	if (value && typeof value === 'object') return Object.values(value).flatMap(expressionValues);
	return [];
}

function chain(nodes: INode[]) {
	const connections: Record<string, { main: Array<Array<{ node: string; type: 'main'; index: number }>> }> = {};
	[INPUT_NODE_NAME, ...nodes.map((node) => node.name)].slice(0, -1).forEach((from, index) => {
		connections[from] = { main: [[{ node: nodes[index].name, type: 'main', index: 0 }]] };
	});
	return connections;
}

const node = (type: string, typeVersion: number, parameters: IDataObject = {}, credentials: Record<string, { id: string; name: string }> = {}): INode => ({
	id: type,
	name: type,
	type: `${PACKAGE}.${type}`,
	typeVersion,
	position: [0, 0],
	parameters: parameters as INodeParameters,
	credentials,
});

describe('a node of the newest version, left at its defaults, holds no expression', () => {
	test.each([
		['aiSession', 3],
		['telegramSend', 2],
		['slackSend', 2],
		['discordSend', 2],
		['twilioSend', 2],
		['reply', 2],
	])('%s version %s', (type, version) => {
		expect(expressionValues(defaultParameters(type, version))).toEqual([]);
	});

	test('older versions keep the expression defaults that workflows saved with them rely on', () => {
		expect(defaultParameters('aiSession', 2)).toMatchObject({ sessionKey: '={{ $json.sessionId }}', text: '={{ $json.message?.text ?? $json.chatInput }}' });
		expect(defaultParameters('telegramSend', 1)).toMatchObject({
			chatId: '={{ $json.chat.id }}',
			text: '={{ $json.reply.text }}',
			replyToMessageId: '={{ $json.chat?.type === "dm" ? "" : ($json.message?.id ?? "") }}',
			threadId: '={{ $json.chat?.threadId ?? "" }}',
		});
		expect(defaultParameters('slackSend', 1)).toMatchObject({ channelId: '={{ $json.chat.id }}', threadTs: '={{ $json.chat?.threadId ?? "" }}' });
		expect(defaultParameters('discordSend', 1)).toMatchObject({ channelId: '={{ $json.chat.threadId || $json.chat.id }}', replyToMessageId: '={{ $json.message?.id ?? "" }}' });
		expect(defaultParameters('twilioSend', 1)).toMatchObject({ to: '={{ $json.chat.id }}', from: '={{ $json.accountId }}', text: '={{ $json.reply.text }}' });
		expect(defaultParameters('reply', 1)).toMatchObject({ text: '={{ $json.reply.text }}' });
	});
});

describe('Telegram message → AI Session → Telegram Send, every parameter at its default', () => {
	const sqliteFile = join(folder, 'sessions.sqlite');
	const workflow = (aiSessionVersion: number, sendVersion: number, input: IDataObject) =>
		runWorkflow({
			nodes: [
				node('aiSession', aiSessionVersion, { options: { sqliteFile } }, { openAiApi: { id: '1', name: 'OpenAI' } }),
				node('telegramSend', sendVersion, {}, { clawgateTelegramApi: { id: '1', name: 'Bot' } }),
			],
			connections: chain([node('aiSession', 1), node('telegramSend', 1)]),
			credentials: { openAiApi: { apiKey: model.apiKey, url: model.baseUrl }, clawgateTelegramApi: { accessToken: telegram.token, baseUrl: telegram.apiRoot } },
			input: [input],
		});

	test('the newest versions answer the chat with the model reply and evaluate no expression', async () => {
		const { result, expressions } = await expressionsEvaluatedDuring(() => workflow(3, 2, telegramDmEnvelope('501', 'hello')));

		expect(result.error).toBeUndefined();
		expect(expressions).toEqual([]);
		expect(telegram.calls('sendMessage').at(-1)!.body).toMatchObject({ chat_id: '501', text: 'answer to: hello' });
		expect(result.outputOf('aiSession')[0].json.reply).toMatchObject({ session: { id: 'telegram:777:dm:501', turns: 2 } });
	});

	test('workflows saved with the older versions answer the same, through their expression defaults', async () => {
		const { result, expressions } = await expressionsEvaluatedDuring(() => workflow(2, 1, telegramDmEnvelope('502', 'hello')));

		expect(result.error).toBeUndefined();
		expect(expressions.length).toBeGreaterThanOrEqual(6);
		expect(telegram.calls('sendMessage').at(-1)!.body).toMatchObject({ chat_id: '502', text: 'answer to: hello' });
		expect(result.outputOf('aiSession')[0].json.reply).toMatchObject({ session: { id: 'telegram:777:dm:502', turns: 2 } });
	});

	test('n8n Chat Trigger items (sessionId, chatInput) keep working with the empty Session Key and Message Text', async () => {
		const { result, expressions } = await expressionsEvaluatedDuring(() =>
			runWorkflow({
				nodes: [node('aiSession', 3, { options: { sqliteFile } }, { openAiApi: { id: '1', name: 'OpenAI' } })],
				connections: chain([node('aiSession', 3)]),
				credentials: { openAiApi: { apiKey: model.apiKey, url: model.baseUrl } },
				input: [{ sessionId: 'web-1', action: 'sendMessage', chatInput: 'hi from the web' }],
			}),
		);
		expect(result.error).toBeUndefined();
		expect(expressions).toEqual([]);
		expect(result.outputOf('aiSession')[0].json.reply).toMatchObject({ text: 'answer to: hi from the web', session: { id: 'chat:web-1' } });
	});

	test("a user's own expressions in the newest version still apply", async () => {
		const { result, expressions } = await expressionsEvaluatedDuring(() =>
			runWorkflow({
				nodes: [node('aiSession', 3, { options: { sqliteFile }, text: '={{ $json.message.text.toUpperCase() }}' }, { openAiApi: { id: '1', name: 'OpenAI' } })],
				connections: chain([node('aiSession', 3)]),
				credentials: { openAiApi: { apiKey: model.apiKey, url: model.baseUrl } },
				input: [telegramDmEnvelope('503', 'shout')],
			}),
		);
		expect(result.error).toBeUndefined();
		expect(expressions).toHaveLength(1);
		expect(result.outputOf('aiSession')[0].json.reply).toMatchObject({ text: 'answer to: SHOUT' });
	});
});

describe('Telegram Send 2', () => {
	const send = (parameters: IDataObject, input: IDataObject) =>
		runWorkflow({
			nodes: [node('telegramSend', 2, parameters, { clawgateTelegramApi: { id: '1', name: 'Bot' } })],
			connections: chain([node('telegramSend', 2)]),
			credentials: { clawgateTelegramApi: { accessToken: telegram.token, baseUrl: telegram.apiRoot } },
			input: [input],
		});
	const forumMessage = () =>
		fromTrigger({ ...telegramDmEnvelope('-100777', 'question'), chat: { id: '-100777', type: 'group', threadId: '12', title: 'Makers' }, message: { id: '31', text: 'question' }, reply: { text: 'Answer.' } });

	test('in a forum group it quotes the incoming message and stays in its topic, as version 1 did', async () => {
		const { error } = await send({}, forumMessage());
		expect(error).toBeUndefined();
		expect(telegram.calls('sendMessage').at(-1)!.body).toMatchObject({ chat_id: '-100777', text: 'Answer.', message_thread_id: 12, reply_parameters: { message_id: 31 } });
	});

	test('Reply To "None" sends a plain message', async () => {
		await send({ replyTo: 'none' }, forumMessage());
		expect(telegram.calls('sendMessage').at(-1)!.body).not.toHaveProperty('reply_parameters');
	});

	test('a Chat ID of your choice gets neither the incoming topic nor its quote', async () => {
		await send({ chatId: '4242' }, forumMessage());
		const body = telegram.calls('sendMessage').at(-1)!.body;
		expect(body).toMatchObject({ chat_id: '4242', text: 'Answer.' });
		expect(body).not.toHaveProperty('reply_parameters');
		expect(body).not.toHaveProperty('message_thread_id');
	});

	test('an item no Clawgate trigger made cannot pick the chat through an empty Chat ID', async () => {
		const forged = { channel: 'telegram', accountId: '777', chat: { id: '666', type: 'dm' }, message: { id: '1', text: 'hi' }, reply: { text: 'spam' } };
		const before = telegram.calls('sendMessage').length;
		const { error } = await send({}, forged);
		expect(error?.message).toContain('Set "Chat ID"');
		expect(telegram.calls('sendMessage')).toHaveLength(before);
	});
});

describe('the other send nodes and Reply answer as their version 1 did, with no expression', () => {
	const SENDER = '+15551230001';
	const sms = () =>
		fromTrigger({
			sessionId: `sms:${SMS_NUMBER}:dm:${SENDER}`,
			channel: 'sms',
			via: 'twilio',
			accountId: SMS_NUMBER,
			chat: { id: SENDER, type: 'dm', threadId: null, title: null },
			sender: { id: SENDER, name: null, username: null, isBot: false },
			message: { id: `SM${'3'.repeat(32)}`, text: 'Capital of France?' },
			reply: { text: 'Paris.' },
		});
	const slackThread = () =>
		fromTrigger({
			sessionId: 'slack:T1:group:C0GENERAL:1700000000.000100',
			channel: 'slack',
			accountId: 'T1',
			chat: { id: 'C0GENERAL', type: 'group', threadId: '1700000000.000100', title: null },
			sender: { id: 'U0ADA', name: 'Ada', username: null, isBot: false },
			message: { id: '1700000000.000200', text: 'Capital of France?' },
			reply: { text: 'Paris.' },
		});
	const discordDm = () => {
		const question = discord.sendDm({ content: 'Capital of France?' });
		const envelope = normalizeDiscordMessage(question as unknown as DiscordMessagePayload, { botUserId: discord.bot.id, channel: null })!;
		return fromTrigger({ ...(JSON.parse(JSON.stringify(envelope)) as IDataObject), reply: { text: 'Paris.' } });
	};
	const platforms = {
		slackSend: {
			credentials: () => ({ clawgateSlackApi: { botToken: slack.token, signingSecret: slack.signingSecret, baseUrl: slack.apiUrl } }),
			envelope: slackThread,
			lastSent: () => slack.posted.at(-1),
		},
		discordSend: {
			credentials: () => ({ clawgateDiscordApi: { botToken: discord.token, baseUrl: discord.apiBase } }),
			envelope: discordDm,
			lastSent: () => {
				const post = discord.calls('POST', /^\/channels\/\d+\/messages$/).at(-1)!;
				return { path: post.path, content: post.body.content, quoted: Boolean((post.body.message_reference as IDataObject | undefined)?.message_id) };
			},
		},
		twilioSend: {
			credentials: () => ({ clawgateTwilioApi: { accountSid: twilio.accountSid, authToken: twilio.authToken, baseUrl: twilio.apiUrl } }),
			envelope: sms,
			lastSent: () => {
				const { from, to, body } = twilio.sent.at(-1)!;
				return { from, to, body };
			},
		},
		reply: {
			credentials: () => ({ clawgateTwilioApi: { accountSid: twilio.accountSid, authToken: twilio.authToken, baseUrl: twilio.apiUrl } }),
			envelope: sms,
			lastSent: () => {
				const { from, to, body } = twilio.sent.at(-1)!;
				return { from, to, body };
			},
		},
	};

	test.each(Object.keys(platforms) as Array<keyof typeof platforms>)('%s', async (type) => {
		const platform = platforms[type];
		const credentialNames = Object.keys(platform.credentials());
		const sendWith = async (version: number) => {
			const sender = node(type, version, {}, Object.fromEntries(credentialNames.map((name) => [name, { id: '1', name }])));
			const { result, expressions } = await expressionsEvaluatedDuring(() => runWorkflow({ nodes: [sender], connections: chain([sender]), credentials: platform.credentials(), input: [platform.envelope()] }));
			expect(result.error).toBeUndefined();
			return { expressions, sent: platform.lastSent() };
		};

		const old = await sendWith(1);
		const newest = await sendWith(2);

		expect(old.expressions.length).toBeGreaterThan(0);
		expect(newest.expressions).toEqual([]);
		expect(JSON.stringify(newest.sent).replace(/\d{6,}/g, '<id>')).toEqual(JSON.stringify(old.sent).replace(/\d{6,}/g, '<id>'));
	});
});
