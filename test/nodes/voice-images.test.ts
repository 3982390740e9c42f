/**
 * AI Session's "Voice Notes & Images" in n8n's own engine: envelopes as the Telegram and Discord
 * triggers sign them, files served by their emulators, transcription and the model played by the
 * OpenAI emulator. Asserted: what reached the transcription API and the model, what the user is
 * answered, and what the conversation keeps.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IDataObject, INode } from 'n8n-workflow';

import { closeSessionStores } from '../../nodes/shared/session-stores';
import { DiscordEmulator } from '../emulators/discord';
import { OpenAiEmulator } from '../emulators/openai';
import { makeBotToken, TelegramEmulator } from '../emulators/telegram';
import { oggOpusVoiceNote, png } from '../fixtures/media';
import { aiSessionTestNode, fromTrigger, INPUT_NODE_NAME, runWorkflow, telegramDmEnvelope } from './harness';

// telegramDmEnvelope's messages reach bot 777.
const telegram = new TelegramEmulator({ token: makeBotToken(777) });
const discord = new DiscordEmulator();
const model = new OpenAiEmulator({
	models: ['gpt-4o', 'gpt-4o-mini', 'gpt-3.5-turbo'],
	// Answers with the text it was given (image parts are recorded, not repeated).
	responder: (request) => `answer to: ${textOf(request.messages.at(-1)?.content)}`,
	transcriber: () => 'Please book a table for two at eight.',
});
function textOf(content: unknown): string {
	return Array.isArray(content) ? content.map((part: { text?: string }) => part.text ?? '').join('') : String(content);
}

const folder = mkdtempSync(join(tmpdir(), 'clawgate-media-'));
const voice = oggOpusVoiceNote(3);
let chat = 3000;

beforeAll(() => Promise.all([telegram.start(), discord.start(), model.start()]));
afterAll(async () => {
	await closeSessionStores();
	await Promise.all([telegram.stop(), discord.stop(), model.stop()]);
	rmSync(folder, { recursive: true, force: true });
});

function aiSessionNode(parameters: IDataObject = {}, channelCredentials: IDataObject = { clawgateTelegramApi: { id: '2', name: 'Bot' }, clawgateDiscordApi: { id: '3', name: 'Discord' } }): INode {
	return aiSessionTestNode(join(folder, 'sessions.sqlite'), { model: 'gpt-4o', showTyping: false, ...parameters, options: { retries: 0 } }, {
		openAiApi: { id: '1', name: 'OpenAI' },
		...channelCredentials,
	} as INode['credentials']);
}

async function answer(input: IDataObject[], node = aiSessionNode()) {
	return runWorkflow({
		nodes: [node],
		connections: { [INPUT_NODE_NAME]: { main: [[{ node: node.name, type: 'main', index: 0 }]] } },
		credentials: {
			openAiApi: { apiKey: model.apiKey, url: model.baseUrl },
			clawgateTelegramApi: { accessToken: telegram.token, baseUrl: telegram.apiRoot },
			clawgateDiscordApi: { botToken: discord.token, baseUrl: discord.apiBase },
		},
		input,
	});
}

/** A Telegram voice note as the trigger emits it: no text, one voice attachment served by the emulator. */
function telegramVoiceNote(durationSeconds = 3, chatId = String(chat++)): IDataObject {
	const fileId = telegram.addFile(voice, { mimeType: 'audio/ogg', path: `voice/file_${chatId}.oga` });
	const envelope = telegramDmEnvelope(chatId, '') as IDataObject & { message: IDataObject };
	return fromTrigger({ ...envelope, message: { ...envelope.message, attachments: [{ kind: 'voice', id: fileId, mimeType: 'audio/ogg', name: null, size: voice.length, durationSeconds }] } });
}

/** A Discord DM with a photo as the trigger emits it, the file on the emulator's CDN stand-in. */
function discordPhoto(text: string, image: Buffer): IDataObject {
	const sent = discord.sendDm({ content: text, attachments: [{ filename: 'menu.png', content_type: 'image/png', bytes: image }] });
	const [attachment] = sent.attachments as Array<{ id: string; url: string; size: number }>;
	const botId = discord.bot.id;
	const channelId = String(sent.channel_id);
	return fromTrigger({
		sessionId: `discord:${botId}:dm:${channelId}`,
		channel: 'discord',
		via: 'discord',
		accountId: botId,
		chat: { id: channelId, type: 'dm', threadId: null, title: null },
		sender: { id: discord.users.ada.id, name: 'Ada', username: 'ada', isBot: false },
		message: {
			id: String(sent.id),
			text,
			replyToId: null,
			mentionsBot: false,
			command: null,
			attachments: [{ kind: 'image', id: attachment.id, mimeType: 'image/png', name: 'menu.png', size: attachment.size, url: attachment.url }],
			timestamp: new Date().toISOString(),
		},
		raw: {},
	});
}

test('a Telegram voice note is transcribed, answered, and kept as "(voice note) …" in the conversation', async () => {
	const { error, outputOf } = await answer([telegramVoiceNote()], aiSessionNode({ media: { transcribeVoiceNotes: true } }));
	expect(error).toBeUndefined();
	const [heard] = model.transcriptions().slice(-1);
	expect(heard).toMatchObject({ fileName: expect.stringMatching(/\.ogg$/), model: 'whisper-1' });
	expect(Buffer.compare(heard.bytes, voice)).toBe(0);
	expect(model.bodies().at(-1)!.messages.at(-1)).toEqual({ role: 'user', content: '(voice note) Please book a table for two at eight.' });
	expect(outputOf('AI Session', 0)[0].json.reply).toMatchObject({ text: 'answer to: (voice note) Please book a table for two at eight.' });
});

