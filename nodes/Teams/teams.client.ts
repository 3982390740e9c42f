/**
 * The Bot Connector as Clawgate's Teams channel calls it: a bot token from the OAuth
 * client-credentials grant (kept until shortly before it expires), and activities posted to a
 * conversation's serviceUrl, which receives the token only where it may.
 * https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-api-reference
 */
import { createHash } from 'node:crypto';

import { AccessTokenCache } from '../core/jwt';
import { nonEmptyStringOrNull, recordOrNull, stringOr } from '../core/payload';
import { RateLimitedError, retryAfterHeaderOf } from '../core/retry-after';

const LOGIN = 'https://login.microsoftonline.com';
const TOKEN_SCOPE = 'https://api.botframework.com/.default';
/** Where a conversation is reached when no activity named its serviceUrl (a Chat ID typed by hand). */
export const DEFAULT_SERVICE_URL = 'https://smba.trafficmanager.net/teams/';

export interface TeamsCredential {
	appId: string;
	appPassword: string;
	tenantId?: string;
	baseUrl?: string;
}

export interface TeamsClient {
	appId: string;
	appPassword: string;
	/** The tenant of a single-tenant app, or botframework.com for a multi-tenant one. */
	tenant: string;
	/** The credential's Base URL without a trailing slash, or null for Microsoft's services. */
	baseUrl: string | null;
}

/** A refused or failed call; `message` is Microsoft's own words, which `describeTeamsError` puts into advice. */
export class TeamsApiError extends Error {
	constructor(
		message: string,
		readonly status: number | null,
		readonly retryAfterMs: number | null = null,
		/** Which service refused: the token endpoint (app ID and password) or the Bot Connector. */
		readonly service: 'token' | 'connector' | null = null,
	) {
		super(message);
		this.name = 'TeamsApiError';
	}
}

export const baseUrlOf = (credential: Pick<TeamsCredential, 'baseUrl'>) => credential.baseUrl?.trim().replace(/\/+$/, '') || null;

export function createTeamsClient(credential: TeamsCredential): TeamsClient {
	const appId = credential.appId?.trim();
	const appPassword = credential.appPassword?.trim();
	if (!appId || !appPassword) {
		throw new TeamsApiError('The Clawgate Microsoft Teams credential needs the app ID and the app password (client secret) of your Azure Bot.', null);
	}
	return { appId, appPassword, tenant: credential.tenantId?.trim() || 'botframework.com', baseUrl: baseUrlOf(credential) };
}

// ---------------------------------------------------------------------------------------------
// Bot token: OAuth client credentials, kept until shortly before it expires

const botTokens = new AccessTokenCache();

function tokenUrlOf(client: TeamsClient): string {
	return `${client.baseUrl ?? LOGIN}/${encodeURIComponent(client.tenant)}/oauth2/v2.0/token`;
}

function tokenKeyOf(client: TeamsClient): string {
	return createHash('sha256').update(JSON.stringify([tokenUrlOf(client), client.appId, client.appPassword])).digest('hex');
}

async function readJson(response: Response): Promise<Record<string, unknown>> {
	const text = await response.text();
	try {
		return recordOrNull(text ? JSON.parse(text) : {}) ?? {};
	} catch {
		return { message: text.slice(0, 200) };
	}
}

export async function teamsBotToken(client: TeamsClient): Promise<string> {
	return await botTokens.get(tokenKeyOf(client), async () => {
		const response = await fetch(tokenUrlOf(client), {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.appId, client_secret: client.appPassword, scope: TOKEN_SCOPE }).toString(),
			signal: AbortSignal.timeout(30_000),
		});
		const answer = await readJson(response);
		const token = nonEmptyStringOrNull(answer.access_token);
		if (!response.ok || token === null) {
			// Microsoft's error_description starts with an AADSTS code a user can look up; it never holds the secret.
			const said = stringOr(answer.error_description, stringOr(answer.error, response.statusText)).split('\n')[0];
			throw new TeamsApiError(said, response.status, null, 'token');
		}
		return { token, expiresInSeconds: Number(answer.expires_in) || 3600 };
	});
}

// ---------------------------------------------------------------------------------------------
// Where answers go: the serviceUrl of the conversation

/**
 * Service URL hosts of Teams (commercial, GCC, GCC High, DoD) and the Bot Framework's own. With the
 * public services the bot token goes to these alone: `raw.serviceUrl` passes through the workflow,
 * so a changed item must not send the token elsewhere.
 */
const SERVICE_HOSTS = [/^smba\.trafficmanager\.net$/, /\.botframework\.com$/, /\.teams\.microsoft\.com$/, /\.teams\.microsoft\.us$/];

