/**
 * "Show Typing" on AI Session: while the model works on a message, the chat it came from shows the
 * bot typing, through the channel's plugin and the platform credential set on AI Session (the same
 * one its trigger uses). Typing is decoration: a missing credential, a 429 or a network error only
 * costs the indicator (one debug log), never the answer, and nothing waits for it.
 */
import type { IDataObject, IExecuteFunctions, INodeCredentialDescription, INodeProperties } from 'n8n-workflow';

import type { AnyChannelPlugin } from '../core/channel';
import type { InboundMessage, SessionEngineConfig } from '../core/session/engine';
import { keepTyping, type TypingIndicator } from '../core/typing';
import { describeWithoutSecrets, liveReplyTargetOf, PlatformConnections, type PlatformConnection } from './live-replies';

export { describeWithoutSecrets } from './live-replies';

/** The plugins AI Session can show typing for: the platform has an indicator and says how long it lasts. */
export function typingPlugins(plugins: readonly AnyChannelPlugin[]): AnyChannelPlugin[] {
	return plugins.filter((plugin) => plugin.capabilities.typing && plugin.outbound.sendTyping && (plugin.capabilities.typingLastsMs ?? 0) > 0);
}

const showTyping = { showTyping: [true] };

/** "Show Typing" and its notice (top level: n8n shows credentials by top-level parameters only). */
export function showTypingProperties(plugins: readonly AnyChannelPlugin[]): INodeProperties[] {
	const names = typingPlugins(plugins).map((plugin) => plugin.name);
	return [
		{
			displayName: 'Show Typing',
			name: 'showTyping',
			type: 'boolean',
			default: true,
			description: `Whether the chat shows the bot typing while the model works (${names.join(', ')}). Needs the channel's credential on this node.`,
		},
		{
			displayName:
				'To show typing, set the credential of each channel under Credentials (the same one its trigger uses). Messages from a channel without it are answered without typing.',
			name: 'showTypingNotice',
			type: 'notice',
			default: '',
			displayOptions: { show: showTyping },
		},
	];
}

/** The node's parameters with Show Typing and its notice after the parameter `after` (Message Text). */
export function withShowTypingProperties(properties: INodeProperties[], plugins: readonly AnyChannelPlugin[], after = 'text'): INodeProperties[] {
	const at = properties.findIndex((property) => property.name === after) + 1 || properties.length;
	return [...properties.slice(0, at), ...showTypingProperties(plugins), ...properties.slice(at)];
}

/**
 * The node's own credentials, then, optional, each platform's that AI Session acts on: showing
 * typing, downloading voice notes and images. Always shown: Show Typing and Voice Notes & Images
 * both read them, and n8n shows a credential by a rule that cannot say "either".
 */
export function withTypingCredentials(plugins: readonly AnyChannelPlugin[], own: INodeCredentialDescription[]): INodeCredentialDescription[] {
	const acting = plugins.filter((plugin) => typingPlugins([plugin]).length > 0 || plugin.downloadAttachment);
	return [...own, ...acting.map((plugin) => ({ name: plugin.credentialType, required: false }))];
}

/**
 * The typing indicators of one AI Session execution: one indicator per item being worked on,
 * through the execution's platform connections (shared with Stream Preview's drafts).
 */
export class ChatTyping {
	private readonly shown = new Map<number, TypingIndicator>();
	private readonly typingIds: Set<string>;

	constructor(
		private readonly context: IExecuteFunctions,
		plugins: readonly AnyChannelPlugin[],
		private readonly pluginForItem: (json: IDataObject) => AnyChannelPlugin | null,
		private readonly connections = new PlatformConnections(context),
	) {
		this.typingIds = new Set(typingPlugins(plugins).map((plugin) => plugin.id));
	}

	/**
	 * Starts typing in the item's chat when the model will work on it (`liveReplyTargetOf`), on a
	 * platform with typing. Returns at once; the first action goes out meanwhile.
	 */
	start(itemIndex: number, json: IDataObject, message: Pick<InboundMessage, 'text' | 'command' | 'media'>, commands: SessionEngineConfig['commands']): void {
		this.stop(itemIndex);
		try {
			if (this.context.getNodeParameter('showTyping', itemIndex, true) !== true) return;
			const target = liveReplyTargetOf(json, message, commands, this.pluginForItem);
			if (!target || !this.typingIds.has(target.plugin.id)) return;
			const { plugin, chatId, threadId } = target;
			let connection: PlatformConnection | null = null;
			this.shown.set(
				itemIndex,
				keepTyping(
					async (signal) => {
						connection = await this.connections.connectionFor(plugin, itemIndex, json);
						if (connection && !signal.aborted) await plugin.outbound.sendTyping!(connection.client, { chatId, threadId, signal });
					},
					{ lastsMs: plugin.capabilities.typingLastsMs!, onError: (error) => this.connections.debug(`could not show typing on ${plugin.name}: ${describeWithoutSecrets(plugin, error, connection?.credential)}`) },
				),
			);
		} catch (error) {
			this.connections.debug(`shows no typing for item ${itemIndex}: ${(error as Error).message}`);
		}
	}

	/** Stops the item's typing: its draft or answer is ready, or it failed. */
	stop(itemIndex: number): void {
		this.shown.get(itemIndex)?.stop();
		this.shown.delete(itemIndex);
	}
}
