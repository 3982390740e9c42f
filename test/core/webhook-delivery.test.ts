import { createHmac } from 'node:crypto';

import { DEFAULT_ACCESS_POLICY, type AccessPolicy } from '../../nodes/core/access-policy';
import type { ChannelPlugin, InboundEvent, ReceiveSettings, WebhookContext, WebhookRequest } from '../../nodes/core/channel';
import type { Envelope } from '../../nodes/core/envelope';
import { InvalidPayloadError } from '../../nodes/core/errors';
import { RecentKeys } from '../../nodes/core/recent-keys';
import { handleWebhookDelivery, type WebhookDeliveryInput } from '../../nodes/core/webhook-delivery';

// A tiny platform, "Fakenet": deliveries are JSON signed with an HMAC of the body in X-Fake-Signature.

interface FakeCredential {
	secret: string;
}

interface FakeEvent {
	key: string;
	chat?: 'dm' | 'group';
	sender?: string;
	text?: string;
	mentions?: boolean;
	fromSelf?: boolean;
	/** Not a message: the plugin skips it, saying this (or nothing). */
	skip?: string | true;
}

const SECRET = 'fakenet-secret';
const sign = (body: string, secret = SECRET) => createHmac('sha256', secret).update(body).digest('hex');

function envelopeOf(event: FakeEvent, settings: ReceiveSettings): Envelope {
	const chat = { id: event.chat === 'group' ? 'G1' : (event.sender ?? 'U1'), type: event.chat ?? 'dm', threadId: null, title: null };
	return {
		sessionId: `fake:A1:${chat.type}:${chat.id}${settings.sessionScope === 'user' && chat.type !== 'dm' ? `:user:${event.sender ?? 'U1'}` : ''}`,
		channel: 'fake',
		accountId: 'A1',
		event: 'message',
		chat,
		sender: { id: event.sender ?? 'U1', name: null, username: null, isBot: false },
		message: { id: `m-${event.key}`, text: event.text ?? 'hello', replyToId: null, mentionsBot: event.mentions ?? false, command: null, attachments: [], timestamp: new Date(0).toISOString() },
		raw: event,
	};
}

function makeFakePlugin(overrides: Partial<NonNullable<ChannelPlugin<FakeCredential, null>['webhook']>> = {}) {
	const received: ReceiveSettings[] = [];
	const plugin: ChannelPlugin<FakeCredential, null> = {
		id: 'fakenet',
		name: 'Fakenet',
		channels: ['fake'],
		credentialType: 'fakenetApi',
		capabilities: {
			textLimit: 100,
			captionLimit: null,
			renderer: undefined as never,
			edit: false,
			typing: false,
			threads: false,
			media: false,
			quote: 'never',
			inbound: ['webhook'],
		},
		createClient: () => null,
		accountOf: async () => 'A1',
		webhook: {
			missingProof: (request) => (typeof request.headers['x-fake-signature'] === 'string' ? null : 'The request carries no Fakenet signature.'),
			disproof: (request, credential) => (request.headers['x-fake-signature'] === sign(request.rawBody?.toString() ?? '', credential.secret) ? null : 'The request is not signed with the Fakenet secret in the credential.'),
			async receive(request, _credential, _context, settings) {
				received.push(settings);
				let payload: { ping?: boolean; events?: FakeEvent[]; explode?: boolean };
				try {
					payload = JSON.parse(request.rawBody?.toString() ?? '');
				} catch {
					throw new InvalidPayloadError('The request body is not JSON. This URL receives Fakenet webhooks.');
				}
				if (payload.explode) throw new Error('Fakenet plugin bug');
				if (payload.ping) return { kind: 'answer', answer: { status: 200, body: { pong: true } }, reason: 'a connection check' };
				if (!Array.isArray(payload.events)) throw new InvalidPayloadError('The Fakenet webhook has no events.');
				return {
					kind: 'events',
					events: payload.events.map(
						(event): InboundEvent => ({
							envelope: event.skip ? null : envelopeOf(event, settings),
							skipped: typeof event.skip === 'string' ? event.skip : undefined,
							facts: { fromSelf: event.fromSelf ?? false },
							dedupeKey: event.key,
						}),
					),
				};
			},
			acknowledgement: { status: 200, body: 'ok', contentType: 'text/plain' },
			...overrides,
		},
		outbound: { postMessage: async () => [] },
		retryAfterMs: () => null,
		describeError: (error) => error as Error,
	};
	return { plugin, received };
}

