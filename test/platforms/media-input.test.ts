/**
 * Voice notes and images on the wire: the Telegram and Discord plugins download attachments from
 * their emulators (byte for byte, within limits, never showing a token), the transcription call
 * speaks OpenAI's multipart `/audio/transcriptions`, and the OpenAI model sends images as
 * `image_url` parts.
 */
import { discordPlugin } from '../../nodes/Discord/discord.plugin';
import { OpenAiChatModel } from '../../nodes/core/session/openai.model';
import { telegramPlugin } from '../../nodes/Telegram/telegram.plugin';
import type { EnvelopeAttachment } from '../../nodes/core/envelope';
import { isFileTooLarge } from '../../nodes/core/file-download';
import { ModelCallError } from '../../nodes/core/session/model';
import { transcribeAudio } from '../../nodes/core/transcription';
import { describeWithoutSecrets } from '../../nodes/shared/live-replies';
import { DiscordEmulator } from '../emulators/discord';
import { OpenAiEmulator } from '../emulators/openai';
import { TelegramEmulator } from '../emulators/telegram';
import { oggOpusVoiceNote, png } from '../fixtures/media';

const telegram = new TelegramEmulator();
const discord = new DiscordEmulator();
const openai = new OpenAiEmulator({ transcriber: (audio) => `heard ${audio.bytes.length} bytes of ${audio.fileName}` });

beforeAll(() => Promise.all([telegram.start(), discord.start(), openai.start()]));
afterAll(() => Promise.all([telegram.stop(), discord.stop(), openai.stop()]));

const limits = { maxBytes: 1024 * 1024, timeoutMs: 5_000 };
const voice = oggOpusVoiceNote(2);

async function telegramDownload(attachment: EnvelopeAttachment, overrides: Partial<typeof limits> = {}) {
	const credential = { accessToken: telegram.token, baseUrl: telegram.apiRoot };
	const connection = { credential, client: await telegramPlugin.createClient(credential) };
	return { credential, result: telegramPlugin.downloadAttachment!(connection, attachment, { ...limits, ...overrides }) };
}

describe('Telegram: downloadAttachment (getFile, then the file URL that holds the token)', () => {
	test('a voice note arrives byte for byte', async () => {
		const fileId = telegram.addFile(voice, { mimeType: 'audio/ogg', path: 'voice/file_7.oga' });
		const { result } = await telegramDownload({ kind: 'voice', id: fileId, mimeType: 'audio/ogg', name: null, size: voice.length, durationSeconds: 2 });
		const file = await result;
		expect(Buffer.compare(file.bytes, voice)).toBe(0);
		expect(file).toMatchObject({ fileName: 'file_7.oga', mimeType: 'audio/ogg' });
	});

	test('over the limit is a "too large" error, before any byte when the size is known', async () => {
		const fileId = telegram.addFile(voice, { mimeType: 'audio/ogg', path: 'voice/big.oga' });
		const { result } = await telegramDownload({ kind: 'voice', id: fileId, mimeType: 'audio/ogg', name: null, size: 30 * 1024 * 1024 });
		const error = await result.catch((failure: unknown) => failure);
		expect(isFileTooLarge(error)).toBe(true);
		expect(telegram.fileDownloads(fileId)).toHaveLength(0);
	});

	test('a slow file server is stopped at the time limit, and the error (as AI Session logs it) holds no token', async () => {
		const fileId = telegram.addFile(voice, { mimeType: 'audio/ogg', path: 'voice/slow.oga', serving: { delayMs: 2_000 } });
		const { result, credential } = await telegramDownload({ kind: 'voice', id: fileId, mimeType: 'audio/ogg', name: null, size: null }, { timeoutMs: 300 });
		const error = await result.catch((failure: unknown) => failure);
		const described = describeWithoutSecrets(telegramPlugin, error, credential, 'download a file');
		expect(described).toBe('The download took longer than 0.3 s and was stopped.');
		expect(`${(error as Error).message} ${(error as Error).stack}`).not.toContain(telegram.token);
	});
});

