/**
 * Reads a V8 `.cpuprofile` written by `node --cpu-prof` and says where the CPU went during a
 * time window: by owner (this package, its dependencies, n8n, Node, V8) and by function, with
 * this package's functions mapped back to the TypeScript source through the shipped source maps.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
	functionName: string;
	url: string;
	lineNumber: number;
	columnNumber: number;
}

interface ProfileNode {
	id: number;
	callFrame: CallFrame;
	children?: number[];
}

interface CpuProfile {
	nodes: ProfileNode[];
	startTime: number;
	endTime: number;
	samples: number[];
	timeDeltas: number[];
}

export type Owner = 'clawgate' | 'clawgate dependencies' | 'n8n and its dependencies' | 'Node.js internals' | 'V8 (GC, compiler, native)' | 'idle';

export interface FunctionCost {
	owner: Owner;
	/** `name (file:line)`; for this package the TypeScript file and line. */
	where: string;
	ms: number;
	/** Share of the busy (non-idle) time in the window. */
	share: number;
}

export interface ProfileSummary {
	file: string;
	windowMs: number;
	busyMs: number;
	/** Whether samples were cut to the load window (false: the whole profile was used). */
	windowed: boolean;
	/** Where the time went; a built-in's time is billed to the script that called it. */
	byOwner: Array<{ owner: Owner; ms: number; share: number }>;
	/** Busy time with at least one of this package's functions on the stack (its calls into dependencies, n8n and Node included). */
	underClawgate: { ms: number; share: number };
	topSelf: FunctionCost[];
	topSelfClawgate: FunctionCost[];
	/** This package's functions by time on the stack (inclusive). */
	topInclusiveClawgate: FunctionCost[];
	topSelfN8n: FunctionCost[];
	/** Dependencies of this package by self time (package name). */
	clawgateDependencies: Array<{ name: string; ms: number; share: number }>;
}

const PACKAGE_MARK = '/node_modules/n8n-nodes-clawgate/';

function pathOf(url: string): string {
	if (!url) return '';
	if (url.startsWith('file://')) {
		try {
			return fileURLToPath(url);
		} catch {
			return url;
		}
	}
	return url;
}

function ownerOf(frame: CallFrame): Owner {
	const path = pathOf(frame.url);
	if (frame.functionName === '(idle)') return 'idle';
	if (!path) return 'V8 (GC, compiler, native)';
	const mark = path.lastIndexOf(PACKAGE_MARK);
	if (mark !== -1) return path.includes('/node_modules/', mark + PACKAGE_MARK.length - 1) ? 'clawgate dependencies' : 'clawgate';
	if (path.startsWith('node:') || !path.startsWith('/')) return 'Node.js internals';
	return 'n8n and its dependencies';
}

function dependencyName(path: string): string {
	const tail = path.slice(path.lastIndexOf('/node_modules/') + '/node_modules/'.length).split('/');
	return tail[0].startsWith('@') ? `${tail[0]}/${tail[1]}` : tail[0];
}

// ---------------------------------------------------------------------------------------------
// Source maps: just enough of the format (VLQ "mappings") to map a generated line to a source line

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function decodeVlq(segment: string): number[] {
	const values: number[] = [];
	let value = 0;
	let shift = 0;
	for (const char of segment) {
		const digit = BASE64.indexOf(char);
		value += (digit & 31) << shift;
		if (digit & 32) {
			shift += 5;
		} else {
			values.push(value & 1 ? -(value >>> 1) : value >>> 1);
			value = 0;
			shift = 0;
		}
	}
	return values;
}

interface SourceMapping {
	/** Per generated line: [generated column, source index, source line] segments. */
	lines: Array<Array<[number, number, number]>>;
	sources: string[];
}

const sourceMaps = new Map<string, SourceMapping | null>();

