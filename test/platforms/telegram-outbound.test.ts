import {
	createTelegramApi,
	editTelegramText,
	sendTelegramMedia,
	sendTelegramText,
	sendTelegramTyping,
	telegramHtmlToText,
} from '../../nodes/Telegram/telegram.adapter';
import { parseFormatted, TelegramEmulator } from '../emulators/telegram';
import { cpuMsOf } from '../core/text-checks';

const telegram = new TelegramEmulator({ username: 'ClawgateBot' });
const api = () => createTelegramApi({ accessToken: telegram.token, baseUrl: telegram.apiRoot });
const calls = (method: string) => telegram.calls(method).map((call) => call.body);

beforeAll(() => telegram.start());
afterAll(() => telegram.stop());

/** What a reader sees of a message the bot sent (the emulator parses it like Telegram). */
function visible(message: { text: string | null; parseMode: string | null }): string {
	const parsed = parseFormatted(message.text ?? '', message.parseMode);
	if ('error' in parsed) throw new Error(`Telegram would reject: ${parsed.error}`);
	return parsed.text;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('sending text', () => {
	test('Markdown from the model arrives as Telegram HTML', async () => {
		await sendTelegramText(api(), '42', 'This is **bold**, `code` and a [link](https://example.com) & <more>');
		expect(calls('sendMessage').at(-1)).toMatchObject({
			parse_mode: 'HTML',
			text: 'This is <b>bold</b>, <code>code</code> and a <a href="https://example.com">link</a> &amp; &lt;more&gt;',
		});
	});

	test('a 10,000-character answer arrives as several messages, each within 4096, in order, with code fences kept whole', async () => {
		const parts = Array.from({ length: 36 }, (_, i) => {
			const words = Array.from({ length: 25 }, (_unused, w) => `word${i}x${w}`).join(' ');
			return `## Part ${i + 1} 🚀\n\n${words}\n\n\`\`\`js\nconst part${i} = ${i};\n${'console.log(part);\n'.repeat(6)}\`\`\``;
		});
		const answer = parts.join('\n\n');
		expect(answer.length).toBeGreaterThanOrEqual(10_000);
		const before = telegram.sent.length;

		const { messageIds } = await sendTelegramText(api(), '42', answer, { replyToMessageId: '9', threadId: '4' });

		const sent = telegram.sent.slice(before);
		expect(sent.length).toBeGreaterThanOrEqual(3);
		expect(messageIds).toEqual(sent.map((message) => String(message.messageId)));
		const texts = sent.map(visible);
		for (const [index, text] of texts.entries()) {
			expect(text.length).toBeLessThanOrEqual(4096);
			expect(text).not.toMatch(LONE_SURROGATE);
			// Every chunk is valid HTML on its own: a code block cut by the split is closed and reopened.
			const html = sent[index].text ?? '';
			expect(html.match(/<pre>/g)?.length ?? 0).toBe(html.match(/<\/pre>/g)?.length ?? 0);
		}
		// No word is cut: every word arrives whole, exactly once.
		const words = texts.flatMap((text) => text.split(/\s+/)).filter((token) => /word|x\d/.test(token));
		expect(words.every((word) => /^word\d+x\d+$/.test(word))).toBe(true);
		expect(words).toHaveLength(36 * 25);
		expect(new Set(words).size).toBe(36 * 25);
		// In order: every part's heading appears, in sequence, once.
		const headings = texts.join('\n').match(/Part \d+/g)!;
		expect(headings).toEqual(parts.map((_, i) => `Part ${i + 1}`));
		// Only the first message quotes the question; all stay in the topic.
		expect(sent.map((message) => message.replyTo)).toEqual([9, ...sent.slice(1).map(() => null)]);
		expect(sent.every((message) => message.threadId === 4)).toBe(true);
	});

	test('when Telegram cannot parse the formatting, the same text is sent again as plain text', async () => {
		const { messageIds } = await sendTelegramText(api(), '42', '<b>bold <i>and</b> broken', { format: 'html' });
		const [rejected, plain] = calls('sendMessage').slice(-2);
		expect(rejected).toMatchObject({ parse_mode: 'HTML', text: '<b>bold <i>and</b> broken' });
		expect(plain).toEqual(expect.objectContaining({ text: 'bold and broken' }));
		expect(plain).not.toHaveProperty('parse_mode');
		expect(messageIds).toHaveLength(1);
	});

	test('a parse error Telegram reports for converted Markdown also falls back to plain text', async () => {
		telegram.failNext('sendMessage', { status: 400, body: { ok: false, error_code: 400, description: "Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 3" } });
		await sendTelegramText(api(), '42', 'Fish **&** chips');
		const [, plain] = calls('sendMessage').slice(-2);
		expect(plain).toEqual(expect.objectContaining({ text: 'Fish & chips' }));
		expect(plain).not.toHaveProperty('parse_mode');
	});

	test('plain text is sent exactly as written', async () => {
		await sendTelegramText(api(), '42', 'a **not bold** <tag> & co', { format: 'plain' });
		const body = calls('sendMessage').at(-1)!;
		expect(body.text).toBe('a **not bold** <tag> & co');
		expect(body).not.toHaveProperty('parse_mode');
	});

	test('on 429 it waits the retry_after Telegram asks for, then sends once', async () => {
		telegram.rateLimitNext('sendMessage', 1);
		const before = calls('sendMessage').length;
		const started = Date.now();
		await sendTelegramText(api(), '42', 'after the wait');
		expect(Date.now() - started).toBeGreaterThanOrEqual(950);
		expect(calls('sendMessage').slice(before).map((body) => body.text)).toEqual(['after the wait', 'after the wait']);
		expect(telegram.sentTexts('42').filter((text) => text === 'after the wait')).toHaveLength(1);
	});

	test('retrying on 429 is bounded: after three retries the error says to slow down', async () => {
		telegram.rateLimitNext('sendMessage', 0, 4);
		const before = calls('sendMessage').length;
		await expect(sendTelegramText(api(), '42', 'flood')).rejects.toThrow(/429: Too Many Requests.*send fewer or shorter messages/);
		expect(calls('sendMessage').length - before).toBe(4);
	});

	test('a retry_after longer than a minute is not waited out', async () => {
		telegram.rateLimitNext('sendMessage', 3600);
		const started = Date.now();
		await expect(sendTelegramText(api(), '42', 'much later')).rejects.toThrow(/retry after 3600/);
		expect(Date.now() - started).toBeLessThan(1000);
	});
});

describe('photos, documents, typing and edits', () => {
	test('a photo from binary data is uploaded (multipart) with its Markdown caption as HTML', async () => {
		const { messageIds } = await sendTelegramMedia(api(), '42', 'photo', { bytes: Buffer.from('fake jpeg'), fileName: 'cat.jpg' }, { caption: 'My **cat**' });
		const sent = telegram.sent.at(-1)!;
		expect(sent).toMatchObject({ method: 'sendPhoto', caption: 'My <b>cat</b>', parseMode: 'HTML', file: { field: 'photo', name: 'cat.jpg' } });
		expect(sent.file?.bytes?.toString()).toBe('fake jpeg');
		expect(messageIds).toEqual([String(sent.messageId)]);
	});

	test('a document by URL or file_id is passed on for Telegram to fetch', async () => {
		await sendTelegramMedia(api(), '-100123', 'document', { reference: 'https://example.com/report.pdf' }, { threadId: '3', replyToMessageId: '8' });
		expect(calls('sendDocument').at(-1)).toMatchObject({ chat_id: '-100123', document: 'https://example.com/report.pdf', message_thread_id: 3, reply_parameters: { message_id: 8 } });
	});

	test('a document upload keeps its file name and bytes', async () => {
		await sendTelegramMedia(api(), '42', 'document', { bytes: Buffer.from('col1,col2\n1,2\n'), fileName: 'data.csv' });
		expect(telegram.sent.at(-1)).toMatchObject({ method: 'sendDocument', caption: null, file: { field: 'document', name: 'data.csv', bytes: Buffer.from('col1,col2\n1,2\n') } });
	});

	test('a caption longer than 1024 characters goes on in a message after the file', async () => {
		const before = telegram.sent.length;
		const caption = Array.from({ length: 300 }, (_, i) => `w${i}`).join(' ');
		const { messageIds } = await sendTelegramMedia(api(), '42', 'photo', { reference: 'AgACfileid' }, { caption });
		const sent = telegram.sent.slice(before);
		expect(sent.map((message) => message.method)).toEqual(['sendPhoto', 'sendMessage']);
		expect(visible({ text: sent[0].caption, parseMode: sent[0].parseMode }).length).toBeLessThanOrEqual(1024);
		expect(`${sent[0].caption} ${sent[1].text}`.split(/\s+/)).toEqual(caption.split(' '));
		expect(messageIds).toHaveLength(2);
	});

	test('"typing" is shown in the chat and topic', async () => {
		await sendTelegramTyping(api(), '-100123', { threadId: '3' });
		expect(calls('sendChatAction').at(-1)).toEqual({ chat_id: '-100123', action: 'typing', message_thread_id: 3 });
	});

	test('a sent message can be edited; editing to the same text is not an error', async () => {
		const { messageIds } = await sendTelegramText(api(), '42', 'Thinking…');
		await editTelegramText(api(), '42', messageIds[0], 'The answer is **42**.');
		const message = telegram.sent.find((sent) => String(sent.messageId) === messageIds[0])!;
		expect(message).toMatchObject({ text: 'The answer is <b>42</b>.', parseMode: 'HTML', editedTexts: ['Thinking…'] });
		await expect(editTelegramText(api(), '42', messageIds[0], 'The answer is **42**.')).resolves.toEqual({ chatId: '42', messageIds });
	});

	test('editing a message that does not exist says so; a missing message ID is explained', async () => {
		await expect(editTelegramText(api(), '42', '999999', 'x')).rejects.toThrow(/message to edit not found/);
		await expect(editTelegramText(api(), '42', '', 'x')).rejects.toThrow(/There is no message to edit/);
	});

	test('Telegram HTML turns back into the text a reader sees', () => {
		expect(telegramHtmlToText('<b>a &amp; b</b> &lt;3 &#128512; &#x41;')).toBe('a & b <3 😀 A');
	});

	test('turning back a text full of "<" without ">" takes linear time (the plain-text fallback of a rejected message)', () => {
		const text = '<'.repeat(100_000);
		let turnedBack = '';
		expect(cpuMsOf(() => (turnedBack = telegramHtmlToText(text)))).toBeLessThan(150);
		expect(turnedBack).toBe(text);
	});
});