/** Why the bot token may not go to `serviceUrl`, or null when it may. With a Base URL (an emulator) any http(s) URL is allowed. */
export function serviceUrlProblem(serviceUrl: string, client: Pick<TeamsClient, 'baseUrl'>): string | null {
	let url: URL;
	try {
		url = new URL(serviceUrl);
	} catch {
		return `The service URL ${JSON.stringify(serviceUrl)} is not a URL.`;
	}
	if (client.baseUrl !== null) return url.protocol === 'https:' || url.protocol === 'http:' ? null : `The service URL ${serviceUrl} is not http(s).`;
	if (url.protocol !== 'https:' || !SERVICE_HOSTS.some((host) => host.test(url.hostname))) {
		return `The service URL ${serviceUrl} is not a Microsoft Teams service (https://smba.trafficmanager.net/...), so the bot token is not sent there.`;
	}
	return null;
}

/** A Chat ID as the send pipeline passes it: `<serviceUrl>|<conversationId>` from an envelope, or a bare conversation ID. */
export function teamsAddressOf(chatId: string, client: Pick<TeamsClient, 'baseUrl'>): { serviceUrl: string; conversationId: string } {
	const bar = /^https?:\/\//.test(chatId) ? chatId.indexOf('|') : -1;
	const serviceUrl = bar > 0 ? chatId.slice(0, bar) : client.baseUrl ? `${client.baseUrl}/` : DEFAULT_SERVICE_URL;
	const conversationId = bar > 0 ? chatId.slice(bar + 1) : chatId;
	if (!conversationId.trim()) throw new TeamsApiError('There is no Teams conversation ID to send to.', null);
	return { serviceUrl: serviceUrl.endsWith('/') ? serviceUrl : `${serviceUrl}/`, conversationId };
}

/** One Bot Connector call to a conversation; a non-2xx answer becomes a TeamsApiError with Microsoft's message. */
export async function callConnector(client: TeamsClient, chatId: string, method: string, path: string, body: unknown): Promise<Record<string, unknown>> {
	const { serviceUrl, conversationId } = teamsAddressOf(chatId, client);
	const problem = serviceUrlProblem(serviceUrl, client);
	if (problem) throw new TeamsApiError(problem, null);
	const call = async () =>
		await fetch(`${serviceUrl}v3/conversations/${encodeURIComponent(conversationId)}/activities${path}`, {
			method,
			headers: { authorization: `Bearer ${await teamsBotToken(client)}`, 'content-type': 'application/json' },
			body: JSON.stringify(body),
			signal: AbortSignal.timeout(30_000),
		});
	let response = await call();
	// A token Microsoft revoked before its expiry: one new token, one more try.
	if (response.status === 401) {
		botTokens.forget(tokenKeyOf(client));
		response = await call();
	}
	const answer = await readJson(response);
	if (response.ok) return answer;
	const error = recordOrNull(answer.error);
	throw new TeamsApiError(
		stringOr(error?.message, stringOr(answer.message, response.statusText)),
		response.status,
		retryAfterHeaderOf(response.headers),
		'connector',
	);
}

export function describeTeamsError(error: unknown, action: string): Error {
	if (error instanceof RateLimitedError) return error;
	if (error instanceof TeamsApiError && error.status !== null) {
		const said = `(${error.status}: ${error.message})`;
		if (error.service === 'token') {
			return new TeamsApiError(
				`Microsoft refused the bot's app ID and password trying to ${action} ${said}. Check the App ID and App Password (a client secret of the bot's app registration) in the Clawgate Microsoft Teams credential; a single-tenant bot also needs its Tenant ID.`,
				error.status,
			);
		}
		if (error.status === 401 || error.status === 403) {
			return new TeamsApiError(`The Bot Connector refused the bot token trying to ${action} ${said}. Check that the App ID is the one of the Azure Bot and that the bot is installed in this conversation.`, error.status);
		}
		if (error.status === 429) return new TeamsApiError(`Teams is rate-limiting the bot and refused to ${action} ${said}. Send fewer messages or try again later.`, 429);
		if (error.status >= 500) return new TeamsApiError(`Teams failed to ${action} ${said}: a problem on Microsoft's side. Try again later.`, error.status);
		return new TeamsApiError(`Teams refused to ${action} ${said}. Check the conversation ID (the trigger's chat.id) and that the bot is still in the conversation.`, error.status);
	}
	if (error instanceof TeamsApiError) return error;
	const code = (error as { cause?: { code?: string } })?.cause?.code ?? (error as Error)?.name ?? 'error';
	return new TeamsApiError(`Could not reach Microsoft Teams to ${action} (${code}). Check the network and the credential's Base URL (empty means Microsoft's services).`, null);
}
