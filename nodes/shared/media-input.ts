/**
 * "Voice Notes & Images" on AI Session: what a message's attachments become for the model. A voice
 * note is downloaded through its channel's plugin and transcribed at an OpenAI-compatible
 * `/audio/transcriptions`; its transcript is the user's turn ("(voice note) …"). An image goes to a
 * vision model as an image part, counted by the provider's rule, and is stored as a note in words
 * ("[image: cat.png, 640×480]"), never as bytes: the store and every later budget stay text. A
 * model that cannot see images gets the note alone. Downloads are size-capped and time-limited,
 * and happen only once the engine knows the message goes to the model.
 */
import { NodeOperationError, type IDataObject, type IExecuteFunctions } from 'n8n-workflow';

import type { AnyChannelPlugin, DownloadedAttachment } from '../core/channel';
import type { EnvelopeAttachment } from '../core/envelope';
import { isFileTooLarge } from '../core/file-download';
import { IMAGE_MIME_TYPES, imageTokens, readImageSize, supportsImagesByName, type ImageDetail } from '../core/image-tokens';
import { isTriggerEnvelope } from '../core/origin';
import type { InboundMessage, MessageMedia } from '../core/session/engine';
import { OPENAI_TRANSCRIPTION_MAX_BYTES, transcribeAudio, VOICE_NOTE_PREFIX, voiceNoteOverLimits, voiceNoteTooLarge } from '../core/transcription';
import { describeWithoutSecrets, type PlatformConnections } from './live-replies';
import { envelopeOriginKey } from './origin-key';

const MEGABYTE = 1024 * 1024;
/** One attachment download (voice note or image) must end within this. */
export const ATTACHMENT_DOWNLOAD_TIMEOUT_MS = 30_000;

export type ImagePolicy = 'byModel' | 'always' | 'never';

export interface MediaSettings {
	transcribeVoiceNotes: boolean;
	transcriptionModel: string;
	/** Empty: the OpenAI credential's base URL. */
	transcriptionBaseUrl: string;
	transcriptionLanguage: string;
	maxVoiceBytes: number;
	maxVoiceSeconds: number;
	images: ImagePolicy;
	imageDetail: ImageDetail;
	maxImageBytes: number;
	maxImages: number;
}

/** The "Voice Notes & Images" collection of AI Session, with its defaults. */
export function mediaSettingsOf(context: IExecuteFunctions, itemIndex: number): MediaSettings {
	const media = context.getNodeParameter('media', itemIndex, {}) as IDataObject;
	const megabytes = (value: unknown, fallback: number, max = Infinity) => Math.round(Math.min(Number(value ?? fallback) || fallback, max) * MEGABYTE);
	return {
		transcribeVoiceNotes: media.transcribeVoiceNotes === true,
		transcriptionModel: String(media.transcriptionModel ?? 'whisper-1').trim() || 'whisper-1',
		transcriptionBaseUrl: String(media.transcriptionBaseUrl ?? '').trim(),
		transcriptionLanguage: String(media.transcriptionLanguage ?? '').trim(),
		maxVoiceBytes: Math.min(megabytes(media.maxVoiceMegabytes, 10), OPENAI_TRANSCRIPTION_MAX_BYTES),
		maxVoiceSeconds: Number(media.maxVoiceSeconds ?? 300) || 300,
		images: (['byModel', 'always', 'never'] as const).find((policy) => policy === media.images) ?? 'byModel',
		imageDetail: (['auto', 'low', 'high'] as const).find((detail) => detail === media.imageDetail) ?? 'auto',
		maxImageBytes: megabytes(media.maxImageMegabytes, 5, 20),
		maxImages: Math.max(0, Math.floor(Number(media.maxImages ?? 4))),
	};
}

/** Where voice notes are transcribed: the OpenAI credential of AI Session, when its model uses one. */
export interface TranscriptionAccount {
	apiKey: string;
	/** The credential's base URL; empty means OpenAI. */
	baseUrl?: string;
}

const OPENAI_API = 'https://api.openai.com/v1';

/** The attachments of an item a plugin can download, by what AI Session does with them. */
function readableAttachments(json: IDataObject): { voice: EnvelopeAttachment | null; images: EnvelopeAttachment[] } {
	const message = json.message as { attachments?: unknown } | undefined;
	const attachments = (Array.isArray(message?.attachments) ? message.attachments : []) as EnvelopeAttachment[];
	return {
		voice: attachments.find((attachment) => attachment?.kind === 'voice' || attachment?.kind === 'audio') ?? null,
		images: attachments.filter((attachment) => attachment?.kind === 'image'),
	};
}

/** A downloaded file, or why there is none (`tooLarge`: over the size limit). */
type Download = { file: DownloadedAttachment } | { failure: string; tooLarge: boolean };
type DownloadOf = (attachment: EnvelopeAttachment, maxBytes: number) => Promise<Download>;

export class MediaInput {
	constructor(
		private readonly context: IExecuteFunctions,
		private readonly connections: PlatformConnections,
		private readonly pluginForItem: (json: IDataObject) => AnyChannelPlugin | null,
		private readonly transcription: TranscriptionAccount | null,
	) {}

