/** Output of a suite run: the Markdown table and the SVG chart of the ratios. */
import type { SummaryRow } from './summary.js';
import { formatFigure, formatRatio } from './summary.js';

export interface RunInfo {
  date: string;
  machine: string;
  command: string;
  versions: Record<string, string>;
  rounds: number;
  notes: string[];
}

export function markdownTable(rows: readonly SummaryRow[]): string {
  const out = ['| case | figure | etcd (median) | etcd-ts (median) | etcd-ts / etcd | rounds etcd / etcd-ts |', '|---|---|---|---|---|---|'];
  for (const r of rows) {
    const better = r.higherIsBetter ? 'higher is better' : 'lower is better';
    out.push(`| ${r.caseLabel} | ${r.figureLabel} (${better}) | ${formatFigure(r.median['etcd'], r.unit)} | ${formatFigure(r.median['etcd-ts'], r.unit)} | ${formatRatio(r.ratio)} | ${r.samples['etcd'] ?? 0} / ${r.samples['etcd-ts'] ?? 0} |`);
  }
  return out.join('\n');
}

export function markdownReport(info: RunInfo, rows: readonly SummaryRow[], chartPath: string): string {
  const lines = [
    `Run ${info.date} on ${info.machine}.`,
    '',
    `Command: \`${info.command}\``,
    '',
    `Versions: ${Object.entries(info.versions).map(([k, v]) => `${k} ${v}`).join('; ')}. Rounds: ${info.rounds} (A B A B), medians.`,
    '',
    markdownTable(rows),
    '',
    `![etcd-ts / etcd per figure](${chartPath})`,
  ];
  for (const n of info.notes) lines.push('', `- ${n}`);
  return lines.join('\n');
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Horizontal bars of etcd-ts / etcd, "better" normalised so that right of 1.0 is always
 * better for etcd-ts (latency and size ratios are inverted), log scale from 0.1x to 10x.
 */
export function ratioChartSvg(rows: readonly SummaryRow[], title: string): string {
  const width = 760;
  const labelW = 330;
  const barH = 18;
  const top = 40;
  const h = top + rows.length * (barH + 6) + 40;
  const plotW = width - labelW - 30;
  const x = (r: number): number => labelW + ((Math.log10(Math.min(10, Math.max(0.1, r))) + 1) / 2) * plotW;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  rows.forEach((r, i) => {
    const y = top + i * (barH + 6);
    const better = Number.isFinite(r.ratio) ? (r.higherIsBetter ? r.ratio : 1 / r.ratio) : NaN;
    parts.push(`<text x="${labelW - 8}" y="${y + 13}" text-anchor="end">${esc(`${r.caseLabel}: ${r.figureLabel}`)}</text>`);
    if (Number.isFinite(better)) {
      const x0 = x(1);
      const x1 = x(better);
      const color = better >= 1 ? '#2a9d4b' : '#d1495b';
      parts.push(`<rect x="${Math.min(x0, x1)}" y="${y}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${barH}" fill="${color}"/>`);
      parts.push(`<text x="${Math.max(x0, x1) + 4}" y="${y + 13}">${better.toFixed(2)}x</text>`);
    } else {
      parts.push(`<text x="${x(1) + 4}" y="${y + 13}" fill="#888">no etcd-ts figure</text>`);
    }
  });
  const axisY = top + rows.length * (barH + 6) + 4;
  for (const t of [0.1, 0.5, 1, 2, 10]) {
    parts.push(`<line x1="${x(t)}" y1="${top - 4}" x2="${x(t)}" y2="${axisY}" stroke="${t === 1 ? '#000' : '#ddd'}"/>`);
    parts.push(`<text x="${x(t)}" y="${axisY + 14}" text-anchor="middle">${t}x</text>`);
  }
  parts.push(`<text x="${labelW}" y="${axisY + 30}" fill="#555">right of 1x: etcd-ts better (throughput ratio; latency, memory, time inverted)</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

/** Replaces the text between the begin/end markers of a document (appends them if absent). */
export function replaceBetweenMarkers(doc: string, begin: string, end: string, body: string): string {
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  if (i < 0 || j < i) return `${doc.trimEnd()}\n\n${begin}\n${body}\n${end}\n`;
  return `${doc.slice(0, i + begin.length)}\n${body}\n${doc.slice(j)}`;
}
