/**
 * A V8 heap snapshot summed up by constructor as it streams in, the way DevTools' "Summary" view
 * groups it (self sizes only): objects and native objects by their constructor's name, everything
 * else by kind ("(string)", "(compiled code)", ...). The snapshot of a large n8n runs to hundreds of
 * megabytes, so it is never held whole: the node list is read number by number, the edges are
 * skipped, and only the string table is parsed (for the constructors' names).
 */

export interface HeapGroup {
	name: string;
	count: number;
	selfBytes: number;
}

const NODES_MARKER = '"nodes":[';
const STRINGS_MARKER = '"strings":[';
/** Node kinds DevTools lists by the constructor's name; the others are listed by kind. */
const BY_NAME = new Set(['object', 'native']);

export class HeapSnapshotSummer {
	private phase: 'head' | 'nodes' | 'edges' | 'strings' = 'head';
	private text = '';
	private fieldCount = 0;
	private typeNames: string[] = [];
	private fieldIndex = { type: 0, name: 1, selfSize: 3 };
	private readonly fields: number[] = [];
	/** The number being read, and whether a digit of it was seen. */
	private value = 0;
	private inNumber = false;
	/** By kind (key `(kind)`) or, for BY_NAME kinds, by the index of the name in the string table (key `#<index>`). */
	private readonly groups = new Map<string, { count: number; selfBytes: number }>();

	write(chunk: string): void {
		if (this.phase === 'head') {
			this.text += chunk;
			const at = this.text.indexOf(NODES_MARKER);
			if (at < 0) return;
			this.readMeta(this.text.slice(0, at));
			const rest = this.text.slice(at + NODES_MARKER.length);
			this.text = '';
			this.phase = 'nodes';
			this.write(rest);
		} else if (this.phase === 'nodes') {
			this.readNodes(chunk);
		} else if (this.phase === 'edges') {
			// Only the end of the previous chunk is kept, in case the marker is cut in two.
			const window = this.text + chunk;
			const at = window.indexOf(STRINGS_MARKER);
			if (at < 0) {
				this.text = window.slice(-STRINGS_MARKER.length);
				return;
			}
			this.text = window.slice(at + STRINGS_MARKER.length - 1);
			this.phase = 'strings';
		} else {
			this.text += chunk;
		}
	}

	/** The groups, largest first, once the whole snapshot was written. */
	finish(): HeapGroup[] {
		if (this.phase !== 'strings') throw new Error(`The heap snapshot ended early (while reading its ${this.phase}).`);
		const end = this.text.lastIndexOf(']');
		const strings = JSON.parse(this.text.slice(0, end + 1)) as string[];
		return [...this.groups.entries()]
			.map(([key, group]) => ({ name: key.startsWith('#') ? strings[Number(key.slice(1))] : key, ...group }))
			.sort((a, b) => b.selfBytes - a.selfBytes);
	}

	private readMeta(head: string): void {
		const { snapshot } = JSON.parse(`${head.trim().replace(/,$/, '')}}`) as { snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } } };
		const { node_fields: names, node_types: types } = snapshot.meta;
		this.fieldCount = names.length;
		this.fieldIndex = { type: names.indexOf('type'), name: names.indexOf('name'), selfSize: names.indexOf('self_size') };
		this.typeNames = types[0];
	}

	private readNodes(chunk: string): void {
		for (let index = 0; index < chunk.length; index++) {
			const code = chunk.charCodeAt(index);
			if (code >= 48 && code <= 57) {
				this.value = this.value * 10 + (code - 48);
				this.inNumber = true;
				continue;
			}
			if (this.inNumber) {
				this.fields.push(this.value);
				[this.value, this.inNumber] = [0, false];
				if (this.fields.length === this.fieldCount) this.countNode();
			}
			if (chunk[index] === ']') {
				this.phase = 'edges';
				this.write(chunk.slice(index + 1));
				return;
			}
		}
	}

	private countNode(): void {
		const type = this.typeNames[this.fields[this.fieldIndex.type]] ?? 'unknown';
		const key = BY_NAME.has(type) ? `#${this.fields[this.fieldIndex.name]}` : `(${type})`;
		const group = this.groups.get(key) ?? { count: 0, selfBytes: 0 };
		group.count += 1;
		group.selfBytes += this.fields[this.fieldIndex.selfSize];
		this.groups.set(key, group);
		this.fields.length = 0;
	}
}