	/**
	 * The `media` of an item's message for the engine, or undefined when it carries nothing AI
	 * Session reads: no image, no voice note to transcribe, or not an envelope a Clawgate trigger
	 * signed on a platform whose plugin can download files.
	 */
	of(itemIndex: number, json: IDataObject, { text: said, model, timeoutMs }: { text: string; model: string; timeoutMs: number }): InboundMessage['media'] {
		if (!isTriggerEnvelope(json, envelopeOriginKey())) return undefined;
		const plugin = this.pluginForItem(json);
		if (!plugin?.downloadAttachment) return undefined;
		const settings = mediaSettingsOf(this.context, itemIndex);
		const { voice, images } = readableAttachments(json);
		const transcribed = settings.transcribeVoiceNotes ? voice : null;
		const shown = images.slice(0, settings.maxImages);
		if (!transcribed && shown.length === 0) return undefined;
		// The resolved Message Text: a photo's or voice note's caption, as AI Session reads it.
		const caption = said.trim();
		return async (): Promise<MessageMedia> => {
			const download = (attachment: EnvelopeAttachment, maxBytes: number) => this.download(plugin, itemIndex, json, attachment, maxBytes);
			let text = caption;
			if (transcribed) {
				const over = voiceNoteOverLimits(transcribed, { maxBytes: settings.maxVoiceBytes, maxSeconds: settings.maxVoiceSeconds });
				if (over) return { text: '', images: [], refusal: over };
				const heard = await this.transcribe(download, transcribed, settings, timeoutMs);
				if ('refusal' in heard) return { text: '', images: [], refusal: heard.refusal };
				text = [`${VOICE_NOTE_PREFIX} ${heard.transcript || '(no words heard)'}`, caption].filter(Boolean).join('\n');
			}
			const seen = settings.images === 'always' || (settings.images === 'byModel' && supportsImagesByName(model));
			const unseen = settings.images === 'never' ? 'not shown' : 'this model cannot see images';
			const parts = await Promise.all(shown.map((image) => (seen ? this.imageFor(download, image, settings, model) : { note: imageNote(image, unseen) })));
			return {
				text: [text, ...parts.map((part) => part.note)].filter(Boolean).join('\n'),
				images: parts.flatMap((part) => ('image' in part && part.image ? [part.image] : [])),
			};
		};
	}

	private async transcribe(
		download: DownloadOf,
		voice: EnvelopeAttachment,
		settings: MediaSettings,
		timeoutMs: number,
	): Promise<{ transcript: string } | { refusal: string }> {
		if (!this.transcription) {
			throw new NodeOperationError(this.context.getNode(), 'Transcribing voice notes needs the OpenAI credential: set Model Source to "OpenAI Credential", or turn off "Transcribe Voice Notes".');
		}
		const downloaded = await download(voice, settings.maxVoiceBytes);
		if ('failure' in downloaded) {
			if (downloaded.tooLarge) return { refusal: voiceNoteTooLarge(null, settings.maxVoiceBytes) };
			throw new NodeOperationError(this.context.getNode(), `Could not download the voice note: ${downloaded.failure}`);
		}
		const audio = downloaded.file;
		const baseUrl = settings.transcriptionBaseUrl || this.transcription.baseUrl?.trim() || OPENAI_API;
		const transcript = await transcribeAudio({
			baseUrl,
			apiKey: this.transcription.apiKey,
			model: settings.transcriptionModel,
			language: settings.transcriptionLanguage,
			audio: { bytes: audio.bytes, fileName: audio.fileName, mimeType: voice.mimeType ?? audio.mimeType },
			timeoutMs,
		});
		return { transcript };
	}

	/** The image as the model sees it (a data URL and its tokens) and its note; only the note when it cannot be read. */
	private async imageFor(
		download: DownloadOf,
		attachment: EnvelopeAttachment,
		settings: MediaSettings,
		model: string,
	): Promise<{ note: string; image?: MessageMedia['images'][number] }> {
		const downloaded = await download(attachment, settings.maxImageBytes);
		// The note reaches the model, which may repeat it to the sender: the size limit is theirs to know, the setup is not.
		if ('failure' in downloaded) return { note: imageNote(attachment, `not shown: ${downloaded.tooLarge ? downloaded.failure : 'it could not be downloaded'}`) };
		const file = downloaded.file;
		const size = readImageSize(file.bytes);
		if (!size) return { note: imageNote(attachment, 'not shown: not a PNG, JPEG, GIF or WebP image') };
		return {
			note: imageNote(attachment, `${size.width}×${size.height}`),
			image: {
				url: `data:${IMAGE_MIME_TYPES[size.format]};base64,${file.bytes.toString('base64')}`,
				detail: settings.imageDetail,
				tokens: imageTokens(model, size, settings.imageDetail),
			},
		};
	}

	/** One attachment through its plugin and the platform credential on AI Session; a failure says why, naming no secret. */
	private async download(plugin: AnyChannelPlugin, itemIndex: number, json: IDataObject, attachment: EnvelopeAttachment, maxBytes: number): Promise<Download> {
		const connection = await this.connections.connectionFor(plugin, itemIndex, json);
		if (!connection) {
			const failure = `AI Session has no "Clawgate ${plugin.name} API" credential of this bot to download it with (set it under Credentials)`;
			this.context.logger.warn(`AI Session "${this.context.getNode().name}" could not download a ${attachment.kind} from ${plugin.name}: ${failure}`);
			return { failure, tooLarge: false };
		}
		try {
			return { file: await plugin.downloadAttachment!(connection, attachment, { maxBytes, timeoutMs: ATTACHMENT_DOWNLOAD_TIMEOUT_MS }) };
		} catch (error) {
			const failure = describeWithoutSecrets(plugin, error, connection.credential, 'download a file');
			this.context.logger.warn(`AI Session "${this.context.getNode().name}" could not download a ${attachment.kind} from ${plugin.name}: ${failure}`);
			return { failure, tooLarge: isFileTooLarge(error) };
		}
	}
}

/** How an image is written into the stored turn: "[image: cat.png, 640×480]". */
function imageNote(attachment: EnvelopeAttachment, detail: string): string {
	return `[image${attachment.name ? `: ${attachment.name}` : ''}, ${detail}]`;
}
