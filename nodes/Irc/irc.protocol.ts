/**
 * IRC's wire format (RFC 1459 §2.3, RFC 2812 §2.3, IRCv3 message tags): one message per line,
 * at most 512 bytes with CRLF, tags before it. Parsing and pacing only; no sockets here.
 */

export interface IrcLine {
	tags: Record<string, string>;
	/** `nick!user@host` or a server name; null when the server sent none. */
	prefix: string | null;
	command: string;
	params: string[];
}

/** RFC 2812 §2.3: 512 bytes with CRLF. IRCv3 allows tags of up to 8,191 bytes before that. */
export const IRC_LINE_BYTES = 512;
/** A line longer than this (tags and all) is no IRC a server sends: the connection is dropped before parsing it. */
export const MAX_INBOUND_LINE_BYTES = 8_191 + IRC_LINE_BYTES;

const TAG_ESCAPES: Record<string, string> = { ':': ';', s: ' ', '\\': '\\', r: '\r', n: '\n' };

function unescapeTag(value: string): string {
	return value.replace(/\\(.?)/g, (_match, char: string) => TAG_ESCAPES[char] ?? char);
}

/** One line without its CRLF, or null when it holds no command. Linear in the line. */
export function parseIrcLine(line: string): IrcLine | null {
	let rest = line;
	const tags: Record<string, string> = {};
	if (rest.startsWith('@')) {
		const space = rest.indexOf(' ');
		if (space < 0) return null;
		for (const tag of rest.slice(1, space).split(';')) {
			if (!tag) continue;
			const equals = tag.indexOf('=');
			tags[equals < 0 ? tag : tag.slice(0, equals)] = equals < 0 ? '' : unescapeTag(tag.slice(equals + 1));
		}
		rest = rest.slice(space + 1).trimStart();
	}
	let prefix: string | null = null;
	if (rest.startsWith(':')) {
		const space = rest.indexOf(' ');
		if (space < 0) return null;
		prefix = rest.slice(1, space);
		rest = rest.slice(space + 1).trimStart();
	}
	const trailingAt = rest.indexOf(' :');
	const middle = trailingAt < 0 ? rest : rest.slice(0, trailingAt);
	const params = middle.split(' ').filter(Boolean);
	const command = params.shift();
	if (!command) return null;
	if (trailingAt >= 0) params.push(rest.slice(trailingAt + 2));
	return { tags, prefix, command: command.toUpperCase(), params };
}

/** The nick of a `nick!user@host` prefix. */
export function nickOf(prefix: string | null): string {
	return (prefix ?? '').split('!')[0];
}

/** The user and host of a `nick!user@host` prefix, when it has them. */
export function identOf(prefix: string | null): { user: string | null; host: string | null } {
	const match = /^[^!@]*(?:!([^@]*))?(?:@(.*))?$/.exec(prefix ?? '');
	return { user: match?.[1] ?? null, host: match?.[2] ?? null };
}

/** Nicks compare without case (RFC 2812 §2.2: `{}|^` are the lower case of `[]\~`). */
export function sameNick(a: string, b: string): boolean {
	const fold = (nick: string) => nick.toLowerCase().replace(/[[\]\\~]/g, (char) => ({ '[': '{', ']': '}', '\\': '|', '~': '^' })[char] ?? char);
	return fold(a) === fold(b);
}

export function isChannelName(target: string): boolean {
	return /^[#&+!]/.test(target);
}

/** A CTCP request or reply (ACTION, VERSION, PING): `\x01…\x01` inside PRIVMSG or NOTICE. */
export function isCtcp(text: string): boolean {
	return text.startsWith('\x01');
}

/**
 * Bytes a server adds when it relays our PRIVMSG (`:nick!user@host `), which the 512 must hold:
 * nick up to 30, user up to 10 (with `~`), host up to 63 (RFC 2812 §1.2.1, §2.3.1 and common servers).
 */
export const RELAY_PREFIX_BYTES = 1 + 30 + 1 + 11 + 1 + 63 + 1;

/** Text bytes one PRIVMSG to `target` may carry so that the relayed line stays within 512. */
export function privmsgTextBudget(target: string): number {
	return IRC_LINE_BYTES - 2 - RELAY_PREFIX_BYTES - Buffer.byteLength(`PRIVMSG ${target} :`);
}

/**
 * Splits text into PRIVMSG payloads: one per line (IRC has no line breaks in a message), each at
 * most `budget` UTF-8 bytes, cut at a space where there is one and never inside a character.
 */
export function splitForIrc(text: string, budget: number): string[] {
	const out: string[] = [];
	for (const rawLine of text.split(/\r?\n/)) {
		// Control characters other than IRC's formatting codes would end or corrupt the line.
		const line = rawLine.replace(/[\0\r\n]/g, '').trimEnd();
		if (!line.trim()) continue;
		let rest = line;
		while (Buffer.byteLength(rest) > budget) {
			let cut = 0;
			let bytes = 0;
			for (const char of rest) {
				const size = Buffer.byteLength(char);
				if (bytes + size > budget) break;
				bytes += size;
				cut += char.length;
			}
			const space = rest.lastIndexOf(' ', cut);
			const at = space > cut / 2 ? space : cut;
			out.push(rest.slice(0, at));
			rest = rest.slice(at).trimStart();
		}
		if (rest) out.push(rest);
	}
	return out;
}

/**
 * Flood control: a burst of `burst` lines, then one line per `intervalMs` (servers disconnect
 * clients that send faster; 4 then 1/s is what common bots and clients use).
 */
export class TokenBucket {
	private tokens: number;
	private updatedAt: number;

	constructor(
		private readonly burst = 4,
		private readonly intervalMs = 1_000,
		private readonly now = () => Date.now(),
	) {
		this.tokens = burst;
		this.updatedAt = now();
	}

	/** Milliseconds until a line may go; 0 takes a token now. */
	take(): number {
		const now = this.now();
		this.tokens = Math.min(this.burst, this.tokens + (now - this.updatedAt) / this.intervalMs);
		this.updatedAt = now;
		if (this.tokens >= 1) {
			this.tokens -= 1;
			return 0;
		}
		return Math.ceil((1 - this.tokens) * this.intervalMs);
	}
}
