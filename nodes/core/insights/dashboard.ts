/**
 * The operations dashboard as one self-contained HTML page: inline CSS and SVG drawn here, no
 * script, no CDN, no web font; its Content-Security-Policy forbids loading anything else. Every
 * value that came from outside (session IDs, model names, channels, error classes) goes through
 * `escapeHtml`, in text and in attributes alike.
 */
import { daysFrom } from './period';
import type { LatencyFigures, UsageFigures, UsageGroup } from './report';
import type { SessionActivity } from './store';

export interface DashboardData {
	title: string;
	generatedAt: number;
	fromDay: string;
	toDay: string;
	totals: UsageFigures;
	byDayAndChannel: UsageGroup[];
	byChannel: UsageGroup[];
	byModel: UsageGroup[];
	errors: Array<{ stage: 'answer' | 'delivery'; channel: string; errorClass: string; count: number }>;
	busiestSessions: SessionActivity[];
	/** Windows and the sessions seen within each (5m, 1h, 24h). */
	activeSessions: Array<[string, number]>;
	/** Models without a price: their tokens are not in the cost. */
	unpricedModels: string[];
	/** Seconds between reloads; 0 for none. */
	refreshSeconds: number;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: unknown): string {
	return String(value ?? '').replace(/[&<>"']/g, (character) => ESCAPES[character]);
}

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

const integer = (value: number) => Math.round(value).toLocaleString('en-US');
/** Dollars to the cent, and to six places below a cent, so a day of small-model traffic does not read $0.00. */
export const usd = (value: number) => `$${value === 0 ? '0.00' : value < 0.01 ? value.toFixed(6) : value < 1 ? value.toFixed(4) : value.toFixed(2)}`;
const ms = (value: number | null) => (value === null ? '–' : value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${integer(value)} ms`);

function tile(name: string, label: string, value: string, detail = ''): string {
	return `<div class="tile"><div class="label">${escapeHtml(label)}</div><div class="value" data-figure="${escapeHtml(name)}">${escapeHtml(value)}</div>${detail ? `<div class="detail">${escapeHtml(detail)}</div>` : ''}</div>`;
}

function latencyCells(figures: LatencyFigures, prefix: string): string {
	return `<td data-col="${prefix}P50">${escapeHtml(ms(figures.p50Ms))}</td><td data-col="${prefix}P95">${escapeHtml(ms(figures.p95Ms))}</td>`;
}

/** Messages per day, one stacked bar per day, a colour per channel. */
function throughputChart(data: DashboardData, colours: Map<string, string>): string {
	const days = daysFrom(data.fromDay, data.toDay);
	const perDay = days.map((day) => data.byDayAndChannel.filter((group) => group.day === day));
	const max = Math.max(1, ...perDay.map((groups) => groups.reduce((sum, group) => sum + group.messages, 0)));
	const width = 720;
	const height = 200;
	const left = 40;
	const bottom = 24;
	const slot = (width - left) / Math.max(days.length, 1);
	const bar = Math.max(2, Math.min(40, slot * 0.7));
	const scale = (height - bottom - 10) / max;
	const parts: string[] = [];
	for (const tick of [0, 0.5, 1]) {
		const y = height - bottom - tick * max * scale;
		parts.push(`<line x1="${left}" x2="${width}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" class="grid"/><text x="${left - 6}" y="${(y + 4).toFixed(1)}" class="axis" text-anchor="end">${escapeHtml(integer(tick * max))}</text>`);
	}
	days.forEach((day, index) => {
		const x = left + index * slot + (slot - bar) / 2;
		let y = height - bottom;
		for (const group of perDay[index]) {
			if (!group.messages) continue;
			const h = group.messages * scale;
			y -= h;
			parts.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${bar.toFixed(1)}" height="${h.toFixed(1)}" fill="${colours.get(group.channel ?? '') ?? PALETTE[0]}"><title>${escapeHtml(`${day} ${group.channel}: ${group.messages} messages`)}</title></rect>`);
		}
		if (days.length <= 14 || index % Math.ceil(days.length / 14) === 0) {
			parts.push(`<text x="${(x + bar / 2).toFixed(1)}" y="${height - 6}" class="axis" text-anchor="middle">${escapeHtml(day.slice(5))}</text>`);
		}
	});
	return `<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="Messages per day by channel" data-chart="throughput">${parts.join('')}</svg>`;
}

