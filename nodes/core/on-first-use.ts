/**
 * A value made on first use and kept: an SDK required only when a node first needs it (n8n loads
 * every node file of the package at start, whichever channels a workflow uses), after which every
 * call returns the same module without going through `require` again.
 */
export function onFirstUse<T>(make: () => T): () => T {
	let made: { value: T } | null = null;
	return () => (made ??= { value: make() }).value;
}
