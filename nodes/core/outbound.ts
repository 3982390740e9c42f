/**
 * The send pipeline every channel shares: Markdown formatted with the platform's renderer, split
 * at its limit, the first piece quoting the message it answers, each piece posted through the
 * rate-limit loop. Plugins only post one message that fits.
 */
import type { AnyChannelPlugin, DraftMessage, OutboundMessage, ReplyRequest, SentMessages } from './channel';
import { RateLimitedError, withRetryAfter } from './retry-after';
import { formatAndChunk } from './text';

export interface TextDelivery {
	chatId: string;
	/** Markdown as the model wrote it. */
	markdown: string;
	replyToId: string | null;
	threadId: string | null;
	linkPreviews: boolean;
	/** The envelope's account, for platforms that answer from it (Twilio). */
	accountId?: string | null;
	/** Lines per message; default the platform's suggestion, 0 for none. */
	maxLines?: number;
	/** The envelope being answered, for platforms whose answers carry more of it than its ID (email). */
	answers?: OutboundMessage['answers'];
	/**
	 * A draft of this answer the chat already shows (Stream Preview): it becomes the first message,
	 * by an edit run through `paced` (the chat's edit pace), and the rest is posted after it.
	 */
	draft?: DraftMessage | null;
}

/** The messages `markdown` becomes on a platform, in its format and within its limits. */
export function messagesFor(plugin: AnyChannelPlugin, markdown: string, maxLines?: number): string[] {
	const { renderer, textLimit, maxLinesPerMessage } = plugin.capabilities;
	const lines = maxLines ?? maxLinesPerMessage;
	return formatAndChunk(markdown, { renderer, limit: textLimit, maxLines: lines && lines > 0 ? lines : undefined });
}

/** Posts `markdown` as one or more messages; fails with a message a user can act on. */
export async function deliverText<Client>(plugin: AnyChannelPlugin, client: Client, delivery: TextDelivery): Promise<SentMessages> {
	if (!delivery.chatId.trim()) throw new Error(`There is no chat to send to on ${plugin.name}. Set the chat ID (by default the chat the message came from).`);
	if (!delivery.markdown.trim()) throw new Error('There is no text to send. Set "Text" (by default the answer of Clawgate AI Session, reply.text).');
	const messages = messagesFor(plugin, delivery.markdown, delivery.maxLines);
	if (messages.length === 0) throw new Error(`The text has nothing visible to send once formatted for ${plugin.name}.`);
	const messageIds: string[] = [];
	const { draft } = delivery;
	for (const [index, text] of messages.entries()) {
		if (index === 0 && draft && plugin.outbound.editMessage) {
			const edit = { chatId: delivery.chatId, messageId: draft.messageId, text, threadId: delivery.threadId, linkPreviews: delivery.linkPreviews };
			await withRetryAfter(() => draft.paced(() => plugin.outbound.editMessage!(client, edit)), {
				action: 'edit a message',
				platform: plugin.name,
				retryAfterMs: (error) => plugin.retryAfterMs(error),
			}).catch((error: unknown) => {
				throw error instanceof RateLimitedError ? error : plugin.describeError(error, 'edit a message');
			});
			messageIds.push(draft.messageId);
			continue;
		}
		const message = {
			chatId: delivery.chatId,
			text,
			replyToId: index === 0 ? delivery.replyToId : null,
			threadId: delivery.threadId,
			linkPreviews: delivery.linkPreviews,
			accountId: delivery.accountId ?? null,
			answers: index === 0 ? (delivery.answers ?? null) : null,
		};
		const posted = await withRetryAfter(() => plugin.outbound.postMessage(client, message), {
			action: 'send a message',
			platform: plugin.name,
			retryAfterMs: (error) => plugin.retryAfterMs(error),
		}).catch((error: unknown) => {
			throw error instanceof RateLimitedError ? error : plugin.describeError(error, 'send a message');
		});
		messageIds.push(...posted);
	}
	return { chatId: delivery.chatId, messageIds, threadId: delivery.threadId };
}

/** Whether an answer quotes the message it answers, as the platform's quote style says. */
export function quotes(plugin: AnyChannelPlugin, envelope: ReplyRequest['envelope']): boolean {
	const style = plugin.capabilities.quote;
	return style === 'always' || (style === 'groups' && envelope.chat.type !== 'dm');
}

/** Answers the chat an envelope came from: in its thread, quoting it where the platform shows quotes. */
export async function replyTo<Client>(plugin: AnyChannelPlugin, client: Client, request: ReplyRequest): Promise<SentMessages> {
	const { envelope } = request;
	const target = replyTargetOf(plugin, envelope, request.inThread);
	return await deliverText(plugin, client, {
		...target,
		markdown: request.text,
		replyToId: request.quote && quotes(plugin, envelope) ? envelope.message.id : null,
		linkPreviews: request.linkPreviews,
		accountId: envelope.accountId,
		answers: request.quote ? envelope : null,
		draft: request.draft ?? null,
	});
}

/** The chat (and thread) an answer to an envelope goes to. */
export function replyTargetOf(plugin: AnyChannelPlugin, envelope: ReplyRequest['envelope'], inThread: boolean): { chatId: string; threadId: string | null } {
	return plugin.outbound.replyTarget?.(envelope, inThread) ?? { chatId: envelope.chat.id, threadId: inThread ? envelope.chat.threadId : null };
}
