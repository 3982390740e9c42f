/**
 * The package's own byte-pair counter against tiktoken (a devDependency here, never loaded at run
 * time): the same counts as `encode_ordinary(text).length` for both encodings, on every kind of
 * text a chat carries and on thousands of seeded random strings.
 */
import { get_encoding, type Tiktoken } from 'tiktoken';
import { type BpeEncodingName, loadBytePairEncoding } from '../../nodes/core/bpe';
import { seededRandom } from '../fixtures/seeded-random';

const ENCODINGS: BpeEncodingName[] = ['o200k_base', 'cl100k_base'];
const tiktoken = {} as Record<BpeEncodingName, Tiktoken>;
beforeAll(() => ENCODINGS.forEach((name) => (tiktoken[name] = get_encoding(name))));
afterAll(() => ENCODINGS.forEach((name) => tiktoken[name].free()));

const ours = Object.fromEntries(ENCODINGS.map((name) => [name, loadBytePairEncoding(name)])) as Record<BpeEncodingName, ReturnType<typeof loadBytePairEncoding>>;

/** Pairs of [text, count] so a failure names the text; tiktoken gets the same string through its own JS binding. */
function expectSameCounts(name: BpeEncodingName, texts: string[]): void {
	const counted = texts.map((text) => [text, ours[name].countTokens(text)]);
	const expected = texts.map((text) => [text, tiktoken[name].encode_ordinary(text).length]);
	expect(counted).toEqual(expected);
}

const CORPUS: Record<string, string[]> = {
	'English prose': [
		'The quick brown fox jumps over the lazy dog.',
		"It was the best of times, it was the worst of times; it was the age of wisdom, it was the age of foolishness.",
		'Supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis',
	],
	code: [
		'function add(a, b) {\n\treturn a + b;\n}\n',
		'  for (let i = 0; i < items.length; i++) {\r\n    console.log(`item ${i}: ${items[i]}`);\r\n  }',
		'def main():\n    print("hello")  # comment\n\n\nif __name__ == "__main__":\n    main()\n',
		'SELECT id, name FROM users WHERE email LIKE \'%@example.com\' ORDER BY created_at DESC;',
		'// path/to/file.ts\n/* block */ x=>x**2; a&&b||c; a!==b; <div class="a">hi</div>',
		'end.\n/path ok;\r\n//comment x)\n\n/ y!\n/\n/z',
	],
	JSON: ['{"id":123,"name":"Ada","tags":["a","b"],"nested":{"ok":true,"n":null,"pi":3.14159}}', '[\n  {\n    "key": "value"\n  }\n]\n'],
	numbers: ['0 1 12 123 1234 12345 123456 1234567', '3.14159265358979 -42 1e-9 0xFF 1,000,000.00 ٣٤٥ ¼½¾ ⅫⅣ ²³', '2024-05-01T12:34:56Z +49 30 1234567'],
	URLs: ['https://example.com/path/to/page?query=1&b=two#frag', 'Visit http://a.b.co/~user/x_y-z.html or mailto:me@example.org!'],
	contractions: [
		"DON'T I'M YOU'RE WE'VE SHE'LL HE'D IT'S",
		"it'S it'Ll you'rE we'Ve i'M he'D don't",
		// Rust's case folding matches "ſ" (long s) for "s": " I'ſ" is 2 tokens in o200k_base, 3 without it.
		"it'ſ the Kelvin sign K and 'ſ and ' s x'ſy X'ſY it'ſelf don'ſ I'ſ it'ſ'type",
		"''s ''t rock'n'roll 'twas y'all o'clock",
	],
	whitespace: [
		'a  b   c    d',
		'a\tb\t\tc\t \td',
		'line\r\nline\n\nline\r\r\n\n  \n\t\nend',
		'   leading and trailing   ',
		'\n\n\n',
		'x \u0085 y\u0085z',
		'x\u00a0y \u00a0 z\u00a0\u00a0',
		'全角\u3000空白\u3000\u3000です',
		'x\ufeffy \ufeff z\ufeff',
		'x\u2028y\u2029z\u202f\u205f\u1680\u2000\u200a\u200bw',
		' \t\r\n\u000b\u000c\u0085\u00a0\u3000\ufeffx',
		'   \n   x',
	],
	CJK: ['東京の天気はどうですか？今日は晴れです。', '我爱自然语言处理，这是一个测试。', '안녕하세요, 반갑습니다'],
	Arabic: ['مرحبا بالعالم، كيف حالك اليوم؟', 'السَّلَامُ عَلَيْكُمْ'],
	'Hindi with combining marks': ['नमस्ते दुनिया, आप कैसे हैं?', 'क्षत्रिय श्री ज्ञान'],
	emoji: ['👍 👍🏽 👍🏿', '👨‍👩‍👧‍👦 👩🏽‍💻 🏳️‍🌈 🇩🇪🇯🇵', '❤️❤️❤️ 🤖🤖 😀😃😄😁', 'e\u0301 n\u0303 a\u030a\u0301\u0302'],
	'special-token text': ['<|endoftext|>', 'Ignore this: <|endoftext|><|im_start|>system <|fim_prefix|><|endofprompt|>'],
	'lone surrogates (tiktoken reads them as U+FFFD)': ['\ud800', 'a\udc00b', 'x\ud83d y', '\udfff\ud800 \ud83d\ude00\ud83d', 'it\ud800s'],
	'long runs': ['a'.repeat(600), ' '.repeat(600), '👍🏽'.repeat(150), 'aB'.repeat(300), '東'.repeat(300), '!?'.repeat(300), '1'.repeat(100)],
};

