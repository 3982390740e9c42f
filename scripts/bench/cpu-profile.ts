/**
 * Reads a V8 `.cpuprofile` written by `node --cpu-prof` and says where the CPU went during a
 * time window: by owner (this package, its dependencies, n8n, Node, V8) and by function, with
 * this package's functions mapped back to the TypeScript source through the shipped source maps.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
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

export interface AreaCost {
	/** This package, one of its dependencies, an n8n package, Node.js internals or V8. */
	area: string;
	ms: number;
	share: number;
	msPerMessage: number;
}

export interface ProfileWindow {
	name: string;
	/** process.hrtime in µs: V8 stamps samples with the same monotonic clock. */
	fromUs: number;
	toUs: number;
	messages: number;
}

export interface WindowSummary {
	name: string;
	messages: number;
	windowMs: number;
	/** Sampled time not idle: JavaScript, native code, GC. On a busy machine it includes time waiting for a CPU. */
	busyMs: number;
	busyMsPerMessage: number;
	/** False when no samples fell in the window (clock mismatch) and the whole profile was used. */
	windowed: boolean;
	/** Where the time went, by owner and by package; a built-in's time is billed to the script that called it. */
	byOwner: AreaCost[];
	byArea: AreaCost[];
	/** Busy time with one of this package's functions on the stack, by where the time was spent. */
	underClawgate: { ms: number; share: number; msPerMessage: number; byArea: AreaCost[] };
	/** Time in n8n's expression engine (@n8n/expression-runtime) by the nearest function outside the engine, n8n-workflow and the node helpers that led to it. */
	expressionEngineByCaller: AreaCost[];
	topSelf: FunctionCost[];
	topSelfClawgate: FunctionCost[];
	/** This package's functions by time on the stack (inclusive). */
	topInclusiveClawgate: FunctionCost[];
	topSelfN8n: FunctionCost[];
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

/** The repository whose dist/ was packed: its source maps stay readable after n8n's user folder is gone. */
const REPO_ROOT = resolve(__dirname, '..', '..');

/** `name (nodes/x.ts:12)` for this package, `name (package/file.js:12)` otherwise. */
function describe(frame: CallFrame, owner: Owner): string {
	const name = frame.functionName || '(anonymous)';
	const path = pathOf(frame.url);
	if (!path) return name;
	if (owner === 'clawgate') {
		const inPackage = path.slice(path.lastIndexOf(PACKAGE_MARK) + PACKAGE_MARK.length);
		const map = sourceMapFor(join(REPO_ROOT, inPackage));
		const segments = map?.lines[frame.lineNumber];
		if (map && segments && segments.length > 0) {
			const segment = [...segments].reverse().find(([column]) => column <= frame.columnNumber) ?? segments[0];
			return `${name} (${relative(REPO_ROOT, map.sources[segment[1]])}:${segment[2] + 1})`;
		}
		return `${name} (${inPackage}:${frame.lineNumber + 1})`;
	}
	if (path.startsWith('node:')) return `${name} (${path}:${frame.lineNumber + 1})`;
	const inModules = path.lastIndexOf('/node_modules/');
	const short = inModules === -1 ? path : path.slice(inModules + '/node_modules/'.length);
	return `${name} (${short}:${frame.lineNumber + 1})`;
}

// ---------------------------------------------------------------------------------------------

export interface LoadedProfile {
	file: string;
	nodes: Map<number, ProfileNode>;
	parents: Map<number, number>;
	samples: number[];
	/** Sample i's time stamp and duration (until sample i + 1, DevTools' convention), in µs. */
	stamps: number[];
	durations: number[];
}

export function readCpuProfile(file: string): LoadedProfile {
	const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
	const nodes = new Map<number, ProfileNode>();
	const parents = new Map<number, number>();
	for (const node of profile.nodes) {
		nodes.set(node.id, node);
		for (const child of node.children ?? []) parents.set(child, node.id);
	}
	const stamps: number[] = [];
	let clock = profile.startTime;
	for (const delta of profile.timeDeltas) stamps.push((clock += delta));
	const durations = profile.timeDeltas.map((delta, index) => profile.timeDeltas[index + 1] ?? delta);
	return { file, nodes, parents, samples: profile.samples, stamps, durations };
}

function areaOf(frame: CallFrame): string {
	const owner = ownerOf(frame);
	if (owner === 'clawgate dependencies') return `${dependencyName(pathOf(frame.url))} (Clawgate dependency)`;
	if (owner === 'n8n and its dependencies') return dependencyName(pathOf(frame.url));
	return owner;
}

const frameKey = (frame: CallFrame) => `${frame.url}:${frame.functionName}:${frame.lineNumber}:${frame.columnNumber}`;

/** Where the CPU went during one load window. */
export function summarizeWindow(profile: LoadedProfile, window: ProfileWindow, top = 10): WindowSummary {
	const { nodes, parents } = profile;
	// A built-in (JSON.stringify, RegExp, ...) has no script: its time is billed to the code that called it.
	const billedFrame = (leafId: number): CallFrame => {
		for (let id: number | undefined = leafId; id !== undefined; id = parents.get(id)) {
			const frame = nodes.get(id)!.callFrame;
			if (frame.url || frame.functionName.startsWith('(')) return frame;
		}
		return nodes.get(leafId)!.callFrame;
	};

	let selected = profile.samples.map((_, index) => index).filter((index) => profile.stamps[index] >= window.fromUs && profile.stamps[index] <= window.toUs);
	const windowed = selected.length > 50;
	if (!windowed) selected = profile.samples.map((_, index) => index);

	const self = new Map<string, { owner: Owner; frame: CallFrame; ms: number }>();
	const inclusive = new Map<string, { owner: Owner; frame: CallFrame; ms: number }>();
	const byOwner = new Map<string, number>();
	const byArea = new Map<string, number>();
	const underByArea = new Map<string, number>();
	const expressionCallers = new Map<string, number>();
	const EXPRESSION_ENGINE = '@n8n/expression-runtime';
	const callerOf = (leafId: number): string => {
		for (let id: number | undefined = leafId; id !== undefined; id = parents.get(id)) {
			const frame = nodes.get(id)!.callFrame;
			const path = pathOf(frame.url);
			// The node-facing helpers (getNodeParameter, ...) are skipped too, so a parameter read shows the node that asked.
			if (!path || path.startsWith('node:') || path.includes(`/${EXPRESSION_ENGINE}/`) || path.includes('/n8n-workflow/dist/') || path.includes('/node-execution-context/')) continue;
			return describe(frame, ownerOf(frame));
		}
		return '(asynchronous: no caller on the stack)';
	};
	const add = (map: Map<string, number>, key: string, ms: number) => map.set(key, (map.get(key) ?? 0) + ms);
	let busyMs = 0;
	let windowMs = 0;
	let underClawgateMs = 0;

	for (const index of selected) {
		const ms = profile.durations[index] / 1000;
		windowMs += ms;
		const leafId = profile.samples[index];
		const leaf = nodes.get(leafId)!.callFrame;
		const billed = billedFrame(leafId);
		const owner = ownerOf(billed);
		if (owner === 'idle') continue;
		busyMs += ms;
		add(byOwner, owner, ms);
		const area = areaOf(billed);
		add(byArea, area, ms);
		if (area === EXPRESSION_ENGINE) add(expressionCallers, callerOf(leafId), ms);
		const entry = self.get(frameKey(leaf)) ?? { owner: ownerOf(leaf), frame: leaf, ms: 0 };
		entry.ms += ms;
		self.set(frameKey(leaf), entry);
		// Each of our functions counts once per sample, however deep the recursion.
		const seen = new Set<string>();
		for (let id: number | undefined = leafId; id !== undefined; id = parents.get(id)) {
			const frame = nodes.get(id)!.callFrame;
			if (ownerOf(frame) !== 'clawgate' || seen.has(frameKey(frame))) continue;
			seen.add(frameKey(frame));
			const ours = inclusive.get(frameKey(frame)) ?? { owner: 'clawgate' as Owner, frame, ms: 0 };
			ours.ms += ms;
			inclusive.set(frameKey(frame), ours);
		}
		if (seen.size > 0) {
			underClawgateMs += ms;
			add(underByArea, area, ms);
		}
	}

	const share = (ms: number) => (busyMs > 0 ? ms / busyMs : 0);
	const perMessage = (ms: number) => ms / Math.max(1, window.messages);
	const areas = (map: Map<string, number>, limit = top) =>
		[...map]
			.sort((a, b) => b[1] - a[1])
			.slice(0, limit)
			.map(([area, ms]) => ({ area, ms, share: share(ms), msPerMessage: perMessage(ms) }));
	const costs = (entries: Iterable<{ owner: Owner; frame: CallFrame; ms: number }>, keep: (owner: Owner) => boolean) =>
		[...entries]
			.filter((entry) => keep(entry.owner))
			.sort((a, b) => b.ms - a.ms)
			.slice(0, top)
			.map((entry) => ({ owner: entry.owner, where: describe(entry.frame, entry.owner), ms: entry.ms, share: share(entry.ms) }));

	return {
		name: window.name,
		messages: window.messages,
		windowMs,
		busyMs,
		busyMsPerMessage: perMessage(busyMs),
		windowed,
		byOwner: areas(byOwner, 20),
		byArea: areas(byArea, 40),
		underClawgate: { ms: underClawgateMs, share: share(underClawgateMs), msPerMessage: perMessage(underClawgateMs), byArea: areas(underByArea, 40) },
		expressionEngineByCaller: areas(expressionCallers),
		topSelf: costs(self.values(), (owner) => owner !== 'idle'),
		topSelfClawgate: costs(self.values(), (owner) => owner === 'clawgate'),
		topInclusiveClawgate: costs(inclusive.values(), () => true),
		topSelfN8n: costs(self.values(), (owner) => owner === 'n8n and its dependencies'),
	};
}
