/**
 * "Stream Preview" on AI Session: the model streams, and the chat shows its answer so far as a
 * draft message, posted with the first text and edited as more arrives, at the pace the platform
 * allows per chat (`capabilities.editRate`). The item carries `reply.preview`; the send or Reply
 * node edits the draft into the answer's first message and posts the rest. A model that fails
 * with an Error Reply set leaves the draft to become that reply; without one the draft is deleted.
 * Platforms without edits (or without an edit rate) get the final answer only.
 */
import type { IDataObject, IExecuteFunctions, INodeCredentialDescription, INodeProperties } from 'n8n-workflow';

import type { AnyChannelPlugin, DraftMessage, ReplyRequest, SentMessages } from '../core/channel';
import { DraftAnswer, draftTextOf, type DraftChat } from '../core/draft-answer';
import { EditPacer, editSpacingMs } from '../core/edit-pacer';
import { deliverText, quotes, type TextDelivery } from '../core/outbound';
import type { InboundMessage, SessionEngineConfig } from '../core/session/engine';
import type { AnswerPreview, AnswerStream } from '../core/session/model';
import { describeWithoutSecrets, liveReplyTargetOf, type PlatformConnection, type PlatformConnections } from './live-replies';

/** The plugins that can show a draft: they edit and delete messages and say how often they may edit. */
export function previewPlugins(plugins: readonly AnyChannelPlugin[]): AnyChannelPlugin[] {
	return plugins.filter((plugin) => plugin.capabilities.edit && plugin.capabilities.editRate && plugin.outbound.editMessage && plugin.outbound.deleteMessage);
}

const streamPreviewShown = { showTyping: [true], streamPreview: [true] };

/** The node's parameters with Stream Preview after Show Typing's notice (shown with Show Typing: they share the channel credentials). */
export function withStreamPreviewProperty(properties: INodeProperties[], plugins: readonly AnyChannelPlugin[], after = 'showTypingNotice'): INodeProperties[] {
	const names = previewPlugins(plugins).map((plugin) => plugin.name);
	const property: INodeProperties = {
		displayName: 'Stream Preview',
		name: 'streamPreview',
		type: 'boolean',
		default: false,
		displayOptions: { show: { showTyping: [true] } },
		description: `Whether the chat shows the answer as the model writes it: a draft message, edited as text arrives within the platform's edit limits, which the send or Reply node turns into the answer (${names.join(', ')}; other channels get the answer only)`,
	};
	const at = properties.findIndex((candidate) => candidate.name === after) + 1 || properties.length;
	return [...properties.slice(0, at), property, ...properties.slice(at)];
}

/** Adds the credential of each draft platform the typing credentials lack (Slack), shown when Stream Preview is on. */
export function withStreamPreviewCredentials(plugins: readonly AnyChannelPlugin[], credentials: INodeCredentialDescription[]): INodeCredentialDescription[] {
	const missing = previewPlugins(plugins).filter((plugin) => !credentials.some((credential) => credential.name === plugin.credentialType));
	return [...credentials, ...missing.map((plugin) => ({ name: plugin.credentialType, required: false, displayOptions: { show: streamPreviewShown } }))];
}

/**
 * One pace per chat (or account) in this n8n process, shared by AI Session's drafts and the send
 * node's final edit, so the edits of one answer, and of answers in the same chat, keep to the limit.
 */
const draftPacer = new EditPacer();

/** Runs a draft's post, edit or delete in the pace of its chat. */
export function pacedInChat(plugin: AnyChannelPlugin, accountId: unknown, chatId: string, chatType: unknown): DraftChat['paced'] {
	const rate = plugin.capabilities.editRate;
	if (!rate) return (call) => call();
	const limit = chatType !== 'dm' && rate.groups ? rate.groups : rate;
	const key = rate.per === 'account' ? `${plugin.id}:${String(accountId ?? '')}` : `${plugin.id}:${String(accountId ?? '')}:${chatId}`;
	return (call, signal) => draftPacer.run(key, editSpacingMs(limit), call, signal);
}

/**
 * The draft the send node turns into the answer: the item's `reply.preview`, when the same
 * integration posted it in the chat being answered. Anything else (an answer sent elsewhere, a
 * stored answer from before Stream Preview) is sent as usual.
 */
export function draftOfItem(plugin: AnyChannelPlugin, json: IDataObject, chatId: string): DraftMessage | null {
	const preview = (json.reply as { preview?: Partial<AnswerPreview> } | undefined)?.preview;
	const messageId = preview?.messageIds?.[0];
	if (!preview || preview.via !== plugin.id || preview.chatId !== chatId || typeof messageId !== 'string' || messageId === '' || !plugin.outbound.editMessage) return null;
	const chat = json.chat as { type?: unknown } | undefined;
	return { messageId, paced: pacedInChat(plugin, json.accountId, chatId, chat?.type) };
}

/**
 * Send Text of a platform's own send node over AI Session's draft: with a draft for this chat on
 * the item, the text goes out through the plugin's standard formatting with the draft as its first
 * message; null without one (the operation posts as usual). A draft the operation cannot continue
 * (`usable` false: a text format of its own) is deleted first, so the chat keeps one answer.
 */
