/**
 * The one access policy every Clawgate trigger applies, in direct messages and groups alike
 * (DESIGN.md "Channels"): who may start the workflow, and which group messages address the bot.
 * Platforms decide what only they can know (event types, their own message kinds) and report
 * the facts this needs; the rules themselves live here once.
 */
import { parseCommand, type Envelope } from './envelope';

/**
 * Direct messages: `open` anyone (within Allowed Senders, when set), `allowlist` only Allowed
 * Senders (none when empty), `pairing` unknown senders must be approved first (handled by the
 * pairing step, which sees `pairing` decisions), `disabled` none.
 */
export type DmPolicy = 'open' | 'allowlist' | 'pairing' | 'disabled';

/** In groups: only messages addressed to the bot (mention, reply to it, a command for it), or all. */
export type GroupActivation = 'mentions' | 'all';

export interface AccessPolicy {
	dmPolicy: DmPolicy;
	groupActivation: GroupActivation;
	/** Whether messages of other bots start the workflow. The bot's own never do. */
	includeBots: boolean;
	/** When not empty, only these senders, in DMs and groups. */
	allowedSenderIds: readonly string[];
	/**
	 * Senders an owner approved by pairing code (kept by the trigger, not typed in): they pass as
	 * if listed in Allowed Senders, but do not make an empty list exclusive, and cannot approve others.
	 */
	approvedSenderIds?: readonly string[];
	/** When not empty, only these group chats (a thread counts as its chat). DMs follow the DM policy. */
	allowedChatIds: readonly string[];
	/** Telegram Trigger v1's "Only These Chats" also held DMs (a DM's chat ID is the user's); kept for its workflows. */
	allowedChatsCoverDms?: boolean;
}

export const DEFAULT_ACCESS_POLICY: AccessPolicy = {
	dmPolicy: 'open',
	groupActivation: 'mentions',
	includeBots: false,
	allowedSenderIds: [],
	allowedChatIds: [],
};

/** What a trigger knows about a message beyond its envelope. */
export interface AccessFacts {
	/** The bot sent it itself (platforms echo a bot's own messages to it). */
	fromSelf: boolean;
	/** It answers one of the bot's messages, which addresses the bot in a group. */
	repliesToBot?: boolean;
	/** How allow-lists name the sender, when not `sender.id` (Twilio lists phone numbers; its WhatsApp senders carry `whatsapp:`). */
	senderListedAs?: string;
	/** Chat IDs that also identify where it was posted (a Discord thread's parent channel, a server). */
	alsoInChats?: readonly string[];
}

export type AccessDecision = { allowed: true } | { allowed: false; reason: string } | { allowed: 'pairing'; reason: string };

const deny = (reason: string): AccessDecision => ({ allowed: false, reason });

/**
 * Whether a message may start the workflow, and if not why (for the debug log). Button presses
 * are answers to the bot by nature, so the group gate lets them through.
 */
export function decideAccess(envelope: Envelope, facts: AccessFacts, policy: AccessPolicy = DEFAULT_ACCESS_POLICY): AccessDecision {
	if (facts.fromSelf) return deny('the bot sent it itself');
	if (envelope.sender.isBot && !policy.includeBots) return deny('another bot sent it ("Include Other Bots" is off)');
	const sender = facts.senderListedAs ?? envelope.sender.id;
	const senderKnown = policy.allowedSenderIds.includes(sender) || (policy.approvedSenderIds?.includes(sender) ?? false);
	const senderListed = policy.allowedSenderIds.length === 0 || senderKnown;
	// Pairing is how a stranger gets onto the list, so it is offered before the list refuses them.
	if (envelope.chat.type === 'dm' && policy.dmPolicy === 'pairing' && !senderKnown) {
		return { allowed: 'pairing', reason: `sender ${sender} is not approved yet ("DM Policy" is Pairing)` };
	}
	if (!senderListed) return deny(`its sender ${sender} is not in "Allowed Senders"`);

	if (envelope.chat.type === 'dm') {
		if (policy.allowedChatsCoverDms && policy.allowedChatIds.length > 0 && !policy.allowedChatIds.includes(envelope.chat.id)) {
			return deny(`its chat ${envelope.chat.id} is not in "Only These Chats"`);
		}
		if (policy.dmPolicy === 'disabled') return deny('it is a direct message ("DM Policy" is Disabled)');
		if (policy.dmPolicy === 'allowlist' && policy.allowedSenderIds.length === 0) {
			return deny('it is a direct message and "DM Policy" is Allowlist with no "Allowed Senders"');
		}
		return { allowed: true };
	}

	const chatIds = [envelope.chat.id, ...(envelope.chat.threadId ? [envelope.chat.threadId] : []), ...(facts.alsoInChats ?? [])];
	if (policy.allowedChatIds.length > 0 && !chatIds.some((id) => policy.allowedChatIds.includes(id))) {
		return deny(`its chat ${envelope.chat.id} is not in "Allowed Chats"`);
	}
	if (envelope.event === 'callback_query') return { allowed: true };
	const command = parseCommand(envelope.message.text);
	if (command?.addressee && envelope.message.command === null) return deny(`it is a command for another bot (@${command.addressee})`);
	const addressed = envelope.message.mentionsBot || facts.repliesToBot === true || envelope.message.command !== null;
	if (policy.groupActivation === 'mentions' && !addressed) return deny('it is a group message that neither mentions nor replies to the bot, and is no command');
	return { allowed: true };
}

export interface IdListReading {
	/** Default: commas, semicolons, spaces and new lines. Phone numbers contain spaces, so Twilio leaves them out. */
	separators?: RegExp;
	/** A platform's own spelling of an ID (Twilio reads "whatsapp:+1 415…" as "+1415…"). */
	normalize?: (id: string) => string;
}

/** IDs as users type them into an option, one list reader for every channel. */
export function parseIdList(value: unknown, { separators = /[\s,;]+/, normalize = (id) => id }: IdListReading = {}): string[] {
	if (Array.isArray(value)) return value.flatMap((entry) => parseIdList(entry, { separators, normalize }));
	if (typeof value === 'number') return [normalize(String(value))];
	if (typeof value !== 'string') return [];
	return value
		.split(separators)
		.map((id) => normalize(id.trim()))
		.filter(Boolean);
}
