/**
 * Slack as a Clawgate channel plugin: what the shared trigger, send and Reply pipelines need,
 * built from the Slack adapter (Events API verification and normalisation, the Web API client).
 */
import type { WebClient } from '@slack/web-api';

import type { ChannelPlugin } from '../core/channel';
import {
	checkSlackTriggerCredential,
	createSlackClient,
	describeSlackError,
	receiveSlackDelivery,
	resolveSlackBotUserId,
	retryAfterSecondsOf,
	slackCapabilities,
	slackMissingSignature,
	verifySlackDelivery,
	type SlackCredential,
} from './slack.adapter';
import { slackMrkdwnRenderer } from './slack.format';

export const slackPlugin: ChannelPlugin<SlackCredential, WebClient> = {
	id: 'slack',
	name: 'Slack',
	channels: ['slack'],
	credentialType: 'clawgateSlackApi',
	capabilities: {
		textLimit: slackCapabilities.textLimit,
		captionLimit: null,
		renderer: slackMrkdwnRenderer,
		edit: true,
		// chat.update is a Tier 3 method: about 50 calls a minute per workspace.
		editRate: { edits: 50, perMs: 60_000, per: 'account' },
		typing: false,
		threads: true,
		media: true,
		// Slack has no quoting; a thread is its way of answering one message.
		quote: 'never',
		inbound: ['webhook'],
	},
	createClient: createSlackClient,
	async accountOf(_credential, client) {
		// auth.test names the workspace; envelopes of an org-wide install carry the enterprise ID.
		const identity = await client.auth.test().catch(() => null);
		return identity?.enterprise_id && identity.is_enterprise_install ? String(identity.enterprise_id) : (identity?.team_id ?? null);
	},
	webhook: {
		missingProof: (request, context) => slackMissingSignature(request.headers, context.now),
		disproof(request, credential, context) {
			const check = verifySlackDelivery(request, credential.signingSecret ?? '', context.now);
			return check.valid ? null : check.reason;
		},
		async receive(request, credential, _context, settings) {
			const receipt = await receiveSlackDelivery(request, {
				everyChannelMessage: settings.policy.groupActivation === 'all',
				sessionScope: settings.sessionScope,
				resolveBotUserId: () => resolveSlackBotUserId(createSlackClient(credential), credential.botToken),
			});
			if (receipt.kind === 'answer') return { kind: 'answer', answer: { status: 200, body: receipt.body }, reason: receipt.reason };
			return {
				kind: 'events',
				events: [{ envelope: receipt.envelope, skipped: receipt.skipped ?? undefined, facts: { fromSelf: receipt.fromSelf }, dedupeKey: receipt.eventId }],
			};
		},
		// Slack needs a 2xx within 3 s, or it retries.
		acknowledgement: { status: 200, body: { ok: true } },
		// Slack has no API to register a Request URL (the user pastes it into the app).
		checkCredential: (credential) => checkSlackTriggerCredential(createSlackClient(credential), credential),
	},
	outbound: {
		async postMessage(client, { chatId, text, threadId, linkPreviews }) {
			const sent = await client.chat.postMessage({
				channel: chatId,
				text,
				mrkdwn: true,
				unfurl_links: linkPreviews,
				unfurl_media: linkPreviews,
				...(threadId ? { thread_ts: threadId } : {}),
			});
			return [String(sent.ts)];
		},
		async editMessage(client, { chatId, messageId, text }) {
			await client.chat.update({ channel: chatId, ts: messageId, text });
		},
		async deleteMessage(client, { chatId, messageId }) {
			await client.chat.delete({ channel: chatId, ts: messageId });
		},
	},
	retryAfterMs(error) {
		const seconds = retryAfterSecondsOf(error);
		return seconds === null ? null : seconds * 1000;
	},
	// The adapter names Web API methods in its messages (and links their docs).
	describeError: (error, action) => describeSlackError(error, action === 'send a message' ? 'chat.postMessage' : action),
};