export async function sendOverDraft(
	plugin: AnyChannelPlugin,
	client: unknown,
	json: IDataObject,
	delivery: Pick<TextDelivery, 'chatId' | 'threadId' | 'markdown' | 'linkPreviews' | 'maxLines'>,
	usable = true,
): Promise<SentMessages | null> {
	const draft = draftOfItem(plugin, json, delivery.chatId);
	if (!draft) return null;
	if (usable) return await deliverText(plugin, client, { ...delivery, replyToId: null, draft });
	await draft.paced(() => plugin.outbound.deleteMessage!(client, { chatId: delivery.chatId, messageId: draft.messageId, threadId: delivery.threadId })).catch(() => undefined);
	return null;
}

/** Both streams, when n8n's chat streams too (an item of a Clawgate trigger in a streaming execution). */
export function bothStreams(first: AnswerStream | undefined, second: DraftAnswer | undefined): AnswerStream | undefined {
	if (!first || !second) return first ?? second;
	return {
		write: (delta) => (first.write(delta), second.write(delta)),
		restart: () => (first.restart(), second.restart()),
		settle: () => second.settle(),
	};
}

/** Where a draft goes: the answer's chat and thread, the message it quotes, the account that answers. */
export interface DraftPlace {
	chatId: string;
	threadId: string | null;
	replyToId: string | null;
	accountId: string | null;
	chatType: unknown;
}

/** A draft's platform calls through the plugin, in the chat's edit pace; `client` connects on first use. */
export function draftChatOf(plugin: AnyChannelPlugin, client: () => Promise<unknown>, place: DraftPlace): Omit<DraftChat, 'onPosted' | 'onError'> {
	const { chatId, threadId } = place;
	return {
		where: { via: plugin.id, chatId, threadId },
		render: (markdown) => draftTextOf(plugin.capabilities, markdown),
		post: async (text) => {
			const message = { chatId, text, replyToId: place.replyToId, threadId, linkPreviews: false, accountId: place.accountId };
			const [messageId] = await plugin.outbound.postMessage(await client(), message);
			return messageId;
		},
		// No link previews in a draft: the platform would fetch a link of model text without a click.
		edit: async (messageId, text) => await plugin.outbound.editMessage!(await client(), { chatId, messageId, text, threadId, linkPreviews: false }),
		remove: async (messageId) => await plugin.outbound.deleteMessage!(await client(), { chatId, messageId, threadId }),
		paced: pacedInChat(plugin, place.accountId, chatId, place.chatType),
	};
}

/** The drafts of one AI Session execution, through its platform connections (shared with typing). */
export class StreamPreviews {
	private readonly previewIds: Set<string>;

	constructor(
		private readonly context: IExecuteFunctions,
		plugins: readonly AnyChannelPlugin[],
		private readonly pluginForItem: (json: IDataObject) => AnyChannelPlugin | null,
		private readonly connections: PlatformConnections,
	) {
		this.previewIds = new Set(previewPlugins(plugins).map((plugin) => plugin.id));
	}

	/**
	 * The item's draft, when Stream Preview is on and the model will answer it (`liveReplyTargetOf`)
	 * on a draft platform; undefined otherwise. Nothing is posted before the model writes.
	 */
	begin(itemIndex: number, json: IDataObject, message: Pick<InboundMessage, 'text' | 'command'>, commands: SessionEngineConfig['commands'], onPosted: () => void): DraftAnswer | undefined {
		try {
			if (this.context.getNodeParameter('showTyping', itemIndex, true) !== true || this.context.getNodeParameter('streamPreview', itemIndex, false) !== true) return undefined;
			const target = liveReplyTargetOf(json, message, commands, this.pluginForItem);
			if (!target || !this.previewIds.has(target.plugin.id)) return undefined;
			const { plugin, chatId, threadId } = target;
			const envelope = json as unknown as ReplyRequest['envelope'];
			let connection: PlatformConnection | null = null;
			const connect = async () => {
				connection ??= await this.connections.connectionFor(plugin, itemIndex, json);
				if (!connection) throw new Error(`no "Clawgate ${plugin.name} API" credential for this account is set on it`);
				return connection.client;
			};
			return new DraftAnswer({
				...draftChatOf(plugin, connect, {
					chatId,
					threadId,
					// The draft becomes the answer, so it quotes as the answer will (Reply's default).
					replyToId: quotes(plugin, envelope) && typeof envelope.message?.id === 'string' ? envelope.message.id : null,
					accountId: typeof json.accountId === 'string' ? json.accountId : null,
					chatType: envelope.chat?.type,
				}),
				onPosted,
				onError: (error, action) => this.connections.debug(`could not ${action} the draft answer on ${plugin.name}: ${describeWithoutSecrets(plugin, error, connection?.credential, `${action} a draft`)}`),
			});
		} catch (error) {
			this.connections.debug(`shows no draft for item ${itemIndex}: ${(error as Error).message}`);
			return undefined;
		}
	}
}
