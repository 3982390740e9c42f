/**
 * Microsoft Teams (Bot Framework) as a Clawgate channel plugin: the Bot Connector's JWT on every
 * activity, activities into envelopes, and answers posted to the conversation's serviceUrl with a
 * bot token from the client-credentials grant. Plain `fetch` + `node:crypto` (core/jwt.ts), no
 * SDK: the protocol is one JWT check, one token request and three Connector calls, and
 * botframework-connector would bring the whole Bot Builder stack for them.
 * https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-authentication
 */
import type { ChannelPlugin, InboundEvent, WebhookRequest } from '../core/channel';
import { buildSessionId, commandForBot, type ChatType, type EnvelopeAttachment, type SessionScope } from '../core/envelope';
import { InvalidPayloadError } from '../core/errors';
import { bearerJwtProof, claimsProblem, fetchKeyDocument, KeySetRegistry, keysOfJwks, type DecodedJwt } from '../core/jwt';
import { idOrNull, isRecord, listOf, nonEmptyStringOrNull, recordOrNull, stringOr } from '../core/payload';
import { markdownRenderer } from '../core/text/renderer';
import { baseUrlOf, callConnector, createTeamsClient, describeTeamsError, teamsBotToken, TeamsApiError, type TeamsClient, type TeamsCredential } from './teams.client';

export { createTeamsClient, describeTeamsError, TeamsApiError, type TeamsClient, type TeamsCredential } from './teams.client';

export const BOT_FRAMEWORK_ISSUER = 'https://api.botframework.com';
const OPENID_METADATA = 'https://login.botframework.com/v1/.well-known/openidconfiguration';

// ---------------------------------------------------------------------------------------------
// Proof: the Bot Connector's JWT (RS256, issuer api.botframework.com, audience the app ID)

const keySets = new KeySetRegistry();

function metadataUrlOf(credential: Pick<TeamsCredential, 'baseUrl'>): string {
	const base = baseUrlOf(credential);
	return base ? `${base}/v1/.well-known/openidconfiguration` : OPENID_METADATA;
}

function keySetOf(credential: Pick<TeamsCredential, 'baseUrl'>) {
	const metadataUrl = metadataUrlOf(credential);
	return keySets.get(metadataUrl, async () => {
		const { document } = await fetchKeyDocument(metadataUrl);
		const jwksUri = nonEmptyStringOrNull(recordOrNull(document)?.jwks_uri);
		// Keys over https only, unless a Base URL (an emulator on loopback) serves them.
		if (jwksUri === null || !(jwksUri.startsWith('https://') || baseUrlOf(credential))) throw new Error(`The OpenID metadata at ${metadataUrl} names no https jwks_uri.`);
		const { document: jwks, maxAgeMs } = await fetchKeyDocument(jwksUri);
		return { keys: keysOfJwks(jwks), maxAgeMs };
	});
}

function activityOf(rawBody: Buffer | undefined): Record<string, unknown> | null {
	try {
		return recordOrNull(JSON.parse(rawBody?.toString('utf8') ?? ''));
	} catch {
		return null;
	}
}

/** The Bot Connector's claims: issuer, the app ID as audience, times, and the serviceUrl the activity names. */
export function teamsClaimsDisproof(jwt: DecodedJwt, credential: TeamsCredential, request: WebhookRequest, now: number): string | null {
	const appId = credential.appId?.trim();
	if (!appId) return 'The Clawgate Microsoft Teams credential has no app ID, so no request can be trusted.';
	const claims = claimsProblem(jwt.payload, { issuers: [BOT_FRAMEWORK_ISSUER], audience: appId, now });
	if (claims) return claims;
	// The token names the serviceUrl it was issued for: an activity cannot redirect answers elsewhere.
	const activity = activityOf(request.rawBody);
	if (activity && typeof activity.serviceUrl === 'string' && activity.serviceUrl !== jwt.payload.serviceUrl) return "The token's serviceUrl is not the activity's.";
	return null;
}

// ---------------------------------------------------------------------------------------------
// Inbound: https://learn.microsoft.com/microsoftteams/platform/bots/how-to/conversations/conversation-messages

export interface TeamsReceiveOptions {
	appId: string;
	sessionScope: SessionScope;
	now: number;
	/** "Allowed Tenants": Microsoft 365 organisations whose people may reach the bot; empty allows every tenant that installed it. */
	allowedTenants?: readonly string[];
}

/** The tenant IDs typed into "Allowed Tenants", lower-cased as Entra ID compares them. */
export function allowedTenantsOf(value: unknown): string[] {
	return String(value ?? '')
		.split(/[\s,;]+/)
		.map((id) => id.trim().toLowerCase())
		.filter(Boolean);
}

