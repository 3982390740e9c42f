/**
 * AI Session's connections to the chat platforms its items came from, for what it does there
 * besides answering: show typing, download voice notes and images. The platform credential is the
 * optional one set on AI Session (the same one its trigger uses): read once per platform per
 * execution, one client per platform, shared by every feature that needs it.
 */
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import type { AnyChannelPlugin } from '../core/channel';
import { accountOfCredential } from './channel-accounts';

export interface ChannelConnection {
	client: unknown;
	credential: object;
}

export class ChannelConnections {
	private readonly connections = new Map<string, Promise<ChannelConnection | null>>();

	constructor(private readonly context: IExecuteFunctions) {}

	/**
	 * The platform's client for the item, or null when AI Session has no credential of the platform
	 * or it speaks for another account than the item's (`doing` names what is then left out, for the
	 * one debug line: "shows no typing").
	 */
	forItem(plugin: AnyChannelPlugin, itemIndex: number, json: IDataObject, doing: string): Promise<ChannelConnection | null> {
		let connection = this.connections.get(plugin.id);
		if (!connection) {
			connection = this.connect(plugin, itemIndex, doing);
			this.connections.set(plugin.id, connection);
		}
		return connection.then(async (connected) => {
			if (!connected) return null;
			// A second bot of the platform has its own credential: using this one would act as the wrong bot.
			const account = await accountOfCredential(plugin, connected.credential, connected.client).catch(() => null);
			return account === null || !json.accountId || account === json.accountId ? connected : null;
		});
	}

	private async connect(plugin: AnyChannelPlugin, itemIndex: number, doing: string): Promise<ChannelConnection | null> {
		let credential: object;
		try {
			credential = await this.context.getCredentials(plugin.credentialType, itemIndex);
		} catch {
			this.debug(`${doing} on ${plugin.name}: no "Clawgate ${plugin.name} API" credential is set on it`);
			return null;
		}
		try {
			return { credential, client: await plugin.createClient(credential) };
		} catch (error) {
			this.debug(`${doing} on ${plugin.name}: ${describeWithoutSecrets(plugin, error, credential, 'connect')}`);
			return null;
		}
	}

	debug(message: string): void {
		this.context.logger.debug(`AI Session "${this.context.getNode().name}" ${message}`);
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
