/**
 * Voice notes and images in a real n8n with the package installed the community way: a Telegram
 * Trigger (webhook) and a Discord Trigger (gateway) → AI Session (Transcribe Voice Notes on, the
 * platforms' credentials set for downloads) → Reply. The platforms, the transcription API and the
 * model are emulators on loopback; the voice note is a real Ogg Opus file and the photo a real PNG.
 */
import { DiscordEmulator } from '../emulators/discord';
import { OpenAiEmulator } from '../emulators/openai';
import { TelegramEmulator } from '../emulators/telegram';
import { oggOpusVoiceNote, png } from '../fixtures/media';
import type { N8nInstance } from './harness';
import { liveRepliesWorkflow, startLiveRepliesN8n } from './live-replies.workflow';

const fixture = liveRepliesWorkflow({
	prefix: 'Med',
	label: 'Media',
	name: 'Clawgate: voice notes and images',
	webhookId: '7d1e5c2a-3b4f-4a6e-9c8d-1e2f3a4b5c6d',
	aiSessionParameters: { model: 'gpt-4o', store: 'sqlite', showTyping: false, media: { transcribeVoiceNotes: true, maxVoiceSeconds: 120 } },
});

function textOf(content: unknown): string {
	return Array.isArray(content) ? content.map((part: { text?: string }) => part.text ?? '').join('') : String(content);
}

describe('voice notes and images in a real n8n (Telegram voice note, Discord photo)', () => {
	const telegram = new TelegramEmulator();
	const discord = new DiscordEmulator();
	const model = new OpenAiEmulator({
		responder: (request) => `answer to: ${textOf(request.messages.at(-1)?.content)}`,
		transcriber: (audio) => (audio.fileName.endsWith('.ogg') ? 'What time do you open tomorrow?' : 'wrong file name'),
	});
	const voice = oggOpusVoiceNote(3);
	let n8n: N8nInstance;

	beforeAll(async () => {
		await Promise.all([telegram.start(), discord.start(), model.start()]);
		n8n = await startLiveRepliesN8n(fixture, { telegram, discord, model });
		// Building, installing and starting n8n takes minutes on a machine other test runs share.
	}, 900_000);

	afterAll(async () => {
		await n8n?.stop();
		await Promise.all([telegram.stop(), discord.stop(), model.stop()]);
	});

	/** Ada's voice note (`duration` as Telegram reports it), delivered to the webhook; resolves with the answer sent to her chat and the file's id. */
	async function voiceNoteAnswered(chatId: number, duration: number) {
		const fileId = telegram.addFile(voice, { mimeType: 'audio/ogg', path: `voice/file_${chatId}.oga` });
		const update = telegram.messageUpdate(
			{ voice: { file_id: fileId, file_unique_id: `AgAD${chatId}`, duration, mime_type: 'audio/ogg', file_size: voice.length } },
			{ chatId, from: { id: chatId, is_bot: false, first_name: 'Ada' } },
		);
		expect((await telegram.deliver(update)).status).toBe(200);
		const answer = await telegram.waitForCall('sendMessage', (body) => String(body.chat_id) === String(chatId), 60_000);
		return { text: answer.body.text, fileId };
	}

	test('Telegram: an OGG/Opus voice note is downloaded, transcribed and answered', async () => {
		const { text } = await voiceNoteAnswered(6001, 3);
		expect(text).toBe('answer to: (voice note) What time do you open tomorrow?');
		const [heard] = model.transcriptions();
		expect(heard).toMatchObject({ fileName: 'file_6001.ogg', model: 'whisper-1' });
		expect(Buffer.compare(heard.bytes, voice)).toBe(0);
		expect(textOf(model.bodies().at(-1)!.messages.at(-1)!.content)).toBe('(voice note) What time do you open tomorrow?');
	}, 120_000);

	test('Telegram: a voice note over the length limit is answered with the limit, and nothing is transcribed', async () => {
		const transcribed = model.transcriptions().length;
		const { text, fileId } = await voiceNoteAnswered(6002, 600);
		expect(text).toBe('Your voice note is 10:00 long; I can listen to voice notes of up to 2:00. Please send a shorter one, or type your message.');
		expect(model.transcriptions()).toHaveLength(transcribed);
		expect(telegram.fileDownloads(fileId)).toHaveLength(0);
	}, 120_000);

	test('Discord: a photo reaches the model as an image part, and the answer comes back', async () => {
		const image = png(1024, 768);
		const message = discord.sendDm({ content: 'What does this sign say?', attachments: [{ filename: 'sign.png', content_type: 'image/png', bytes: image }] });
		const channelId = String(message.channel_id);
		const answer = await discord.waitForCall('POST', new RegExp(`/channels/${channelId}/messages$`), 60_000);

		expect(answer.body.content).toBe('answer to: What does this sign say?\n[image: sign.png, 1024×768]');
		const [seen] = model.images();
		expect(seen).toMatchObject({ model: 'gpt-4o', mimeType: 'image/png', detail: 'auto' });
		expect(Buffer.compare(seen.bytes!, image)).toBe(0);
		// The CDN was asked without the bot token.
		expect(discord.attachmentDownloads().map((request) => request.headers.authorization)).toEqual([undefined]);
	}, 120_000);

	test('no token or API key appears in the n8n log', () => {
		for (const secret of [telegram.token, discord.token, model.apiKey]) expect(n8n.log).not.toContain(secret);
	});
});