const CHAT_TYPES: Record<string, ChatType> = { personal: 'dm', groupChat: 'group', channel: 'channel' };

/** The bot is `28:<appId>` in Teams; the Bot Framework names it by the app ID elsewhere. */
const isBotAccount = (id: unknown, recipientId: string | null, appId: string) => typeof id === 'string' && (id === recipientId || id === appId || id === `28:${appId}`);

/** The text without the `<at>Bot</at>` of mentions of this bot (Teams puts the mention's display text in the message). */
function withoutBotMentions(text: string, mentionTexts: string[]): string {
	let stripped = text;
	for (const mention of mentionTexts) stripped = stripped.split(mention).join(' ');
	return stripped.replace(/\s+/g, ' ').trim();
}

/** Files and images; the text/html copy of the message Teams attaches is no attachment. */
function attachmentsOf(activity: Record<string, unknown>): EnvelopeAttachment[] {
	return listOf(activity.attachments).flatMap((entry) => {
		const attachment = recordOrNull(entry);
		const type = stringOr(attachment?.contentType, '');
		if (!attachment || type === 'text/html' || type.startsWith('application/vnd.microsoft.card')) return [];
		const download = recordOrNull(attachment.content);
		const url = nonEmptyStringOrNull(download?.downloadUrl) ?? nonEmptyStringOrNull(attachment.contentUrl);
		if (url === null) return [];
		const kind = type.startsWith('image/') ? 'image' : type.startsWith('video/') ? 'video' : type.startsWith('audio/') ? 'audio' : 'document';
		return [{ kind, id: url, mimeType: type.includes('/') && !type.startsWith('application/vnd.microsoft') ? type : null, name: nonEmptyStringOrNull(attachment.name), size: null }];
	});
}

/** One activity as the trigger pipeline takes it: an envelope, or null and why not. */
export function teamsActivityToInbound(activity: Record<string, unknown>, options: TeamsReceiveOptions): InboundEvent {
	const type = stringOr(activity.type, '');
	const id = idOrNull(activity.id);
	const conversation = recordOrNull(activity.conversation);
	const conversationId = nonEmptyStringOrNull(conversation?.id);
	const dedupeKey = `${conversationId ?? ''}:${id ?? ''}:${type}`;
	const from = recordOrNull(activity.from);
	const recipientId = nonEmptyStringOrNull(recordOrNull(activity.recipient)?.id);
	const facts = { fromSelf: isBotAccount(from?.id, recipientId, options.appId) };
	const skip = (skipped: string): InboundEvent => ({ envelope: null, skipped, facts, dedupeKey });
	if (type !== 'message') return skip(`"${type}" activities are not messages`);
	if (id === null || conversationId === null || !isRecord(from) || nonEmptyStringOrNull(from.id) === null) throw new InvalidPayloadError('The Teams message activity has no id, conversation or sender.');
	if (!/^https?:\/\/\S+$/i.test(stringOr(activity.serviceUrl, ''))) throw new InvalidPayloadError('The Teams message activity has no serviceUrl to answer to.');

	// A multi-tenant bot can be installed by any Microsoft 365 organisation; "Allowed Tenants" keeps it to the listed ones.
	const tenant = nonEmptyStringOrNull(recordOrNull(recordOrNull(activity.channelData)?.tenant)?.id) ?? nonEmptyStringOrNull(conversation?.tenantId);
	if (options.allowedTenants?.length && !options.allowedTenants.includes(tenant?.toLowerCase() ?? '')) return skip(`its tenant ${tenant ?? '(none)'} is not in "Allowed Tenants"`);
	const chatType = CHAT_TYPES[stringOr(conversation?.conversationType, '')] ?? (conversation?.isGroup === true ? 'group' : 'dm');
	const chat = { id: conversationId, type: chatType, threadId: null, title: nonEmptyStringOrNull(conversation?.name) };
	const mentionTexts = listOf(activity.entities)
		.map(recordOrNull)
		.filter((entity) => entity?.type === 'mention' && isBotAccount(recordOrNull(entity.mentioned)?.id, recipientId, options.appId))
		.map((entity) => stringOr(entity?.text, ''))
		.filter(Boolean);
	const text = withoutBotMentions(stringOr(activity.text, ''), mentionTexts);
	// A channel's reply chain is `19:…@thread.tacv2;messageid=…`; Allowed Chats may name the channel itself.
	const channelId = conversationId.split(';')[0];
	const senderId = String(from.id);
	return {
		envelope: {
			sessionId: buildSessionId({ channel: 'teams', accountId: options.appId, chat, senderId, scope: options.sessionScope }),
			channel: 'teams',
			accountId: options.appId,
			event: 'message',
			chat,
			sender: { id: senderId, name: nonEmptyStringOrNull(from.name), username: nonEmptyStringOrNull(from.aadObjectId), isBot: from.role === 'bot' },
			message: {
				id,
				text,
				replyToId: idOrNull(activity.replyToId),
				mentionsBot: mentionTexts.length > 0,
				command: commandForBot(text, null),
				attachments: attachmentsOf(activity),
				timestamp: typeof activity.timestamp === 'string' && !Number.isNaN(Date.parse(activity.timestamp)) ? new Date(activity.timestamp).toISOString() : new Date(options.now).toISOString(),
			},
			// The activity as Teams sent it: serviceUrl (where answers go), channelData (tenant, team, channel).
			raw: activity,
		},
		facts: { ...facts, alsoInChats: [channelId, nonEmptyStringOrNull(recordOrNull(recordOrNull(activity.channelData)?.channel)?.id) ?? channelId] },
		dedupeKey,
	};
}

