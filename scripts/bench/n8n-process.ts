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

/** `n8n start` processes, with their working directory (the user folder) and parent pid. */
function n8nProcesses(): Array<{ pid: number; cwd: string; parentPid: number }> {
	const found: Array<{ pid: number; cwd: string; parentPid: number }> = [];
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
			if (!argv.includes('start') || !argv.some((arg) => arg.endsWith('/n8n/bin/n8n'))) continue;
			// /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ')'.
			const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
			const parentPid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
			found.push({ pid: Number(entry), cwd: readlinkSync(`/proc/${entry}/cwd`), parentPid });
		} catch {
			// The process ended while we looked, or is not ours to read.
		}
	}
	return found;
}

export function findN8nPid(userFolder: string): number | null {
	return n8nProcesses().find((candidate) => candidate.cwd === userFolder)?.pid ?? null;
}

/** The `n8n start` processes this process started (to end them if it exits without cleaning up). */
export function childN8nPids(parentPid = process.pid): number[] {
	return n8nProcesses()
		.filter((child) => child.parentPid === parentPid)
		.map((child) => child.pid);
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
