/**
 * Voice notes and images in core: image sizes read from file headers, the providers' image token
 * rules, which models see images, the voice note limits, and what the session engine sends to the
 * model and stores when a message carries them.
 */
import { imageTokens, readImageSize, supportsImagesByName } from '../../nodes/core/image-tokens';
import { SessionEngine, type InboundMessage, type MessageMedia, type SessionEngineConfig } from '../../nodes/core/session/engine';
import { ModelCallError, type ChatCompletion, type ChatModel, type ChatRequest } from '../../nodes/core/session/model';
import { MemorySessionStore } from '../../nodes/core/stores/memory.store';
import { createTokenCounter } from '../../nodes/core/tokens';
import { transcriptionFileName, voiceNoteOverLimits } from '../../nodes/core/transcription';
import { png } from '../fixtures/media';
import { testEngineConfig } from './engine-config';

describe('image sizes from file headers', () => {
	test('PNG, GIF, WebP (lossy, lossless, extended) and JPEG give their pixel size', () => {
		expect(readImageSize(png(64, 48))).toEqual({ format: 'png', width: 64, height: 48 });
		const gif = Buffer.from('474946383961' + '2003' + '5802' + '000000', 'hex');
		expect(readImageSize(gif)).toEqual({ format: 'gif', width: 800, height: 600 });

		const webp = (chunk: string, body: Buffer) => Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBP'), Buffer.from(chunk), Buffer.alloc(4), body]);
		const lossy = Buffer.alloc(10);
		lossy.set([0x9d, 0x01, 0x2a], 3);
		lossy.writeUInt16LE(1024, 6);
		lossy.writeUInt16LE(768, 8);
		expect(readImageSize(webp('VP8 ', lossy))).toEqual({ format: 'webp', width: 1024, height: 768 });
		const lossless = Buffer.alloc(10);
		lossless[0] = 0x2f;
		lossless.writeUInt32LE((300 - 1) | ((200 - 1) << 14), 1);
		expect(readImageSize(webp('VP8L', lossless))).toEqual({ format: 'webp', width: 300, height: 200 });
		const extended = Buffer.alloc(10);
		extended.writeUIntLE(4095, 4, 3);
		extended.writeUIntLE(2047, 7, 3);
		expect(readImageSize(webp('VP8X', extended))).toEqual({ format: 'webp', width: 4096, height: 2048 });

		// SOI, an EXIF segment (APP1), then the frame header SOF0: height 480, width 640.
		const exif = Buffer.concat([Buffer.from([0xff, 0xe1, 0x10, 0x02]), Buffer.alloc(0x1000)]);
		const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8]), exif, Buffer.from([0xff, 0xc0, 0x00, 0x11, 0x08, 0x01, 0xe0, 0x02, 0x80, 0x03]), Buffer.alloc(32)]);
		expect(readImageSize(jpeg)).toEqual({ format: 'jpeg', width: 640, height: 480 });
	});

	test('anything else, or a header cut short, is no image; a JPEG without a frame header is given up within its first megabyte', () => {
		expect(readImageSize(Buffer.from('%PDF-1.7 not an image'))).toBeNull();
		expect(readImageSize(png(10, 10).subarray(0, 20))).toBeNull();
		expect(readImageSize(Buffer.alloc(0))).toBeNull();
		// 64 KB comment segments, then a frame header (640 × 480): found within the first megabyte,
		// not looked for beyond it, however long the file (so the cost does not grow with the file).
		const segment = Buffer.concat([Buffer.from([0xff, 0xfe, 0xff, 0xff]), Buffer.alloc(0xfffd)]);
		const frame = Buffer.from([0xff, 0xc0, 0x00, 0x11, 0x08, 0x01, 0xe0, 0x02, 0x80, 0x03, ...Buffer.alloc(32)]);
		const jpegAfter = (segments: number) => Buffer.concat([Buffer.from([0xff, 0xd8]), ...Array(segments).fill(segment), frame]);
		expect(readImageSize(jpegAfter(15))).toEqual({ format: 'jpeg', width: 640, height: 480 });
		expect(readImageSize(jpegAfter(16))).toBeNull();
		expect(readImageSize(jpegAfter(800))).toBeNull();
	});
});

