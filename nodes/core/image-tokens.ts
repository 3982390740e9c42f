/**
 * Images in the token budget: their pixel size read from the file header (PNG, JPEG, GIF, WebP;
 * no decoding, no native code), the tokens a provider charges for them by its published rules,
 * and whether a model can see images at all, by its name.
 */
import { normalizeModelName } from './tokens';

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'webp';

export interface ImageSize {
	width: number;
	height: number;
	format: ImageFormat;
}

export const IMAGE_MIME_TYPES: Record<ImageFormat, string> = { png: 'image/png', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp' };

/** A JPEG's frame header follows its metadata (EXIF, ICC profiles); no camera writes more than this before it. */
const JPEG_SCAN_BYTES = 1024 * 1024;

/**
 * The format and pixel size of an image from its first bytes, or null when it is none of the
 * formats vision models take (or a broken one). Reads headers only: a JPEG's segments are skipped
 * by their lengths within the first JPEG_SCAN_BYTES, so the cost does not grow with the file.
 */
export function readImageSize(bytes: Uint8Array): ImageSize | null {
	const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const size = (format: ImageFormat, width: number, height: number): ImageSize | null => (width > 0 && height > 0 ? { width, height, format } : null);
	// PNG: signature, then the IHDR chunk (width, height: 32-bit big-endian).
	if (data.length >= 24 && data.readUInt32BE(0) === 0x89504e47 && data.readUInt32BE(4) === 0x0d0a1a0a && data.toString('latin1', 12, 16) === 'IHDR') {
		return size('png', data.readUInt32BE(16), data.readUInt32BE(20));
	}
	// GIF87a / GIF89a: the logical screen size, 16-bit little-endian.
	if (data.length >= 10 && /^GIF8[79]a$/.test(data.toString('latin1', 0, 6))) return size('gif', data.readUInt16LE(6), data.readUInt16LE(8));
	if (data.length >= 30 && data.toString('latin1', 0, 4) === 'RIFF' && data.toString('latin1', 8, 12) === 'WEBP') return webpSize(data, size);
	if (data.length >= 4 && data[0] === 0xff && data[1] === 0xd8) return jpegSize(data, size);
	return null;
}

type SizeOf = (format: ImageFormat, width: number, height: number) => ImageSize | null;

/** WebP's three kinds of first chunk: lossy (VP8), lossless (VP8L), extended (VP8X). */
function webpSize(data: Buffer, size: SizeOf): ImageSize | null {
	const chunk = data.toString('latin1', 12, 16);
	if (chunk === 'VP8 ' && data[23] === 0x9d && data[24] === 0x01 && data[25] === 0x2a) {
		return size('webp', data.readUInt16LE(26) & 0x3fff, data.readUInt16LE(28) & 0x3fff);
	}
	if (chunk === 'VP8L' && data[20] === 0x2f) {
		const bits = data.readUInt32LE(21);
		return size('webp', (bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
	}
	if (chunk === 'VP8X') return size('webp', data.readUIntLE(24, 3) + 1, data.readUIntLE(27, 3) + 1);
	return null;
}

/** The first start-of-frame segment's size (SOF0–SOF15 but DHT, JPG and DAC, which share the range). */
function jpegSize(data: Buffer, size: SizeOf): ImageSize | null {
	const end = Math.min(data.length, JPEG_SCAN_BYTES);
	let offset = 2;
	while (offset + 9 < end) {
		if (data[offset] !== 0xff) return null;
		const marker = data[offset + 1];
		// Fill bytes before a marker.
		if (marker === 0xff) {
			offset += 1;
			continue;
		}
		if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
			return size('jpeg', data.readUInt16BE(offset + 7), data.readUInt16BE(offset + 5));
		}
		// Markers without a length (restart markers, TEM).
		if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
			offset += 2;
			continue;
		}
		const length = data.readUInt16BE(offset + 2);
		if (length < 2) return null;
		offset += 2 + length;
	}
	return null;
}

/** OpenAI's `detail`: low is one fixed-size look; high (and auto, budgeted as high) tiles the image. */
export type ImageDetail = 'low' | 'high' | 'auto';

/**
 * Tokens of one image in the prompt of `model`, by its provider's published rule:
 * - OpenAI, tiles (GPT-4o, GPT-4.1, GPT-4.5, GPT-5, o1, o3): low detail a base; high detail the
 *   image scaled to fit 2048 × 2048, then its shortest side to 768, and a base plus a price per
 *   512-px tile (85 + 170 for GPT-4o; GPT-4o mini is billed 2,833 + 5,667, o1 and o3 75 + 150).
 * - OpenAI, patches (GPT-4.1 mini and nano, o4-mini): 32-px patches, at most 1,536 (larger images
 *   are scaled down to fit), times the model's multiplier.
 * - Anthropic (Claude): width × height / 750, after scaling the long edge to 1,568.
 * - Google (Gemini): 258 for an image up to 384 px each side, else 258 per 768-px tile.
 * Other models are budgeted with GPT-4o's tiles. `auto` is budgeted as `high`: the most it can cost.
 */
export function imageTokens(model: string, { width, height }: Pick<ImageSize, 'width' | 'height'>, detail: ImageDetail = 'auto'): number {
	const name = normalizeModelName(model);
	if (name.startsWith('claude')) {
		const scale = Math.min(1, 1568 / Math.max(width, height));
		return Math.ceil((Math.round(width * scale) * Math.round(height * scale)) / 750);
	}
	if (name.startsWith('gemini')) return width <= 384 && height <= 384 ? 258 : 258 * Math.ceil(width / 768) * Math.ceil(height / 768);
	const patches = PATCH_MULTIPLIERS.find(([prefix]) => name.startsWith(prefix));
	if (patches) return Math.ceil(patchCount(width, height) * patches[1]);
	const [, base, perTile] = TILE_PRICES.find(([prefix]) => name.startsWith(prefix)) ?? ['', 85, 170];
	if (detail === 'low') return base;
	let w = width;
	let h = height;
	const fit = Math.min(1, 2048 / Math.max(w, h));
	w *= fit;
	h *= fit;
	const shortest = Math.min(1, 768 / Math.min(w, h));
	w *= shortest;
	h *= shortest;
	return base + perTile * Math.ceil(w / 512) * Math.ceil(h / 512);
}

/** Prefix, base and per-tile tokens of OpenAI tile models whose prices differ from GPT-4o's (longest prefixes first). */
const TILE_PRICES: Array<[string, number, number]> = [
	['gpt-4o-mini', 2833, 5667],
	['o1', 75, 150],
	['o3', 75, 150],
];

/** OpenAI's patch models and their multipliers. */
const PATCH_MULTIPLIERS: Array<[string, number]> = [
	['gpt-4.1-mini', 1.62],
	['gpt-4.1-nano', 2.46],
	['o4-mini', 1.72],
	['gpt-5-mini', 1.62],
	['gpt-5-nano', 2.46],
];

/** OpenAI's patch rule: 32-px patches; over 1,536 the image is shrunk to fit, to whole patches across its narrower fit. */
function patchCount(width: number, height: number): number {
	const patches = Math.ceil(width / 32) * Math.ceil(height / 32);
	if (patches <= 1536) return patches;
	let shrink = Math.sqrt((32 * 32 * 1536) / (width * height));
	shrink *= Math.min(Math.floor((width * shrink) / 32) / ((width * shrink) / 32), Math.floor((height * shrink) / 32) / ((height * shrink) / 32));
	return Math.min(1536, Math.ceil(Math.floor(width * shrink) / 32) * Math.ceil(Math.floor(height * shrink) / 32));
}

/**
 * Model names of vision-capable families (after the provider path and Bedrock prefix). A name
 * that matches none is treated as text-only: an image sent to a text model is an error at most
 * providers, while a note in words always works. AI Session's "Send Images" option overrides this.
 */
const VISION_MODEL_PATTERNS: RegExp[] = [
	/^(chatgpt-4o|gpt-4o|gpt-4\.1|gpt-4\.5|gpt-4-turbo|gpt-4-vision|gpt-5)/,
	// o1 and o3 see images; their mini models do not (o4-mini does).
	/^(o1|o3)(?!-mini)(\b|-)/,
	/^o4-mini/,
	// Claude 3 and later (claude-3-5-sonnet, claude-sonnet-4-5, claude-opus-4-1); not claude-2 or claude-instant.
	/^claude-(3|sonnet|opus|haiku)/,
	// Gemini 1.5 and later; gemini-pro / gemini-1.0 were text-only.
	/^gemini-(?!pro\b|1\.0)/,
	/^(llama3\.2-vision|llama-3\.2-\d+b-vision|llama-?4|gemma-?3(?!:1b)|pixtral|mistral-small-3\.[12]|mistral-medium-3|nova-(lite|pro|premier)|grok-(4|2-vision))/,
	/(^|[-_./:])(vision|vl|llava|bakllava|moondream|minicpm-v)([-_.:]|\d|$)/,
	/qwen[\d.]*-?vl/,
];

export function supportsImagesByName(model: string): boolean {
	const name = normalizeModelName(model);
	return VISION_MODEL_PATTERNS.some((pattern) => pattern.test(name));
}