function sourceMapFor(jsPath: string): SourceMapping | null {
	if (sourceMaps.has(jsPath)) return sourceMaps.get(jsPath)!;
	let mapping: SourceMapping | null = null;
	const mapPath = `${jsPath}.map`;
	if (existsSync(mapPath)) {
		const map = JSON.parse(readFileSync(mapPath, 'utf8')) as { sources: string[]; mappings: string; sourceRoot?: string };
		const lines: SourceMapping['lines'] = [];
		let sourceIndex = 0;
		let sourceLine = 0;
		let sourceColumn = 0;
		for (const line of map.mappings.split(';')) {
			let column = 0;
			const segments: Array<[number, number, number]> = [];
			for (const raw of line.split(',')) {
				if (!raw) continue;
				const fields = decodeVlq(raw);
				column += fields[0];
				if (fields.length >= 4) {
					sourceIndex += fields[1];
					sourceLine += fields[2];
					sourceColumn += fields[3];
					segments.push([column, sourceIndex, sourceLine]);
				}
			}
			lines.push(segments);
		}
		mapping = { lines, sources: map.sources.map((source) => join(dirname(jsPath), map.sourceRoot ?? '', source)) };
	}
	sourceMaps.set(jsPath, mapping);
	return mapping;
}

/** `name (nodes/x.ts:12)` for this package, `name (package/file.js:12)` otherwise. */
function describe(frame: CallFrame, owner: Owner): string {
	const name = frame.functionName || '(anonymous)';
	const path = pathOf(frame.url);
	if (!path) return name;
	if (owner === 'clawgate') {
		const packageRoot = path.slice(0, path.lastIndexOf(PACKAGE_MARK) + PACKAGE_MARK.length);
		const map = sourceMapFor(path);
		const segments = map?.lines[frame.lineNumber];
		if (map && segments && segments.length > 0) {
			const segment = [...segments].reverse().find(([column]) => column <= frame.columnNumber) ?? segments[0];
			// The map names the source relative to dist/; the repository keeps the same tree without dist/.
			const source = relative(join(packageRoot, 'dist'), map.sources[segment[1]]).replace(/^(\.\.\/)+/, '');
			return `${name} (${source}:${segment[2] + 1})`;
		}
		return `${name} (${relative(packageRoot, path)}:${frame.lineNumber + 1})`;
	}
	if (path.startsWith('node:')) return `${name} (${path}:${frame.lineNumber + 1})`;
	const inModules = path.lastIndexOf('/node_modules/');
	const short = inModules === -1 ? path : path.slice(inModules + '/node_modules/'.length);
	return `${name} (${short}:${frame.lineNumber + 1})`;
}

// ---------------------------------------------------------------------------------------------

