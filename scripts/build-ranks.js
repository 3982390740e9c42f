#!/usr/bin/env node
// Writes nodes/core/ranks/<encoding>.bin, the byte-pair ranks nodes/core/bpe.ts counts tokens
// with, from tiktoken's own encoder files (a devDependency). The .bin files are committed, so
// neither the build nor the tests need tiktoken; run this again only when tiktoken's data changes.
//
// Format: brotli-compressed; inside, for every rank 0, 1, 2, … in order, one length byte and that
// many token bytes. Ranks are dense (checked here), so a token's rank is its position.
'use strict';
const { mkdirSync, readFileSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { brotliCompressSync, brotliDecompressSync, constants } = require('node:zlib');

const REPO_ROOT = path.join(__dirname, '..');
const OUT_DIR = path.join(REPO_ROOT, 'nodes', 'core', 'ranks');

/**
 * tiktoken's pre-tokenizer patterns (Rust fancy-regex) that nodes/core/bpe.ts ports to JavaScript
 * by hand: a tiktoken release that changes one needs the port changed too, so it stops here.
 */
const PORTED_PATTERNS = {
	o200k_base:
		"[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
	cl100k_base: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
};

/**
 * Token bytes by rank from tiktoken's `bpe_ranks` text: lines of "<base64 token> <rank>", or
 * "! <first rank> <base64 token> <base64 token> …" for a run of consecutive ranks.
 */
function parseRanks(bpeRanks) {
	const tokens = [];
	const place = (rank, base64) => {
		if (tokens[rank] !== undefined) throw new Error(`Rank ${rank} appears twice.`);
		tokens[rank] = Buffer.from(base64, 'base64');
	};
	for (const line of bpeRanks.split('\n')) {
		if (!line) continue;
		const fields = line.split(' ');
		if (fields[0] === '!') {
			const first = Number(fields[1]);
			fields.slice(2).forEach((base64, index) => place(first + index, base64));
		} else {
			place(Number(fields[1]), fields[0]);
		}
	}
	return tokens;
}

function buildRanks(encoding) {
	const source = JSON.parse(readFileSync(require.resolve(`tiktoken/encoders/${encoding}.json`), 'utf8'));
	if (source.pat_str !== PORTED_PATTERNS[encoding]) {
		throw new Error(`tiktoken's ${encoding} pattern changed; port it to nodes/core/bpe.ts, then update PORTED_PATTERNS here.\n${source.pat_str}`);
	}
	const tokens = parseRanks(source.bpe_ranks);
	const seen = new Set();
	const records = [];
	for (let rank = 0; rank < tokens.length; rank++) {
		const token = tokens[rank];
		if (token === undefined) throw new Error(`${encoding}: rank ${rank} is missing; the format needs dense ranks.`);
		if (token.length === 0 || token.length > 255) throw new Error(`${encoding}: rank ${rank} has ${token.length} bytes; a length byte holds 1–255.`);
		const key = token.toString('latin1');
		if (seen.has(key)) throw new Error(`${encoding}: token of rank ${rank} appears twice.`);
		seen.add(key);
		records.push(Buffer.from([token.length]), token);
	}
	const raw = Buffer.concat(records);
	const compressed = brotliCompressSync(raw, {
		params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_LGWIN]: 24, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
	});
	if (!brotliDecompressSync(compressed).equals(raw)) throw new Error(`${encoding}: the compressed ranks do not read back.`);
	const file = path.join(OUT_DIR, `${encoding}.bin`);
	writeFileSync(file, compressed);
	console.log(`${path.relative(REPO_ROOT, file)}: ${tokens.length} tokens, ${raw.length} bytes, ${compressed.length} compressed`);
}

mkdirSync(OUT_DIR, { recursive: true });
for (const encoding of Object.keys(PORTED_PATTERNS)) buildRanks(encoding);