describe("Discord: downloadAttachment (the attachment's signed CDN address)", () => {
	const credential = () => ({ botToken: discord.token, baseUrl: discord.apiBase });
	const download = async (attachment: EnvelopeAttachment, maxBytes = limits.maxBytes) =>
		discordPlugin.downloadAttachment!({ credential: credential(), client: await discordPlugin.createClient(credential()) }, attachment, { ...limits, maxBytes });

	test('an image arrives byte for byte, without the bot token going to the file server', async () => {
		const image = png(320, 240);
		const sent = discord.sendDm({ content: 'look', attachments: [{ filename: 'cat.png', content_type: 'image/png', bytes: image }] });
		const [attachment] = sent.attachments as Array<{ id: string; url: string; size: number }>;
		const file = await download({ kind: 'image', id: attachment.id, mimeType: 'image/png', name: 'cat.png', size: attachment.size, url: attachment.url });
		expect(Buffer.compare(file.bytes, image)).toBe(0);
		expect(file).toMatchObject({ fileName: 'cat.png', mimeType: 'image/png' });
		const [request] = discord.attachmentDownloads().slice(-1);
		expect(request.headers.authorization).toBeUndefined();
	});

	test('an address that is not on Discord\'s CDN (or the credential\'s server) is refused without a request', async () => {
		const before = discord.attachmentDownloads().length;
		const refused = download({ kind: 'image', id: '1', mimeType: 'image/png', name: 'x.png', size: 10, url: 'http://169.254.169.254/latest/meta-data' });
		await expect(refused).rejects.toThrow("The attachment has no address on Discord's CDN to download it from.");
		expect(discord.attachmentDownloads()).toHaveLength(before);
	});

	test('an image over the limit is refused by its announced size, and by its bytes when the size lies', async () => {
		const image = png(640, 480);
		const sent = discord.sendDm({ content: '', attachments: [{ filename: 'big.png', content_type: 'image/png', bytes: image, size: 10 }] });
		const [attachment] = sent.attachments as Array<{ id: string; url: string }>;
		const announced = await download({ kind: 'image', id: attachment.id, mimeType: 'image/png', name: 'big.png', size: 5_000_000, url: attachment.url }).catch((error: unknown) => error);
		expect(isFileTooLarge(announced)).toBe(true);
		const counted = await download({ kind: 'image', id: attachment.id, mimeType: 'image/png', name: 'big.png', size: 10, url: attachment.url }, 100).catch((error: unknown) => error);
		expect(isFileTooLarge(counted)).toBe(true);
	});
});

describe('transcription: POST /audio/transcriptions as OpenAI takes it', () => {
	const request = (extra: Partial<Parameters<typeof transcribeAudio>[0]> = {}) =>
		transcribeAudio({ baseUrl: openai.baseUrl, apiKey: openai.apiKey, model: 'whisper-1', audio: { bytes: voice, fileName: 'file_7.oga', mimeType: 'audio/ogg' }, timeoutMs: 5_000, ...extra });

	test("a Telegram voice note (.oga) is uploaded as multipart .ogg with its model and language, and the transcript comes back", async () => {
		expect(await request({ language: 'en' })).toBe(`heard ${voice.length} bytes of file_7.ogg`);
		expect(openai.transcriptions().at(-1)).toMatchObject({ fileName: 'file_7.ogg', mimeType: 'audio/ogg', model: 'whisper-1', language: 'en' });
		expect(Buffer.compare(openai.transcriptions().at(-1)!.bytes, voice)).toBe(0);
	});

	test('a refused key, an unknown model and a rate limit are model errors in words, without the key', async () => {
		const refused = await request({ apiKey: 'sk-wrong-key-123456789' }).catch((error: unknown) => error);
		expect(refused).toBeInstanceOf(ModelCallError);
		expect(refused).toMatchObject({ kind: 'auth', message: expect.stringContaining('rejected the API key (401)') });
		expect((refused as Error).message).not.toContain('sk-wrong-key-123456789');
		await expect(request({ model: 'whisper-9' })).rejects.toMatchObject({ kind: 'not_found' });
		openai.fail({ status: 429, retryAfterSeconds: 3, model: 'whisper-1' });
		await expect(request()).rejects.toMatchObject({ kind: 'rate_limit', options: { retryAfterMs: 3_000 } });
	});
});

describe('the OpenAI model sends images as image_url parts', () => {
	test('the user message becomes a text part and one image part per image, which reach the API as sent', async () => {
		const image = png(64, 64);
		const model = new OpenAiChatModel({ apiKey: openai.apiKey, baseUrl: openai.baseUrl, timeoutMs: 5_000 });
		const url = `data:image/png;base64,${image.toString('base64')}`;
		const answer = await model.complete({
			model: 'gpt-4o',
			maxOutputTokens: 100,
			messages: [
				{ role: 'system', content: 'Be brief.' },
				{ role: 'user', content: 'what is this?\n[image: a.png, 64×64]', images: [{ url, detail: 'low' }] },
			],
		});
		expect(answer.text).toBe('echo:what is this?\n[image: a.png, 64×64]');
		const [received] = openai.images().slice(-1);
		expect(received).toMatchObject({ model: 'gpt-4o', detail: 'low', mimeType: 'image/png' });
		expect(Buffer.compare(received.bytes!, image)).toBe(0);
		expect(openai.bodies().at(-1)!.messages[1].content).toEqual([
			{ type: 'text', text: 'what is this?\n[image: a.png, 64×64]' },
			{ type: 'image_url', image_url: { url, detail: 'low' } },
		]);
	});
});
