/**
 * The README and docs/ link to each other, to examples and to images by relative path, often
 * to a heading (`docs/nodes.md#typing`). Sections move between pages as the README is kept
 * short, so a link that points nowhere is a broken promise to a reader: every relative link
 * must name a file that exists and, with a `#fragment`, a heading in it (GitHub's anchors).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

function markdownFiles(): string[] {
	const docs = path.join(ROOT, 'docs');
	const pages = (dir: string): string[] =>
		readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
			entry.isDirectory() ? pages(path.join(dir, entry.name)) : entry.name.endsWith('.md') ? [path.join(dir, entry.name)] : [],
		);
	return [path.join(ROOT, 'README.md'), ...pages(docs)];
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2. */
function anchorsOf(markdown: string): Set<string> {
	const anchors = new Set<string>();
	const seen = new Map<string, number>();
	let inFence = false;
	for (const line of markdown.split('\n')) {
		if (line.startsWith('```')) inFence = !inFence;
		const heading = !inFence && /^#{1,6} (.*)$/.exec(line);
		if (!heading) continue;
		const base = heading[1]
			.trim()
			.toLowerCase()
			.replace(/[^\p{L}\p{N}\s_-]/gu, '')
			.replace(/\s/g, '-');
		const count = seen.get(base) ?? 0;
		seen.set(base, count + 1);
		anchors.add(count === 0 ? base : `${base}-${count}`);
	}
	return anchors;
}

function relativeLinks(markdown: string): string[] {
	const withoutCode = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
	return [...withoutCode.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]).filter((target) => !/^[a-z]+:/i.test(target));
}

describe('README and docs/ links', () => {
	const files = markdownFiles();

	it.each(files.map((file) => [path.relative(ROOT, file), file]))('%s: every relative link names a file and heading that exist', (_name, file) => {
		const broken: string[] = [];
		for (const target of relativeLinks(readFileSync(file, 'utf8'))) {
			const [filePart, fragment] = target.split('#', 2);
			const linked = filePart ? path.resolve(path.dirname(file), decodeURIComponent(filePart)) : file;
			if (!existsSync(linked)) {
				broken.push(`${target}: no such file`);
				continue;
			}
			if (fragment && linked.endsWith('.md') && !anchorsOf(readFileSync(linked, 'utf8')).has(fragment)) broken.push(`${target}: no such heading`);
		}
		expect(broken).toEqual([]);
	});

	it('README stays a page a newcomer reads: at most 250 lines', () => {
		expect(readFileSync(path.join(ROOT, 'README.md'), 'utf8').trimEnd().split('\n').length).toBeLessThanOrEqual(250);
	});
});