describe("the providers' image token rules", () => {
	test("OpenAI's tiles: 85 at low detail, 85 + 170 per 512-px tile after fitting 2048 and a 768-px shortest side (the documented examples)", () => {
		expect(imageTokens('gpt-4o', { width: 1024, height: 1024 }, 'high')).toBe(765);
		expect(imageTokens('gpt-4o', { width: 2048, height: 4096 }, 'high')).toBe(1105);
		expect(imageTokens('gpt-4o', { width: 4096, height: 8192 }, 'low')).toBe(85);
		// auto is budgeted as high: the most the image can cost.
		expect(imageTokens('openai/gpt-4.1', { width: 1024, height: 1024 }, 'auto')).toBe(765);
		expect(imageTokens('gpt-4o-mini', { width: 1024, height: 1024 }, 'high')).toBe(2833 + 5667 * 4);
		// An unknown model is budgeted with GPT-4o's tiles.
		expect(imageTokens('llava:13b', { width: 512, height: 512 })).toBe(255);
	});

	test("OpenAI's patches (GPT-4.1 mini): 32-px patches times the multiplier, shrunk to at most 1,536 (the documented 1800 × 2400 example)", () => {
		expect(imageTokens('gpt-4.1-mini', { width: 1024, height: 1024 })).toBe(Math.ceil(1024 * 1.62));
		expect(imageTokens('gpt-4.1-mini', { width: 1800, height: 2400 })).toBe(Math.ceil(1452 * 1.62));
	});

	test("Anthropic's width × height / 750 after fitting 1,568 px, and Gemini's 258 per 768-px tile", () => {
		expect(imageTokens('claude-sonnet-4-5', { width: 1092, height: 1092 })).toBe(1590);
		expect(imageTokens('claude-3-5-sonnet', { width: 3136, height: 3136 })).toBe(Math.ceil((1568 * 1568) / 750));
		expect(imageTokens('models/gemini-2.5-flash', { width: 384, height: 384 })).toBe(258);
		expect(imageTokens('models/gemini-2.5-flash', { width: 1024, height: 1024 })).toBe(258 * 4);
	});

	test('vision-capable models are told apart by name', () => {
		const seeing = ['gpt-4o-mini', 'openai/gpt-4.1', 'gpt-5', 'o3', 'o4-mini', 'claude-3-5-sonnet-20241022', 'claude-sonnet-4-5', 'us.anthropic.claude-3-7-sonnet-20250219-v1:0', 'models/gemini-2.5-flash', 'llava:13b', 'llama3.2-vision', 'qwen2.5vl:7b', 'pixtral-12b', 'gemma3:12b', 'meta-llama/llama-4-scout'];
		const blind = ['gpt-3.5-turbo', 'gpt-4', 'o3-mini', 'o1-mini', 'llama3.1', 'mistral-large-latest', 'claude-2.1', 'gemini-pro', 'deepseek-chat', 'gpt-oss-20b', 'gemma3:1b'];
		expect(seeing.filter((model) => !supportsImagesByName(model))).toEqual([]);
		expect(blind.filter(supportsImagesByName)).toEqual([]);
	});
});

describe('voice note limits and file names', () => {
	test('too long or too large is said in words the sender understands; unknown length and size pass', () => {
		const limits = { maxBytes: 10 * 1024 * 1024, maxSeconds: 120 };
		expect(voiceNoteOverLimits({ size: 1000, durationSeconds: 185 }, limits)).toBe(
			'Your voice note is 3:05 long; I can listen to voice notes of up to 2:00. Please send a shorter one, or type your message.',
		);
		expect(voiceNoteOverLimits({ size: 12 * 1024 * 1024, durationSeconds: 60 }, limits)).toBe(
			'Your voice note is too large for me (12 MB; the limit is 10 MB). Please send a shorter one, or type your message.',
		);
		expect(voiceNoteOverLimits({ size: null, durationSeconds: null }, limits)).toBeNull();
		expect(voiceNoteOverLimits({ size: 23_000, durationSeconds: 5 }, limits)).toBeNull();
	});

	test("Telegram's .oga voice notes are uploaded as .ogg, the extension transcription APIs list", () => {
		expect(transcriptionFileName('voice/file_12.oga', 'audio/ogg')).toBe('voice/file_12.ogg');
		expect(transcriptionFileName(null, 'audio/ogg; codecs=opus')).toBe('voice-note.ogg');
		expect(transcriptionFileName('memo.m4a', 'audio/mp4')).toBe('memo.m4a');
		expect(transcriptionFileName('voice-message', 'audio/mpeg')).toBe('voice-note.mp3');
	});
});

class RecordingModel implements ChatModel {
	requests: ChatRequest[] = [];
	async complete(request: ChatRequest): Promise<ChatCompletion> {
		this.requests.push(request);
		return { text: `answer ${this.requests.length}`, model: request.model, finishReason: 'stop', usage: { promptTokens: 900, completionTokens: 5, totalTokens: 905 } };
	}
}

const config: SessionEngineConfig = { ...testEngineConfig, models: ['gpt-4o'], systemPrompt: 'Be brief.' };

let id = 0;
function message(text: string, media?: () => Promise<MessageMedia>): InboundMessage {
	id += 1;
	return { sessionId: 'discord:1:dm:9', text, messageKey: `discord:1:9:${id}`, senderKey: 'discord:1:9', command: null, ...(media ? { media } : {}) };
}

