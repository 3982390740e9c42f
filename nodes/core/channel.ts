/**
 * The channel plugin contract: what one messaging integration declares and implements so that
 * the shared trigger, send and Reply pipelines (nodes/shared) serve it. Shaped after the Chat
 * SDK's `Adapter` (one interface per platform: verify and parse webhooks, post, edit, typing),
 * with Clawgate's envelope and with capabilities as data, which the shared code reads instead of
 * asking `if (channel === ...)`. A plugin may wrap a maintained SDK or `@chat-adapter/*` package
 * inside these methods; nothing of it leaks past them.
 */
import type { AccessFacts, AccessPolicy, IdListReading } from './access-policy';
import type { EditRate } from './edit-pacer';
import type { Envelope, EnvelopeAttachment, SessionScope } from './envelope';
import type { TextRenderer } from './text/renderer';

export type InboundTransport = 'webhook' | 'listener';

/** Where an answer quotes the message it answers: only in groups (who is answered), always, or never (no quoting). */
export type QuoteStyle = 'groups' | 'always' | 'never';

/** What a platform can do, as data. */
export interface ChannelCapabilities {
	/** Characters per message, as the platform counts them (the renderer's `measure`). */
	textLimit: number;
	/** Characters of a caption under media, or null when media take no caption. */
	captionLimit: number | null;
	/** How Markdown from the model becomes the platform's format. */
	renderer: TextRenderer;
	/** Lines per message before a split reads better (Discord), when the platform suggests one. */
	maxLinesPerMessage?: number;
	edit: boolean;
	/**
	 * How often the bot may edit its messages, where `edit`: Stream Preview paces a draft answer's
	 * edits to it (a platform without it gets the final answer only). `per` is what the platform
	 * counts against (a chat, or the whole account); `groups`, a stricter limit in group chats.
	 */
	editRate?: EditRate & { per: 'chat' | 'account'; groups?: EditRate };
	typing: boolean;
	/**
	 * How long one typing action shows, per the platform's documentation, where `typing`: AI
	 * Session sends the next one before it runs out (Telegram 5 s, Discord 10 s).
	 */
	typingLastsMs?: number;
	threads: boolean;
	media: boolean;
	quote: QuoteStyle;
	/** How messages arrive: pushed to n8n's webhook, or fetched by a listener n8n holds open. */
	inbound: readonly InboundTransport[];
}

/** One HTTP request to a webhook trigger, as the plugin needs to see it. */
export interface WebhookRequest {
	method: string;
	/** Lower-case names, as Node gives them. */
	headers: Record<string, string | string[] | undefined>;
	/** The body exactly as received, for signatures over bytes. */
	rawBody: Buffer | undefined;
	/** The body as n8n parsed it (JSON or form fields). */
	body: unknown;
	query: Record<string, unknown>;
	/** The URL the platform called (the test URL while listening for a test event). */
	url: string;
}

/** Which trigger a request reached: secrets derived per webhook and the user's options. */
export interface WebhookContext {
	workflowId: string;
	nodeId: string;
	webhookId: string;
	/** The trigger's options as the user set them (platform-specific ones included). */
	options: Record<string, unknown>;
	now: number;
}

/** What the trigger answers the platform with, when it answers itself. */
export interface WebhookAnswer {
	status: number;
	body: unknown;
	/** Default JSON. */
	contentType?: string;
}

/** One event of a delivery, normalised. */
export interface InboundEvent {
	/** Null when it is nothing this trigger emits (a status callback, an edit with edits off); `skipped` says why. */
	envelope: Envelope | null;
	skipped?: string;
	facts: AccessFacts;
	/** The platform's ID of this delivery, the same on every redelivery (event_id, MessageSid, update_id). */
	dedupeKey: string;
}

export type WebhookReceipt =
	/** Answered without an execution: a URL check or handshake, or a payload kind that carries no messages. */
	| { kind: 'answer'; answer: WebhookAnswer; reason: string }
	| { kind: 'events'; events: InboundEvent[] };

export interface ReceiveSettings {
	policy: AccessPolicy;
	sessionScope: SessionScope;
}

/** How a platform pushes messages to n8n. */
export interface WebhookInbound<Credential> {
	/** n8n's webhook method: most platforms POST; Meta's handshake is a GET. */
	httpMethods?: readonly ('POST' | 'GET')[];
	/**
	 * Why the request carries no proof of origin of the right shape (no signature header, a
	 * timestamp outside its window), or null when it does. Decided without the credential, whose
	 * every read costs n8n an expression sandbox, so a flood of unsigned requests costs nothing.
	 */
	missingProof(request: WebhookRequest, context: WebhookContext): string | null;
	/** Why the proof does not hold with this credential, or null when the request is the platform's; compared in constant time. */
	disproof(request: WebhookRequest, credential: Credential, context: WebhookContext): string | null;
	/**
	 * For proofs checked against keys the platform publishes (a JWT whose signing keys come from a
	 * key set URL: Teams, Google Chat): fetches the keys the request names into the plugin's cache,
	 * where `disproof` (synchronous) reads them. Called only when `disproof` refused the request
	 * with this credential; the plugin decides when a fetch is due (an unknown key, a cooldown).
	 */
	fetchProofKeys?(request: WebhookRequest, credential: Credential, context: WebhookContext): Promise<void>;
	/** How a refusal (401, 400) is written; default JSON `{ error }`. */
	refusal?(status: number, reason: string): WebhookAnswer;
	/** The request's events, normalised; throws InvalidPayloadError for a body the platform would never send. */
	receive(request: WebhookRequest, credential: Credential, context: WebhookContext, settings: ReceiveSettings): Promise<WebhookReceipt>;
	/** The answer once events are taken (emitted or dropped): what stops the platform from redelivering. */
	acknowledgement: WebhookAnswer;
	/** Tells the platform where to deliver, on activation; platforms without an API leave it out (the user pastes the URL). */
	register?(credential: Credential, url: string, context: WebhookContext): Promise<void>;
	unregister?(credential: Credential, url: string, context: WebhookContext): Promise<void>;
	/** What activation can check when the platform cannot be told the URL: the credential works. */
	checkCredential?(credential: Credential): Promise<void>;
}