/** Summarises the samples taken between `fromUs` and `toUs` (process.hrtime in µs: V8 uses the same monotonic clock). */
export function summarizeCpuProfile(file: string, { fromUs, toUs, top = 12 }: { fromUs?: number; toUs?: number; top?: number } = {}): ProfileSummary {
	const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
	const nodes = new Map<number, ProfileNode>();
	const parents = new Map<number, number>();
	for (const node of profile.nodes) {
		nodes.set(node.id, node);
		for (const child of node.children ?? []) parents.set(child, node.id);
	}

	// A built-in (JSON.stringify, RegExp, ...) has no script: its time is billed to the code that called it.
	const billedOwner = (leafId: number): Owner => {
		for (let id: number | undefined = leafId; id !== undefined; id = parents.get(id)) {
			const frame = nodes.get(id)!.callFrame;
			if (frame.url || frame.functionName.startsWith('(')) return ownerOf(frame);
		}
		return 'V8 (GC, compiler, native)';
	};

	// Sample i lasts until sample i + 1 (DevTools' convention); its time is timeDeltas[i + 1].
	const stamps: number[] = [];
	let clock = profile.startTime;
	for (const delta of profile.timeDeltas) stamps.push((clock += delta));
	const inWindow = (index: number) => (fromUs === undefined || stamps[index] >= fromUs) && (toUs === undefined || stamps[index] <= toUs);
	let selected = profile.samples.map((_, index) => index).filter(inWindow);
	const windowed = selected.length >= profile.samples.length * 0.02 && selected.length > 50;
	if (!windowed) selected = profile.samples.map((_, index) => index);

	const self = new Map<number, number>();
	const inclusive = new Map<string, { owner: Owner; frame: CallFrame; ms: number }>();
	const byOwner = new Map<Owner, number>();
	const dependencies = new Map<string, number>();
	let busyMs = 0;
	let underClawgateMs = 0;
	let windowMs = 0;

	for (const index of selected) {
		const ms = (profile.timeDeltas[index + 1] ?? profile.timeDeltas[index]) / 1000;
		windowMs += ms;
		const leafId = profile.samples[index];
		const leaf = nodes.get(leafId)!;
		const owner = ownerOf(leaf.callFrame);
		const billed = billedOwner(leafId);
		byOwner.set(billed, (byOwner.get(billed) ?? 0) + ms);
		if (owner === 'idle') continue;
		busyMs += ms;
		self.set(leafId, (self.get(leafId) ?? 0) + ms);
		if (owner === 'clawgate dependencies') {
			const name = dependencyName(pathOf(leaf.callFrame.url));
			dependencies.set(name, (dependencies.get(name) ?? 0) + ms);
		}
		// Each of our functions counts once per sample, however deep the recursion.
		const seen = new Set<string>();
		for (let id: number | undefined = leafId; id !== undefined; id = parents.get(id)) {
			const frame = nodes.get(id)!.callFrame;
			if (ownerOf(frame) !== 'clawgate') continue;
			const key = `${frame.url}:${frame.functionName}:${frame.lineNumber}:${frame.columnNumber}`;
			if (seen.has(key)) continue;
			seen.add(key);
			const entry = inclusive.get(key) ?? { owner: 'clawgate' as Owner, frame, ms: 0 };
			entry.ms += ms;
			inclusive.set(key, entry);
		}
		if (seen.size > 0) underClawgateMs += ms;
	}

	// Self time by function (same function in many call paths added together).
	const selfByFunction = new Map<string, { owner: Owner; frame: CallFrame; ms: number }>();
	for (const [id, ms] of self) {
		const frame = nodes.get(id)!.callFrame;
		const key = `${frame.url}:${frame.functionName}:${frame.lineNumber}:${frame.columnNumber}`;
		const entry = selfByFunction.get(key) ?? { owner: ownerOf(frame), frame, ms: 0 };
		entry.ms += ms;
		selfByFunction.set(key, entry);
	}
	const share = (ms: number) => (busyMs > 0 ? ms / busyMs : 0);
	const costs = (entries: Iterable<{ owner: Owner; frame: CallFrame; ms: number }>, keep: (owner: Owner) => boolean) =>
		[...entries]
			.filter((entry) => keep(entry.owner))
			.sort((a, b) => b.ms - a.ms)
			.slice(0, top)
			.map((entry) => ({ owner: entry.owner, where: describe(entry.frame, entry.owner), ms: entry.ms, share: share(entry.ms) }));

	return {
		file,
		windowMs,
		busyMs,
		windowed,
		byOwner: [...byOwner].map(([owner, ms]) => ({ owner, ms, share: owner === 'idle' ? Number.NaN : share(ms) })).sort((a, b) => b.ms - a.ms),
		underClawgate: { ms: underClawgateMs, share: share(underClawgateMs) },
		topSelf: costs(selfByFunction.values(), () => true),
		topSelfClawgate: costs(selfByFunction.values(), (owner) => owner === 'clawgate'),
		topInclusiveClawgate: costs(inclusive.values(), () => true),
		topSelfN8n: costs(selfByFunction.values(), (owner) => owner === 'n8n and its dependencies'),
		clawgateDependencies: [...dependencies].map(([name, ms]) => ({ name, ms, share: share(ms) })).sort((a, b) => b.ms - a.ms),
	};
}