// ---------------------------------------------------------------------------------------------

export const teamsPlugin: ChannelPlugin<TeamsCredential, TeamsClient> = {
	id: 'teams',
	name: 'Microsoft Teams',
	channels: ['teams'],
	credentialType: 'clawgateTeamsApi',
	capabilities: {
		// Teams refuses messages over about 28 KB; 8,000 characters stay under it even at 3 bytes each.
		// https://learn.microsoft.com/microsoftteams/platform/bots/how-to/format-your-bot-messages
		textLimit: 8000,
		captionLimit: null,
		// Teams renders Markdown in message text (textFormat "markdown").
		renderer: markdownRenderer,
		edit: true,
		typing: true,
		// Activity schema A6000: clients show a typing activity for three seconds.
		typingLastsMs: 3_000,
		threads: false,
		media: false,
		quote: 'groups',
		inbound: ['webhook'],
	},
	createClient: createTeamsClient,
	async accountOf(credential) {
		return credential.appId?.trim() || null;
	},
	webhook: {
		...bearerJwtProof<TeamsCredential>({ platform: 'Bot Framework', keySetFor: (_jwt, credential) => keySetOf(credential), claimsDisproof: teamsClaimsDisproof }),
		async receive(request, credential, context, settings) {
			const activity = activityOf(request.rawBody);
			if (activity === null || typeof activity.type !== 'string') throw new InvalidPayloadError('The request body is not a Bot Framework activity (no "type").');
			const options = { appId: credential.appId.trim(), sessionScope: settings.sessionScope, now: context.now, allowedTenants: allowedTenantsOf(context.options.allowedTenants) };
			return { kind: 'events', events: [teamsActivityToInbound(activity, options)] };
		},
		acknowledgement: { status: 200, body: {} },
		async checkCredential(credential) {
			// The messaging endpoint is set in the Azure Bot's configuration; activation checks the app ID and password.
			await teamsBotToken(createTeamsClient(credential)).catch((error: unknown) => {
				throw describeTeamsError(error, 'get a bot token');
			});
		},
	},
	outbound: {
		async postMessage(client, { chatId, text, replyToId }) {
			const path = replyToId ? `/${encodeURIComponent(replyToId)}` : '';
			const sent = await callConnector(client, chatId, 'POST', path, { type: 'message', text, textFormat: 'markdown' });
			return [idOrNull(sent.id) ?? ''].filter(Boolean);
		},
		async editMessage(client, { chatId, messageId, text }) {
			await callConnector(client, chatId, 'PUT', `/${encodeURIComponent(messageId)}`, { type: 'message', id: messageId, text, textFormat: 'markdown' });
		},
		async sendTyping(client, { chatId }) {
			await callConnector(client, chatId, 'POST', '', { type: 'typing' });
		},
		replyTarget(envelope) {
			// The serviceUrl of the verified activity the envelope came from; the trigger signed the item.
			const serviceUrl = nonEmptyStringOrNull(recordOrNull((envelope as { raw?: unknown }).raw)?.serviceUrl);
			return { chatId: serviceUrl ? `${serviceUrl}|${envelope.chat.id}` : envelope.chat.id, threadId: null };
		},
	},
	retryAfterMs(error) {
		if (!(error instanceof TeamsApiError) || error.status !== 429) return null;
		return error.retryAfterMs ?? 1000;
	},
	describeError: describeTeamsError,
};