function requestOf(payload: unknown, { signature, secret }: { signature?: string | null; secret?: string } = {}): WebhookRequest {
	const rawBody = typeof payload === 'string' ? payload : JSON.stringify(payload);
	const headers: WebhookRequest['headers'] = { 'content-type': 'application/json' };
	if (signature !== null) headers['x-fake-signature'] = signature ?? sign(rawBody, secret);
	return { method: 'POST', headers, rawBody: Buffer.from(rawBody), body: typeof payload === 'string' ? {} : payload, query: {}, url: 'https://n8n.example/webhook/abc/webhook' };
}

const contextOf = (webhookId = 'hook-1'): WebhookContext => ({ workflowId: 'wf1', nodeId: 'node1', webhookId, options: {}, now: Date.now() });

/** What the n8n glue passes, with the credential read counted. */
function inputFor(request: WebhookRequest, { webhookId = 'hook-1', policy = DEFAULT_ACCESS_POLICY, recent = new RecentKeys(), credential = { secret: SECRET } }: { webhookId?: string; policy?: AccessPolicy; recent?: RecentKeys; credential?: FakeCredential } = {}) {
	const credentialFor = jest.fn(async (verifies: (candidate: FakeCredential) => boolean) => ({ credential, verified: verifies(credential) }));
	const input: WebhookDeliveryInput<FakeCredential> = { request, context: contextOf(webhookId), credentialFor, policy, sessionScope: 'chat', recent };
	return { input, credentialFor };
}

const dm = (key: string, extra: Partial<FakeEvent> = {}) => ({ events: [{ key, ...extra }] });

