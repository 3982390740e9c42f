/**
 * Finds the n8n process of an N8nInstance and reads its memory from /proc (Linux only). The
 * harness does not expose the child's pid, so the process is found by what identifies it: the
 * `n8n start` command line and the instance's user folder as working directory.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface Memory {
	/** Resident set size now, in MiB (VmRSS). */
	rssMiB: number;
	/** The highest resident set size so far, in MiB (VmHWM). */
	peakMiB: number;
}

export function findN8nPid(userFolder: string): number | null {
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			if (readlinkSync(`/proc/${entry}/cwd`) !== userFolder) continue;
			const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
			if (argv.includes('start') && argv.some((arg) => arg.endsWith('/n8n/bin/n8n'))) return Number(entry);
		} catch {
			// The process ended while we looked, or is not ours to read.
		}
	}
	return null;
}

export function readMemory(pid: number | null): Memory | null {
	if (pid === null) return null;
	try {
		const status = readFileSync(`/proc/${pid}/status`, 'utf8');
		const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
		return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
	} catch {
		return null;
	}
}
