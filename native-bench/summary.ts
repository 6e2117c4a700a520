/**
 * From the per-round records to medians and ratios etcd-ts / etcd. Pure, unit-tested.
 */
import { median, ratio } from '../bench/stats.js';
import type { ServerKind } from './args.js';
import type { Case } from './suite.js';

export interface RoundRecord {
  round: number;
  server: ServerKind;
  caseId: string;
  figures?: Record<string, number>;
  error?: string;
}

export interface SummaryRow {
  caseId: string;
  caseLabel: string;
  figure: string;
  figureLabel: string;
  unit: string;
  higherIsBetter: boolean;
  median: Partial<Record<ServerKind, number>>;
  samples: Partial<Record<ServerKind, number>>;
  /** etcd-ts / etcd, NaN when either is missing */
  ratio: number;
}

export function summarizeRecords(cases: readonly Case[], records: readonly RoundRecord[], servers: readonly ServerKind[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const c of cases) {
    for (const f of c.figures) {
      const med: Partial<Record<ServerKind, number>> = {};
      const n: Partial<Record<ServerKind, number>> = {};
      for (const s of servers) {
        const vals = records
          .filter((r) => r.caseId === c.id && r.server === s && r.figures && Number.isFinite(r.figures[f.key]))
          .map((r) => r.figures![f.key]!);
        n[s] = vals.length;
        med[s] = median(vals);
      }
      rows.push({
        caseId: c.id, caseLabel: c.label, figure: f.key, figureLabel: f.label, unit: f.unit, higherIsBetter: f.higherIsBetter,
        median: med, samples: n, ratio: ratio(med['etcd-ts'] ?? NaN, med['etcd'] ?? NaN),
      });
    }
  }
  return rows;
}

/** Human formatting of one figure: 11,400/s, 0.58 ms, 521 MB. */
export function formatFigure(v: number | undefined, unit: string): string {
  if (v === undefined || !Number.isFinite(v)) return 'n/a';
  if (unit === '/s') return `${Math.round(v).toLocaleString('en-US')}/s`;
  if (unit === '') return v.toFixed(3);
  const digits = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })} ${unit}`;
}

export function formatRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}x` : 'n/a';
}