describe('counts equal tiktoken encode_ordinary', () => {
	for (const name of ENCODINGS) {
		test.each(Object.entries(CORPUS))(`${name}: %s`, (_kind, texts) => expectSameCounts(name, texts));
	}
});


/**
 * Characters and fragments from every class the pre-tokenizers tell apart: cased letters (Lu, Ll,
 * Lt, Lm, Lo), marks, digits of several scripts, punctuation, "/", each White_Space character and
 * U+FEFF, contraction fragments, emoji with joiners and modifiers, and lone surrogates.
 */
const ALPHABET = [
	...'abcdefghijklmnopqrstuvwxyz',
	...'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
	...'éüßøñçÉÜ',
	'ǅ', 'ʰ', 'ſ', 'K', 'ª', '东', '京', 'の', 'ア', '한', 'ก', 'ع', 'ب', 'न', 'म', '्', 'ि', '\u0301', '\u0303',
	...'0123456789', '٣', '४', '½', '²', 'Ⅻ',
	...'.,;:!?-_()[]{}<>"#$%&*+=@\\^`|~', '/', "'", '’', '…', '—', '€', '©',
	' ', ' ', ' ', ' ', '\t', '\n', '\n', '\r', '\r\n', '\u000b', '\u000c', '\u0085', '\u00a0', '\u1680', '\u2000', '\u2009', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff', '\u200b',
	"'s", "'S", "'t", "'re", "'RE", "'Ve", "'m", "'ll", "'LL", "'d", "'D",
	'the', ' the', 'ing', 'tion', 'HTTP', 'Json', 'http://', '.com', '  ', '\n\n', ' \n',
	'😀', '👍🏽', '👨‍👩‍👧', '\u200d', '🏿', '🇩🇪', '❤️', '\ufe0f',
	'\ud800', '\udc00',
];

function randomText(random: () => number): string {
	const length = 1 + Math.floor(random() * 40);
	let text = '';
	for (let index = 0; index < length; index++) text += ALPHABET[Math.floor(random() * ALPHABET.length)];
	return text;
}

/** Words of random letters are rarely tokens, so they exercise the merge rather than the whole-piece lookup. */
function randomWords(random: () => number): string {
	const letters = 'etaoinshrdlucmfwypvbgkjqxzETAOINSH';
	const words = Array.from({ length: 1 + Math.floor(random() * 8) }, () =>
		Array.from({ length: 1 + Math.floor(random() * 24) }, () => letters[Math.floor(random() * letters.length)]).join(''),
	);
	return words.join(random() < 0.5 ? ' ' : '');
}

describe('seeded random texts count as tiktoken counts them', () => {
	for (const name of ENCODINGS) {
		test(`${name}: 3,000 strings from a mixed alphabet and 1,000 strings of random words`, () => {
			const random = seededRandom(name === 'o200k_base' ? 200_000 : 100_000);
			const texts = [...Array.from({ length: 3000 }, () => randomText(random)), ...Array.from({ length: 1000 }, () => randomWords(random))];
			const mismatches = texts.filter((text) => ours[name].countTokens(text) !== tiktoken[name].encode_ordinary(text).length);
			expect(mismatches.map((text) => [text, ours[name].countTokens(text), tiktoken[name].encode_ordinary(text).length])).toEqual([]);
		});
	}
});

describe('loading', () => {
	test('each encoding loads from the ranks file beside the module and counts the empty text as 0', () => {
		for (const name of ENCODINGS) {
			expect(ours[name].name).toBe(name);
			expect(ours[name].countTokens('')).toBe(0);
		}
	});
});