const PHOTO = { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'auto' as const, tokens: 765 };

describe('the session engine with voice notes and images', () => {
	test('an image reaches the model with its message only; the stored turn is its note in words, counted as text', async () => {
		const store = new MemorySessionStore();
		const model = new RecordingModel();
		const engine = new SessionEngine(store, model, config);
		await engine.handle(message('', async () => ({ text: 'what is this?\n[image: cat.png, 640×480]', images: [PHOTO] })));
		await engine.handle(message('and its colour?'));

		expect(model.requests[0].messages.at(-1)).toEqual({ role: 'user', content: 'what is this?\n[image: cat.png, 640×480]', images: [{ url: PHOTO.url, detail: 'auto' }] });
		expect(model.requests[1].messages.slice(1)).toEqual([
			{ role: 'user', content: 'what is this?\n[image: cat.png, 640×480]' },
			{ role: 'assistant', content: 'answer 1' },
			{ role: 'user', content: 'and its colour?' },
		]);
		const { turns } = await store.readWindow('discord:1:dm:9', 10_000);
		expect(turns[0]).toMatchObject({ content: 'what is this?\n[image: cat.png, 640×480]', tokens: createTokenCounter('gpt-4o').countMessage({ role: 'user', content: 'what is this?\n[image: cat.png, 640×480]' }) });
		expect(JSON.stringify(turns)).not.toContain('base64');
	});

	test("an image takes its tokens from the history's share of the window, and one that does not fit goes as its note alone", async () => {
		const model = new RecordingModel();
		// 2,000 tokens of window: 1,680 after the answer and margin, less the system prompt.
		const engine = new SessionEngine(new MemorySessionStore(), model, { ...config, contextWindow: 2_000 });
		for (let turn = 0; turn < 8; turn++) await engine.handle(message(`fact number ${turn}: ${'tea '.repeat(200)}`));
		const withoutImage = model.requests.at(-1)!.messages.length;
		await engine.handle(message('', async () => ({ text: '[image: a.png, 1024×1024]', images: [PHOTO] })));
		const withImage = model.requests.at(-1)!.messages;
		expect(withImage.at(-1)!.images).toHaveLength(1);
		expect(withImage.length).toBeLessThan(withoutImage);

		await engine.handle(message('', async () => ({ text: '[image: huge.png, 8000×8000]', images: [{ ...PHOTO, tokens: 5_000 }] })));
		expect(model.requests.at(-1)!.messages.at(-1)).toEqual({ role: 'user', content: '[image: huge.png, 8000×8000]' });
	});

	test('a voice note over the limits is answered with the refusal, without the model, and its redelivery is a duplicate', async () => {
		const model = new RecordingModel();
		const engine = new SessionEngine(new MemorySessionStore(), model, config);
		const media = jest.fn(async () => ({ text: '', images: [], refusal: 'Your voice note is 3:05 long.' }));
		const voice = message('', media);
		const outcome = await engine.handle(voice);
		expect(outcome).toMatchObject({ kind: 'reply', reply: { text: 'Your voice note is 3:05 long.', limited: 'media', model: null } });
		expect(await engine.handle(voice)).toEqual({ kind: 'ignored', reason: 'duplicate' });
		expect(media).toHaveBeenCalledTimes(1);
		expect(model.requests).toEqual([]);
	});

	test('attachments are not read for a command or a message over a rate limit', async () => {
		const engine = new SessionEngine(new MemorySessionStore(), new RecordingModel(), { ...config, limits: { ...config.limits, messagesPerMinute: 1 } });
		const media = jest.fn(async () => ({ text: '(voice note) hi', images: [] }));
		await engine.handle({ ...message('/help', media), command: 'help' });
		await engine.handle(message('first'));
		expect(await engine.handle(message('', media))).toMatchObject({ reply: { limited: 'rate' } });
		expect(media).not.toHaveBeenCalled();
	});

	test('a failed transcription gets the Error Reply when one is set, and fails the item when not', async () => {
		const failing = async (): Promise<MessageMedia> => {
			throw new ModelCallError('The transcription API at api.openai.com rejected the API key (401).', 'auth');
		};
		const withReply = new SessionEngine(new MemorySessionStore(), new RecordingModel(), { ...config, errorReply: 'Sorry, try again.' });
		expect(await withReply.handle(message('', failing))).toMatchObject({ reply: { text: 'Sorry, try again.', error: expect.stringContaining('401') } });
		const without = new SessionEngine(new MemorySessionStore(), new RecordingModel(), config);
		await expect(without.handle(message('', failing))).rejects.toThrow('rejected the API key (401)');
	});
});