/** Horizontal bars: one row per label, one or two values (drawn side by side as two shades). */
function barChart(name: string, label: string, rows: Array<{ label: string; values: number[]; text: string }>, colours: string[]): string {
	if (rows.length === 0) return '<p class="empty">No data in this period.</p>';
	const width = 720;
	const rowHeight = 26;
	const left = 170;
	const right = 150;
	const max = Math.max(1, ...rows.map((row) => row.values.reduce((sum, value) => sum + value, 0)));
	const scale = (width - left - right) / max;
	const parts = rows.map((row, index) => {
		const y = index * rowHeight + 4;
		let x = left;
		const bars = row.values.map((value, part) => {
			const w = value * scale;
			const rect = `<rect x="${x.toFixed(1)}" y="${y}" width="${Math.max(w, value > 0 ? 1 : 0).toFixed(1)}" height="${rowHeight - 8}" fill="${colours[part % colours.length]}"/>`;
			x += w;
			return rect;
		});
		return `<text x="${left - 8}" y="${y + 13}" class="axis" text-anchor="end">${escapeHtml(truncate(row.label, 26))}</text>${bars.join('')}<text x="${(x + 6).toFixed(1)}" y="${y + 13}" class="axis">${escapeHtml(row.text)}</text>`;
	});
	return `<svg viewBox="0 0 ${width} ${rows.length * rowHeight + 8}" role="img" aria-label="${escapeHtml(label)}" data-chart="${escapeHtml(name)}">${parts.join('')}</svg>`;
}