/** A message the send pipeline posts: one chunk, already in the platform's format. */
export interface OutboundMessage {
	chatId: string;
	text: string;
	/** Set on the first chunk only: the message it answers. */
	replyToId: string | null;
	threadId: string | null;
	/** Whether the platform may fetch previews of links in the text. */
	linkPreviews: boolean;
	/** The account that answers, when the platform needs it named (Twilio sends from the number that received the message). */
	accountId: string | null;
	/** The envelope being answered, when there is one (email keeps its subject and quotes it); set on the first chunk only. */
	answers?: Partial<Pick<Envelope, 'message' | 'sender' | 'raw'>> | null;
}

export interface SentMessages {
	chatId: string;
	messageIds: string[];
	threadId?: string | null;
}

/** An answer to the chat an envelope came from: what Reply and the default send operation need. */
export interface ReplyRequest {
	envelope: Pick<Envelope, 'channel' | 'accountId' | 'chat' | 'message'>;
	/** Markdown as the model wrote it. */
	text: string;
	quote: boolean;
	inThread: boolean;
	linkPreviews: boolean;
	/** A draft of the answer in the chat (Stream Preview), turned into the answer's first message. */
	draft?: DraftMessage | null;
}

/** A draft answer the bot posted (Stream Preview), and the chat's edit pace its final edit keeps to. */
export interface DraftMessage {
	messageId: string;
	paced<T>(call: () => Promise<T>): Promise<T>;
}

/** What a platform does outbound. The shared pipeline formats, chunks, quotes and retries around these. */
export interface ChannelOutbound<Client> {
	/** Posts one message that already fits the platform's limit; returns the IDs of what it posted. */
	postMessage(client: Client, message: OutboundMessage): Promise<string[]>;
	/**
	 * Replaces the text of a message the bot posted (one chunk), where `capabilities.edit`;
	 * `linkPreviews`, when given, sets whether the platform shows previews of links in the new text.
	 */
	editMessage?(client: Client, edit: { chatId: string; messageId: string; text: string; threadId: string | null; linkPreviews?: boolean }): Promise<void>;
	/** Deletes a message the bot posted: a draft answer whose model failed (Stream Preview). */
	deleteMessage?(client: Client, message: { chatId: string; messageId: string; threadId: string | null }): Promise<void>;
	/**
	 * Shows the bot as typing for `capabilities.typingLastsMs`, where `capabilities.typing`. `signal`
	 * aborts the request (and any wait for a rate limit) once the typing is no longer wanted.
	 */
	sendTyping?(client: Client, target: { chatId: string; threadId: string | null; signal?: AbortSignal }): Promise<void>;
	/**
	 * Where an answer to an envelope goes, when it is not `chat.id` in `chat.threadId`: a Discord
	 * thread is a channel of its own; Twilio answers from the number that received the message.
	 */
	replyTarget?(envelope: ReplyRequest['envelope'], inThread: boolean): { chatId: string; threadId: string | null };
}

/** How much of an attachment AI Session fetches, and for how long. */
export interface AttachmentDownloadLimits {
	/** Larger files are refused: before the transfer when the size is known, else once the bytes pass it. */
	maxBytes: number;
	/** The whole download must end within this. */
	timeoutMs: number;
	/** Ends the download early (the execution stopping). */
	signal?: AbortSignal;
}

/** The bytes of an inbound attachment, as the platform served them. */
export interface DownloadedAttachment {
	bytes: Buffer;
	mimeType: string | null;
	fileName: string;
}

export interface ChannelPlugin<Credential = never, Client = never> {
	/** The integration id (`via` in the envelope, the node names' prefix): "telegram", "twilio", "line". */
	id: string;
	/** The platform's name for people: "Telegram". */
	name: string;
	/** Envelope `channel` values this integration emits ("whatsapp" and "sms" share Twilio). */
	channels: readonly string[];
	credentialType: string;
	capabilities: ChannelCapabilities;
	createClient(credential: Credential): Client | Promise<Client>;
	/**
	 * The account a credential speaks for, as the envelope's `accountId` names it, so Reply answers
	 * each bot with its own credential; null when the credential serves any account of the platform.
	 */
	accountOf(credential: Credential, client: Client): Promise<string | null>;
	webhook?: WebhookInbound<Credential>;
	/** How the platform's IDs are typed into Allowed Senders / Allowed Chats, when not the default. */
	idReading?: IdListReading;
	outbound: ChannelOutbound<Client>;
	/**
	 * Fetches the file of an attachment this plugin's trigger put in an envelope (a voice note to
	 * transcribe, an image for the model), within `limits`. Its errors say what failed in words a
	 * user can act on and never hold a secret (Telegram's file URL holds the bot token).
	 */
	downloadAttachment?(connection: { client: Client; credential: Credential }, attachment: EnvelopeAttachment, limits: AttachmentDownloadLimits): Promise<DownloadedAttachment>;
	/** Milliseconds the platform asked to wait after a rate-limited call, or null when the error is not one. */
	retryAfterMs(error: unknown): number | null;
	/** A failed call in words a user can act on (never carrying the token). */
	describeError(error: unknown, action: string): Error;
}

/** A plugin whose credential and client types are its own business; the registry holds these. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyChannelPlugin = ChannelPlugin<any, any>;