test('a voice note longer than the limit is answered with the limit: nothing downloaded, transcribed or asked of the model', async () => {
	const transcribed = model.transcriptions().length;
	const asked = model.bodies().length;
	const item = telegramVoiceNote(400);
	const { error, outputOf } = await answer([item], aiSessionNode({ media: { transcribeVoiceNotes: true, maxVoiceSeconds: 120 } }));
	expect(error).toBeUndefined();
	expect(outputOf('AI Session', 0)[0].json.reply).toMatchObject({
		text: 'Your voice note is 6:40 long; I can listen to voice notes of up to 2:00. Please send a shorter one, or type your message.',
		limited: 'media',
		model: null,
	});
	expect(model.transcriptions()).toHaveLength(transcribed);
	expect(model.bodies()).toHaveLength(asked);
	const fileId = ((item.message as IDataObject).attachments as IDataObject[])[0].id as string;
	expect(telegram.fileDownloads(fileId)).toHaveLength(0);
});

test('a voice note of unknown size is downloaded only up to the size limit, then answered with the limit', async () => {
	const long = oggOpusVoiceNote(120);
	const chatId = String(chat++);
	const fileId = telegram.addFile(long, { mimeType: 'audio/ogg', path: `voice/file_${chatId}.oga`, serving: { announcedSize: null } });
	const envelope = telegramDmEnvelope(chatId, '') as IDataObject & { message: IDataObject };
	const item = fromTrigger({ ...envelope, message: { ...envelope.message, attachments: [{ kind: 'voice', id: fileId, mimeType: 'audio/ogg', name: null, size: null }] } });
	const transcribed = model.transcriptions().length;
	const { error, outputOf } = await answer([item], aiSessionNode({ media: { transcribeVoiceNotes: true, maxVoiceMegabytes: 0.01 } }));
	expect(error).toBeUndefined();
	expect(outputOf('AI Session', 0)[0].json.reply).toMatchObject({
		text: 'Your voice note is too large for me (more than 0.01 MB; the limit is 0.01 MB). Please send a shorter one, or type your message.',
		limited: 'media',
	});
	expect(model.transcriptions()).toHaveLength(transcribed);
});

test('without Transcribe Voice Notes a voice note without text is ignored as before', async () => {
	const { outputOf } = await answer([telegramVoiceNote()]);
	expect(outputOf('AI Session', 1)[0].json.ignored).toBe('empty');
});

test('a Discord photo reaches a vision model as an image part, and the conversation keeps only its note', async () => {
	const image = png(800, 600);
	const item = discordPhoto('What is on this menu?', image);
	const { error, outputOf } = await answer([item]);
	expect(error).toBeUndefined();
	const [seen] = model.images().slice(-1);
	expect(seen).toMatchObject({ model: 'gpt-4o', mimeType: 'image/png', detail: 'auto' });
	expect(Buffer.compare(seen.bytes!, image)).toBe(0);
	expect(outputOf('AI Session', 0)[0].json.reply).toMatchObject({ text: 'answer to: What is on this menu?\n[image: menu.png, 800×600]' });

	// The next message of the conversation replays the note, not the image.
	const next = { ...item, message: { ...(item.message as IDataObject), id: `${(item.message as IDataObject).id}1`, text: 'And the prices?', attachments: [] } };
	await answer([fromTrigger(next)]);
	const history = model.bodies().at(-1)!.messages;
	expect(history.find((message) => message.role === 'user')).toEqual({ role: 'user', content: 'What is on this menu?\n[image: menu.png, 800×600]' });
	expect(JSON.stringify(history)).not.toContain('base64');
});

test('a model that cannot see images gets a note instead, and nothing is downloaded', async () => {
	const downloads = discord.attachmentDownloads().length;
	const { error } = await answer([discordPhoto('Look!', png(32, 32))], aiSessionNode({ model: 'gpt-3.5-turbo' }));
	expect(error).toBeUndefined();
	expect(model.bodies().at(-1)!.messages.at(-1)).toEqual({ role: 'user', content: 'Look!\n[image: menu.png, this model cannot see images]' });
	expect(discord.attachmentDownloads()).toHaveLength(downloads);
});

test('without the Discord credential on AI Session the model is told the image could not be shown, and answers', async () => {
	const { error, outputOf } = await answer([discordPhoto('And this?', png(32, 32))], aiSessionNode({}, { clawgateTelegramApi: { id: '2', name: 'Bot' } }));
	expect(error).toBeUndefined();
	expect(model.bodies().at(-1)!.messages.at(-1)).toEqual({ role: 'user', content: 'And this?\n[image: menu.png, not shown: it could not be downloaded]' });
	expect(outputOf('AI Session', 0)[0].json.reply).toBeDefined();
});

test('an image over the size limit is not downloaded past it, and the model is told its size and the limit', async () => {
	const { error } = await answer([discordPhoto('Big one', png(900, 900))], aiSessionNode({ media: { maxImageMegabytes: 0.1 } }));
	expect(error).toBeUndefined();
	expect(model.bodies().at(-1)!.messages.at(-1)!.content).toMatch(/^Big one\n\[image: menu\.png, not shown: too large \([\d.]+ MB; the limit is 0\.1 MB\)\]$/);
});