describe('handleWebhookDelivery: one delivery through the shared trigger pipeline', () => {
	describe('proof of origin', () => {
		test('a request without proof is refused 401 before the credential is read', async () => {
			const { plugin, received } = makeFakePlugin();
			const { input, credentialFor } = inputFor(requestOf(dm('e1'), { signature: null }));
			const outcome = await handleWebhookDelivery(plugin, input);
			expect(outcome).toEqual({ kind: 'forged', answer: { status: 401, body: { error: 'The request carries no Fakenet signature.' } }, reason: 'The request carries no Fakenet signature.' });
			expect(credentialFor).not.toHaveBeenCalled();
			expect(received).toHaveLength(0);
		});

		test("a request whose proof does not hold is refused 401 with the plugin's reason, and nothing is parsed", async () => {
			const { plugin, received } = makeFakePlugin();
			const recent = new RecentKeys();
			const { input, credentialFor } = inputFor(requestOf(dm('e1'), { secret: 'a-forger' }), { recent });
			const outcome = await handleWebhookDelivery(plugin, input);
			expect(outcome).toEqual({
				kind: 'forged',
				answer: { status: 401, body: { error: 'The request is not signed with the Fakenet secret in the credential.' } },
				reason: 'The request is not signed with the Fakenet secret in the credential.',
			});
			expect(credentialFor).toHaveBeenCalledTimes(1);
			expect(received).toHaveLength(0);
			// A forgery does not use up the event's key: the genuine delivery is still taken.
			expect(recent.size).toBe(0);
		});

		test('a body changed after signing is refused', async () => {
			const { plugin } = makeFakePlugin();
			const request = requestOf(dm('e1'));
			request.rawBody = Buffer.from(JSON.stringify(dm('e1', { text: 'tampered' })));
			expect(await handleWebhookDelivery(plugin, inputFor(request).input)).toMatchObject({ kind: 'forged', answer: { status: 401 } });
		});

		test('when the credential store says "not verified" but the plugin finds no reason, a generic reason is given', async () => {
			const { plugin } = makeFakePlugin();
			const { input } = inputFor(requestOf(dm('e1')));
			input.credentialFor = async () => ({ credential: { secret: SECRET }, verified: false });
			expect(await handleWebhookDelivery(plugin, input)).toEqual({ kind: 'forged', answer: { status: 401, body: { error: 'The request is not signed for this webhook.' } }, reason: 'The request is not signed for this webhook.' });
		});

		test("the plugin's refusal shapes 401 and 400 answers (Twilio answers text/plain)", async () => {
			const { plugin } = makeFakePlugin({ refusal: (status, reason) => ({ status, body: `${status}: ${reason}`, contentType: 'text/plain' }) });
			expect((await handleWebhookDelivery(plugin, inputFor(requestOf(dm('e1'), { signature: null })).input)).answer).toEqual({
				status: 401,
				body: '401: The request carries no Fakenet signature.',
				contentType: 'text/plain',
			});
			expect((await handleWebhookDelivery(plugin, inputFor(requestOf(dm('e1'), { secret: 'x' })).input)).answer).toMatchObject({ status: 401, contentType: 'text/plain' });
			expect((await handleWebhookDelivery(plugin, inputFor(requestOf('{not json')).input)).answer).toEqual({
				status: 400,
				body: '400: The request body is not JSON. This URL receives Fakenet webhooks.',
				contentType: 'text/plain',
			});
		});

		test('a plugin without a webhook is a programming error, said plainly', async () => {
			const { plugin } = makeFakePlugin();
			await expect(handleWebhookDelivery({ ...plugin, webhook: undefined }, inputFor(requestOf(dm('e1'))).input)).rejects.toThrow('Fakenet receives messages through a listener, not a webhook.');
		});
	});

	describe('parsing', () => {
		test('a signed body the platform would never send is answered 400 with the reason', async () => {
			const { plugin } = makeFakePlugin();
			expect(await handleWebhookDelivery(plugin, inputFor(requestOf('{not json')).input)).toEqual({
				kind: 'invalid',
				answer: { status: 400, body: { error: 'The request body is not JSON. This URL receives Fakenet webhooks.' } },
				reason: 'The request body is not JSON. This URL receives Fakenet webhooks.',
			});
			expect(await handleWebhookDelivery(plugin, inputFor(requestOf({ hello: 1 })).input)).toMatchObject({ kind: 'invalid', answer: { status: 400 } });
		});

		test('any other error of the plugin is thrown, not turned into a 400', async () => {
			const { plugin } = makeFakePlugin();
			await expect(handleWebhookDelivery(plugin, inputFor(requestOf({ explode: true })).input)).rejects.toThrow('Fakenet plugin bug');
		});

		test('an answer receipt (a URL check, a handshake) is passed through as it is, with no envelopes', async () => {
			const { plugin } = makeFakePlugin();
			const recent = new RecentKeys();
			expect(await handleWebhookDelivery(plugin, inputFor(requestOf({ ping: true }), { recent }).input)).toEqual({ kind: 'answered', answer: { status: 200, body: { pong: true } }, reason: 'a connection check' });
			expect(recent.size).toBe(0);
		});

		test('the trigger options reach the plugin as receive settings', async () => {
			const { plugin, received } = makeFakePlugin();
			const policy: AccessPolicy = { ...DEFAULT_ACCESS_POLICY, groupActivation: 'all', allowedSenderIds: ['U1'] };
			const { input } = inputFor(requestOf(dm('e1')), { policy });
			await handleWebhookDelivery(plugin, { ...input, sessionScope: 'user' });
			expect(received).toEqual([{ policy, sessionScope: 'user' }]);
		});
	});

	describe('events', () => {
		test("a message is emitted with the plugin's id as via, right after channel, and acknowledged with the plugin's answer", async () => {
			const { plugin } = makeFakePlugin();
			const outcome = await handleWebhookDelivery(plugin, inputFor(requestOf(dm('e1', { text: 'hi' }))).input);
			expect(outcome).toMatchObject({ kind: 'taken', answer: { status: 200, body: 'ok', contentType: 'text/plain' }, dropped: [] });
			if (outcome.kind !== 'taken') throw new Error('not taken');
			expect(outcome.envelopes).toHaveLength(1);
			expect(outcome.envelopes[0]).toMatchObject({ channel: 'fake', via: 'fakenet', message: { id: 'm-e1', text: 'hi' } });
			expect(Object.keys(outcome.envelopes[0]).slice(0, 3)).toEqual(['sessionId', 'channel', 'via']);
		});

		test('the credential the request verified with is handed back with the events', async () => {
			const { plugin } = makeFakePlugin();
			const credential = { secret: SECRET };
			const outcome = await handleWebhookDelivery(plugin, inputFor(requestOf(dm('e1')), { credential }).input);
			expect(outcome).toMatchObject({ kind: 'taken' });
			expect((outcome as { credential?: unknown }).credential).toBe(credential);
		});

		test('the same delivery twice makes one envelope; the redelivery is still acknowledged so the platform stops', async () => {
			const { plugin } = makeFakePlugin();
			const recent = new RecentKeys();
			const first = await handleWebhookDelivery(plugin, inputFor(requestOf(dm('e1')), { recent }).input);
			const again = await handleWebhookDelivery(plugin, inputFor(requestOf(dm('e1')), { recent }).input);
			expect(first).toMatchObject({ kind: 'taken', envelopes: [expect.anything()] });
			expect(again).toMatchObject({ kind: 'taken', answer: plugin.webhook!.acknowledgement, envelopes: [], dropped: ['e1: a redelivery of an event already received'] });
		});

		test('two triggers (webhook IDs) receiving the same event key each take it', async () => {
			const { plugin } = makeFakePlugin();
			const recent = new RecentKeys();
			const one = await handleWebhookDelivery(plugin, inputFor(requestOf(dm('e1')), { recent, webhookId: 'hook-1' }).input);
			const other = await handleWebhookDelivery(plugin, inputFor(requestOf(dm('e1')), { recent, webhookId: 'hook-2' }).input);
			expect(one).toMatchObject({ envelopes: [expect.anything()] });
			expect(other).toMatchObject({ envelopes: [expect.anything()] });
		});

		test('two events with the same key in one delivery make one envelope', async () => {
			const { plugin } = makeFakePlugin();
			const outcome = await handleWebhookDelivery(plugin, inputFor(requestOf({ events: [{ key: 'e1' }, { key: 'e1' }, { key: 'e2' }] })).input);
			expect(outcome).toMatchObject({ kind: 'taken', dropped: ['e1: a redelivery of an event already received'] });
			if (outcome.kind === 'taken') expect(outcome.envelopes.map((envelope) => envelope.message.id)).toEqual(['m-e1', 'm-e2']);
		});

		test("each dropped event says why: the platform's skip, not a message, or the access policy", async () => {
			const { plugin } = makeFakePlugin();
			const payload = {
				events: [
					{ key: 'e1', skip: 'a status callback, not an incoming message' },
					{ key: 'e2', skip: true },
					{ key: 'e3', fromSelf: true },
					{ key: 'e4', chat: 'group', text: 'lunch?' },
					{ key: 'e5', sender: 'U9' },
					{ key: 'e6', chat: 'group', mentions: true },
				],
			};
			const outcome = await handleWebhookDelivery(plugin, inputFor(requestOf(payload), { policy: { ...DEFAULT_ACCESS_POLICY, allowedSenderIds: ['U1'] } }).input);
			expect(outcome).toMatchObject({
				kind: 'taken',
				dropped: [
					'e1: a status callback, not an incoming message',
					'e2: not a message this trigger emits',
					'e3: the bot sent it itself',
					expect.stringMatching(/^e4: it is a group message that neither mentions/),
					'e5: its sender U9 is not in "Allowed Senders"',
				],
			});
			if (outcome.kind === 'taken') expect(outcome.envelopes.map((envelope) => envelope.message.id)).toEqual(['m-e6']);
		});

		test('a DM of an unapproved sender under the Pairing policy starts no execution', async () => {
			const { plugin } = makeFakePlugin();
			const outcome = await handleWebhookDelivery(plugin, inputFor(requestOf(dm('e1', { sender: 'U7' })), { policy: { ...DEFAULT_ACCESS_POLICY, dmPolicy: 'pairing' } }).input);
			expect(outcome).toMatchObject({ kind: 'taken', envelopes: [], dropped: [expect.stringContaining('not approved yet')] });
		});

		describe('DM Policy Pairing', () => {
			const pairing: AccessPolicy = { ...DEFAULT_ACCESS_POLICY, dmPolicy: 'pairing', allowedSenderIds: ['OWNER'] };

			test("a stranger's DM is handed over as a pairing request (envelope, reason, where to answer), never as an envelope", async () => {
				const { plugin } = makeFakePlugin();
				const outcome = await handleWebhookDelivery(plugin, inputFor(requestOf(dm('e1', { sender: 'U7', text: 'let me in' })), { policy: pairing }).input);
				expect(outcome).toMatchObject({ kind: 'taken', envelopes: [], pairing: { commands: [], requests: [{ senderId: 'U7', reason: expect.stringContaining('not approved yet'), target: { chatId: 'U7', threadId: null, accountId: 'A1' } }] } });
				if (outcome.kind === 'taken') expect(outcome.pairing?.requests[0].envelope).toMatchObject({ via: 'fakenet', message: { text: 'let me in' } });
			});

			test("an owner's /pair CODE, in a DM or a group, is a pair command and starts no execution", async () => {
				const { plugin } = makeFakePlugin();
				const payload = { events: [{ key: 'e1', sender: 'OWNER', text: '/pair abcd-2345' }, { key: 'e2', sender: 'OWNER', chat: 'group' as const, text: '/pair ABCD2345' }] };
				const outcome = await handleWebhookDelivery(plugin, inputFor(requestOf(payload), { policy: pairing }).input);
				expect(outcome).toMatchObject({ kind: 'taken', envelopes: [], pairing: { requests: [], commands: [{ code: 'ABCD2345', ownerId: 'OWNER', target: { chatId: 'OWNER' } }, { code: 'ABCD2345', target: { chatId: 'G1' } }] } });
			});

			test('/pair from someone not in Allowed Senders approves nothing: it is their own pairing request', async () => {
				const { plugin } = makeFakePlugin();
				const outcome = await handleWebhookDelivery(plugin, inputFor(requestOf(dm('e1', { sender: 'U7', text: '/pair ABCD2345' })), { policy: { ...pairing, approvedSenderIds: ['U8'] } }).input);
				expect(outcome).toMatchObject({ kind: 'taken', envelopes: [], pairing: { commands: [], requests: [{ senderId: 'U7' }] } });
				const approved = await handleWebhookDelivery(plugin, inputFor(requestOf(dm('e2', { sender: 'U8', text: '/pair ABCD2345' })), { policy: { ...pairing, approvedSenderIds: ['U8'] } }).input);
				expect(approved).toMatchObject({ kind: 'taken', envelopes: [{ message: { text: '/pair ABCD2345' } }] });
				expect(approved).not.toHaveProperty('pairing');
			});

			test('an approved sender is emitted; without pairing work the outcome carries no pairing field', async () => {
				const { plugin } = makeFakePlugin();
				const outcome = await handleWebhookDelivery(plugin, inputFor(requestOf(dm('e1', { sender: 'U7' })), { policy: { ...pairing, approvedSenderIds: ['U7'] } }).input);
				expect(outcome).toMatchObject({ kind: 'taken', envelopes: [{ sender: { id: 'U7' } }], dropped: [] });
				expect(outcome).not.toHaveProperty('pairing');
			});

			test('/pair is an ordinary message under other DM policies', async () => {
				const { plugin } = makeFakePlugin();
				const outcome = await handleWebhookDelivery(plugin, inputFor(requestOf(dm('e1', { sender: 'OWNER', text: '/pair ABCD2345' })), { policy: { ...pairing, dmPolicy: 'allowlist' } }).input);
				expect(outcome).toMatchObject({ kind: 'taken', envelopes: [{ message: { text: '/pair ABCD2345' } }] });
			});
		});

		test('a dropped event is not taken again when redelivered', async () => {
			const { plugin } = makeFakePlugin();
			const recent = new RecentKeys();
			await handleWebhookDelivery(plugin, inputFor(requestOf(dm('e1', { fromSelf: true })), { recent }).input);
			const again = await handleWebhookDelivery(plugin, inputFor(requestOf(dm('e1', { fromSelf: true })), { recent }).input);
			expect(again).toMatchObject({ dropped: ['e1: a redelivery of an event already received'] });
		});

		test('a delivery with no events is acknowledged with nothing emitted', async () => {
			const { plugin } = makeFakePlugin();
			expect(await handleWebhookDelivery(plugin, inputFor(requestOf({ events: [] })).input)).toMatchObject({ kind: 'taken', answer: plugin.webhook!.acknowledgement, envelopes: [], dropped: [] });
		});
	});
});
