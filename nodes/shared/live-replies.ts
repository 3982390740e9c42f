/**
 * What AI Session's live replies (Show Typing, Stream Preview) and its downloads of voice notes and images share: which items get one, where
 * in the chat they show, and one client per platform per execution, made from the platform
 * credential set on AI Session (the same one its trigger uses). Live replies are decoration: a
 * missing credential or a failed call costs them (one debug log), never the answer.
 */
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import type { AnyChannelPlugin, ReplyRequest } from '../core/channel';
import { deliveryStampOf } from '../core/journal';
import { isTriggerEnvelope } from '../core/origin';
import { enabledCommand, type InboundMessage, type SessionEngineConfig } from '../core/session/engine';
import { accountOfCredential } from './channel-accounts';
import { envelopeOriginKey } from './origin-key';

export interface PlatformConnection {
	client: unknown;
	credential: object;
}

/** Where a live reply shows: the chat (and thread) the answer will go to, as Reply answers it. */
export interface LiveReplyTarget {
	plugin: AnyChannelPlugin;
	chatId: string;
	threadId: string | null;
}

/**
 * The chat a live reply shows in, when the model will work on the item: an envelope a Clawgate
 * trigger signed, from a platform `pluginForItem` knows, not a command answered without the model,
 * not a message the journal gave up on; null otherwise.
 */
export function liveReplyTargetOf(
	json: IDataObject,
	message: Pick<InboundMessage, 'text' | 'command' | 'media'>,
	commands: SessionEngineConfig['commands'],
	pluginForItem: (json: IDataObject) => AnyChannelPlugin | null,
): LiveReplyTarget | null {
	if ((message.text.trim() === '' && !message.media) || enabledCommand(commands, message.command) !== null) return null;
	if (deliveryStampOf(json)?.gaveUp) return null;
	if (!isTriggerEnvelope(json, envelopeOriginKey())) return null;
	const plugin = pluginForItem(json);
	if (!plugin) return null;
	const envelope = json as unknown as ReplyRequest['envelope'];
	if (typeof envelope.chat?.id !== 'string' || envelope.chat.id === '') return null;
	const target = plugin.outbound.replyTarget?.(envelope, true) ?? { chatId: envelope.chat.id, threadId: envelope.chat.threadId ?? null };
	return { plugin, ...target };
}

/**
 * The platform clients of one AI Session execution: one credential read and one client per
 * platform, shared by typing, drafts and downloads, and only for items of the account the credential is for.
 */
export class PlatformConnections {
	private readonly connections = new Map<string, Promise<PlatformConnection | null>>();

	constructor(private readonly context: IExecuteFunctions) {}

	/** The platform's client for an item, or null (no credential, or one of another bot: it would show the wrong bot). */
	connectionFor(plugin: AnyChannelPlugin, itemIndex: number, json: IDataObject): Promise<PlatformConnection | null> {
		let connection = this.connections.get(plugin.id);
		if (!connection) {
			connection = this.connect(plugin, itemIndex);
			this.connections.set(plugin.id, connection);
		}
		return connection.then(async (connected) => {
			if (!connected) return null;
			const account = await accountOfCredential(plugin, connected.credential, connected.client).catch(() => null);
			return account === null || !json.accountId || account === json.accountId ? connected : null;
		});
	}

	debug(message: string): void {
		this.context.logger.debug(`AI Session "${this.context.getNode().name}" ${message}`);
	}

	private async connect(plugin: AnyChannelPlugin, itemIndex: number): Promise<PlatformConnection | null> {
		let credential: object;
		try {
			credential = await this.context.getCredentials(plugin.credentialType, itemIndex);
		} catch {
			this.debug(`shows no typing or drafts and downloads no files on ${plugin.name}: no "Clawgate ${plugin.name} API" credential is set on it`);
			return null;
		}
		try {
			return { credential, client: await plugin.createClient(credential) };
		} catch (error) {
			this.debug(`shows no typing or drafts and downloads no files on ${plugin.name}: ${describeWithoutSecrets(plugin, error, credential, 'connect')}`);
			return null;
		}
	}
}

/** The plugin's words for a failure, with every secret of the credential blanked (a URL with the bot token in it). */
export function describeWithoutSecrets(plugin: AnyChannelPlugin, error: unknown, credential: object | null | undefined, action = 'show typing'): string {
	let text: string;
	try {
		text = plugin.describeError(error, action).message;
	} catch {
		text = error instanceof Error ? error.message : String(error);
	}
	return withoutSecrets(text, credential);
}

/** `text` with every credential value long enough to be a secret replaced by "***". */
export function withoutSecrets(text: string, credential: object | null | undefined): string {
	for (const value of Object.values(credential ?? {})) {
		// Short values (a port, "true") are no secrets and would blank ordinary words.
		if (typeof value === 'string' && value.length >= 8) text = text.split(value).join('***');
	}
	return text;
}
