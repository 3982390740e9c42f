/**
 * The XML of an XMPP stream (RFC 6120 §4, §11): an opening `<stream:stream>` tag, then top-level
 * elements (stanzas), one after another. A small streaming parser of the restricted XML XMPP
 * allows: no DTD, comments or processing instructions (§11.1); each stanza capped in bytes and
 * depth before it is built, so a hostile server cannot make the trigger buffer or recurse without
 * end. Work is linear in the input.
 */

export interface XmlElement {
	name: string;
	attrs: Record<string, string>;
	children: Array<XmlElement | string>;
}

export type StreamEvent = { kind: 'open'; attrs: Record<string, string> } | { kind: 'stanza'; element: XmlElement } | { kind: 'close' };

export class XmlStreamError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'XmlStreamError';
	}
}

/** A stanza larger than this ends the stream (servers commonly cap stanzas at 64–256 KiB). */
export const MAX_STANZA_BYTES = 256 * 1024;
const MAX_DEPTH = 32;

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function decodeXml(text: string): string {
	return text.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|lt|gt|amp|quot|apos);/g, (_match, entity: string) => {
		if (entity[0] !== '#') return ENTITIES[entity];
		const code = entity[1] === 'x' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
		return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '';
	});
}

export function escapeXml(text: string): string {
	return text.replace(/[<>&"']/g, (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[char]!);
}

export function xml(name: string, attrs: Record<string, string | undefined> = {}, ...children: Array<string | null | undefined | false>): string {
	const attributes = Object.entries(attrs)
		.filter(([, value]) => value !== undefined)
		.map(([key, value]) => ` ${key}="${escapeXml(value!)}"`)
		.join('');
	const inner = children.filter((child): child is string => typeof child === 'string').join('');
	return inner ? `<${name}${attributes}>${inner}</${name}>` : `<${name}${attributes}/>`;
}

/** Text that goes between tags, escaped. */
export function text(value: string): string {
	return escapeXml(value);
}

/** The first child element with this local name (and namespace, when given). */
export function child(element: XmlElement, name: string, xmlns?: string): XmlElement | undefined {
	return element.children.find((node): node is XmlElement => typeof node !== 'string' && localName(node.name) === name && (xmlns === undefined || node.attrs.xmlns === xmlns));
}

export function childrenOf(element: XmlElement): XmlElement[] {
	return element.children.filter((node): node is XmlElement => typeof node !== 'string');
}

export function textOf(element: XmlElement | undefined): string {
	return element ? element.children.map((node) => (typeof node === 'string' ? node : textOf(node))).join('') : '';
}

export function localName(name: string): string {
	const colon = name.indexOf(':');
	return colon < 0 ? name : name.slice(colon + 1);
}

const NAME = /^[A-Za-z_][\w.:-]*/;
const ATTRIBUTE = /\s*([A-Za-z_][\w.:-]*)\s*=\s*("[^"]*"|'[^']*')/y;

function parseTag(source: string): { name: string; attrs: Record<string, string>; selfClosing: boolean } {
	const name = NAME.exec(source)?.[0];
	if (!name) throw new XmlStreamError('a tag without a name');
	const attrs: Record<string, string> = {};
	let at = name.length;
	ATTRIBUTE.lastIndex = at;
	let match: RegExpExecArray | null;
	while ((match = ATTRIBUTE.exec(source))) {
		attrs[match[1]] = decodeXml(match[2].slice(1, -1));
		at = ATTRIBUTE.lastIndex;
	}
	const rest = source.slice(at).trim();
	if (rest !== '' && rest !== '/') throw new XmlStreamError(`a malformed tag <${name}>`);
	return { name, attrs, selfClosing: rest === '/' };
}

/** Feeds text as it arrives; returns the stream events completed by it. */
export class XmlStreamParser {
	private buffer = '';
	private stack: XmlElement[] = [];
	/** Bytes taken into the stanza being built. */
	private stanzaBytes = 0;
	private streamOpen = false;

	/** How far the buffer was searched already (for `<` in text, or the tag's `>`), so a slow sender costs linear work. */
	private scanned = 0;
	private quote: string | null = null;

	feed(chunk: string): StreamEvent[] {
		this.buffer += chunk;
		const events: StreamEvent[] = [];
		let at = 0;
		while (at < this.buffer.length) {
			if (this.buffer[at] !== '<') {
				const lt = this.buffer.indexOf('<', Math.max(at, this.scanned));
				if (lt < 0) {
					// The text may end inside an entity: kept until its tag arrives.
					this.scanned = this.buffer.length;
					if (this.stack.length > 0) this.count(0, this.buffer.length - at);
					break;
				}
				const content = this.buffer.slice(at, lt);
				// Only text inside a stanza counts; whitespace keepalives between stanzas do not.
				if (this.stack.length > 0) {
					this.count(content.length);
					this.stack[this.stack.length - 1].children.push(decodeXml(content));
				}
				at = lt;
				this.scanned = lt;
			}
			const end = this.tagEnd(at);
			if (end < 0) {
				this.count(0, this.buffer.length - at);
				break;
			}
			const tag = this.buffer.slice(at + 1, end);
			this.count(end + 1 - at);
			at = end + 1;
			this.scanned = at;
			this.quote = null;
			this.handleTag(tag, events);
		}
		this.buffer = this.buffer.slice(at);
		this.scanned = Math.max(0, this.scanned - at);
		return events;
	}

	/** The index of the `>` closing the tag at `from`, outside quotes; -1 when it has not arrived. */
	private tagEnd(from: number): number {
		for (let i = Math.max(from + 1, this.scanned); i < this.buffer.length; i++) {
			const char = this.buffer[i];
			if (this.quote) {
				if (char === this.quote) this.quote = null;
			} else if (char === '"' || char === "'") this.quote = char;
			else if (char === '>') return i;
		}
		this.scanned = this.buffer.length;
		return -1;
	}

	private count(bytes: number, pending = 0): void {
		this.stanzaBytes += bytes;
		if (this.stanzaBytes + pending > MAX_STANZA_BYTES) throw new XmlStreamError(`a stanza larger than ${MAX_STANZA_BYTES} bytes`);
	}

	private handleTag(tag: string, events: StreamEvent[]): void {
		if (tag.startsWith('?')) {
			if (this.streamOpen) throw new XmlStreamError('a processing instruction inside the stream');
			return;
		}
		if (tag.startsWith('!')) throw new XmlStreamError('a comment, DTD or CDATA section (XMPP forbids them)');
		if (tag.startsWith('/')) {
			const name = tag.slice(1).trim();
			if (this.stack.length === 0) {
				if (localName(name) !== 'stream') throw new XmlStreamError(`an unexpected </${name}>`);
				events.push({ kind: 'close' });
				return;
			}
			const element = this.stack.pop()!;
			if (element.name !== name) throw new XmlStreamError(`</${name}> closes <${element.name}>`);
			if (this.stack.length === 0) this.emit(element, events);
			return;
		}
		const { name, attrs, selfClosing } = parseTag(tag);
		if (!this.streamOpen) {
			if (localName(name) !== 'stream') throw new XmlStreamError(`the stream starts with <${name}>, not <stream:stream>`);
			this.streamOpen = true;
			this.stanzaBytes = 0;
			events.push({ kind: 'open', attrs });
			return;
		}
		if (this.stack.length === 0 && localName(name) === 'stream') {
			// A restarted stream (after STARTTLS or SASL) opens again.
			this.stanzaBytes = 0;
			events.push({ kind: 'open', attrs });
			return;
		}
		const element: XmlElement = { name, attrs, children: [] };
		if (this.stack.length > 0) this.stack[this.stack.length - 1].children.push(element);
		if (selfClosing) {
			if (this.stack.length === 0) this.emit(element, events);
			return;
		}
		if (this.stack.length >= MAX_DEPTH) throw new XmlStreamError(`elements nested deeper than ${MAX_DEPTH}`);
		this.stack.push(element);
	}

	private emit(element: XmlElement, events: StreamEvent[]): void {
		this.stanzaBytes = 0;
		events.push({ kind: 'stanza', element });
	}

	/** After STARTTLS or SASL success the stream starts anew (RFC 6120 §5.4.3.3, §6.4.6). */
	reset(): void {
		this.buffer = '';
		this.stack = [];
		this.stanzaBytes = 0;
		this.streamOpen = false;
		this.scanned = 0;
		this.quote = null;
	}
}