function truncate(text: string, length: number): string {
	return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

const STYLE = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1f2933}
header{background:#1f2933;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}header p{margin:2px 0 0;color:#cbd2d9;font-size:12px}
main{padding:16px 24px;max-width:1200px}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:12px;margin-bottom:16px}
.tile{background:#fff;border-radius:6px;padding:10px 12px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.tile .label{font-size:12px;color:#616e7c}.tile .value{font-size:22px;font-weight:600}.tile .detail{font-size:12px;color:#616e7c}
section{background:#fff;border-radius:6px;padding:12px 16px;margin-bottom:16px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
section h2{font-size:15px;margin:0 0 8px}
table{border-collapse:collapse;width:100%}th,td{text-align:right;padding:4px 8px;border-bottom:1px solid #e4e7eb;white-space:nowrap}
th:first-child,td:first-child{text-align:left}td.id{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:normal;word-break:break-all}
svg{width:100%;max-width:960px;height:auto}.grid{stroke:#e4e7eb}.axis{font-size:11px;fill:#616e7c}
.legend span{display:inline-block;margin-right:12px;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.empty{color:#9aa5b1}.note{font-size:12px;color:#616e7c}
`;

export function renderDashboard(data: DashboardData): string {
	const { totals } = data;
	const channels = [...new Set(data.byChannel.map((group) => group.channel ?? ''))];
	const colours = new Map(channels.map((channel, index) => [channel, PALETTE[index % PALETTE.length]]));
	const legend = channels.map((channel) => `<span><i style="background:${colours.get(channel)}"></i>${escapeHtml(channel)}</span>`).join('');
	const tiles = [
		tile('messages', 'Messages', integer(totals.messages), `${integer(totals.answered)} answered by a model`),
		tile('errors', 'Errors', integer(totals.errors), `${integer(totals.deliveryFailures)} failed deliveries`),
		tile('tokens', 'Tokens', integer(totals.totalTokens), `${integer(totals.promptTokens)} prompt · ${integer(totals.completionTokens)} completion`),
		tile('cost', 'Estimated cost', usd(totals.estimatedCostUsd)),
		tile('turnP50', 'Turn latency p50', ms(totals.turnLatency.p50Ms), `p95 ${ms(totals.turnLatency.p95Ms)}`),
		tile('modelP95', 'Model latency p95', ms(totals.modelLatency.p95Ms), `p50 ${ms(totals.modelLatency.p50Ms)}`),
		tile('deliveries', 'Deliveries', integer(totals.deliveries), `p95 ${ms(totals.deliveryLatency.p95Ms)}`),
		...data.activeSessions.map(([window, count]) => tile(`active${window}`, `Active sessions (${window})`, integer(count))),
	].join('');
	const channelRows = data.byChannel
		.map(
			(group) =>
				`<tr data-channel="${escapeHtml(group.channel)}"><td>${escapeHtml(group.channel)}</td><td data-col="messages">${integer(group.messages)}</td><td data-col="answered">${integer(group.answered)}</td><td data-col="errors">${integer(group.errors)}</td><td data-col="tokens">${integer(group.totalTokens)}</td><td data-col="cost">${escapeHtml(usd(group.estimatedCostUsd))}</td>${latencyCells(group.turnLatency, 'turn')}<td data-col="deliveries">${integer(group.deliveries)}</td></tr>`,
		)
		.join('');
	const modelRows = data.byModel
		.filter((group) => group.model)
		.map(
			(group) =>
				`<tr data-model="${escapeHtml(group.model)}"><td>${escapeHtml(group.model)}</td><td data-col="answers">${integer(group.answered)}</td><td data-col="promptTokens">${integer(group.promptTokens)}</td><td data-col="completionTokens">${integer(group.completionTokens)}</td><td data-col="cost">${escapeHtml(usd(group.estimatedCostUsd))}</td>${latencyCells(group.modelLatency, 'model')}</tr>`,
		)
		.join('');
	const errorRows = data.errors
		.map((error) => `<tr><td>${escapeHtml(error.stage)}</td><td>${escapeHtml(error.channel)}</td><td>${escapeHtml(error.errorClass)}</td><td data-col="count">${integer(error.count)}</td></tr>`)
		.join('');
	const sessionRows = data.busiestSessions
		.map(
			(session) =>
				`<tr><td class="id" data-col="session">${escapeHtml(session.sessionId)}</td><td>${escapeHtml(session.channel)}</td><td data-col="messages">${integer(session.messages)}</td><td data-col="tokens">${integer(session.tokens)}</td><td data-col="errors">${integer(session.errors)}</td><td>${escapeHtml(new Date(session.lastSeen).toISOString().replace('T', ' ').slice(0, 19))} UTC</td></tr>`,
		)
		.join('');
	const table = (head: string[], rows: string, name: string) =>
		rows ? `<table data-table="${name}"><thead><tr>${head.map((cell) => `<th>${escapeHtml(cell)}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table>` : '<p class="empty">No data in this period.</p>';
	const tokenBars = barChart(
		'tokens',
		'Tokens per channel',
		data.byChannel.map((group) => ({ label: group.channel ?? '', values: [group.promptTokens, group.completionTokens], text: `${integer(group.totalTokens)} · ${usd(group.estimatedCostUsd)}` })),
		['#4e79a7', '#a0cbe8'],
	);
	const latencyBars = barChart(
		'latency',
		'Turn latency per channel, p50 and p95',
		data.byChannel.map((group) => ({ label: group.channel ?? '', values: [group.turnLatency.p50Ms ?? 0, Math.max(0, (group.turnLatency.p95Ms ?? 0) - (group.turnLatency.p50Ms ?? 0))], text: `p50 ${ms(group.turnLatency.p50Ms)} · p95 ${ms(group.turnLatency.p95Ms)}` })),
		['#59a14f', '#8cd17d'],
	);
	const unpriced = data.unpricedModels.length
		? `<p class="note">No price known for ${data.unpricedModels.map((model) => `<code>${escapeHtml(model)}</code>`).join(', ')}: their tokens are not in the cost. Add them under "Model Prices" in the Insights node.</p>`
		: '';
	return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="referrer" content="no-referrer">
${data.refreshSeconds > 0 ? `<meta http-equiv="refresh" content="${Math.round(data.refreshSeconds)}">` : ''}
<title>${escapeHtml(data.title)}</title><style>${STYLE}</style></head>
<body><header><h1>${escapeHtml(data.title)}</h1><p>${escapeHtml(`${data.fromDay} to ${data.toDay} (UTC) · generated ${new Date(data.generatedAt).toISOString().replace('T', ' ').slice(0, 19)} UTC · latency percentiles estimated from histogram buckets`)}</p></header>
<main>
<div class="tiles">${tiles}</div>
<section><h2>Throughput: messages per day</h2><div class="legend">${legend}</div>${throughputChart(data, colours)}</section>
<section><h2>Channels</h2>${table(['Channel', 'Messages', 'Answered', 'Errors', 'Tokens', 'Est. cost', 'Turn p50', 'Turn p95', 'Deliveries'], channelRows, 'channels')}</section>
<section><h2>Tokens and cost per channel</h2>${tokenBars}</section>
<section><h2>Turn latency per channel (p50, p95)</h2>${latencyBars}</section>
<section><h2>Models</h2>${table(['Model', 'Answers', 'Prompt tokens', 'Completion tokens', 'Est. cost', 'Model p50', 'Model p95'], modelRows, 'models')}${unpriced}</section>
<section><h2>Errors</h2>${table(['Stage', 'Channel', 'Class', 'Count'], errorRows, 'errors')}</section>
<section><h2>Busiest sessions</h2>${table(['Session', 'Channel', 'Messages', 'Tokens', 'Errors', 'Last seen'], sessionRows, 'sessions')}</section>
</main></body></html>
`;
}
