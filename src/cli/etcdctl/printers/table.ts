/**
 * `-w table`: the ASCII tables etcdctl draws (olekukonko/tablewriter layout: headers upper-cased
 * and centred, cells right-aligned, `+---+` borders). Only member list and endpoint
 * status/health have a table form; everything else is "table not supported as output format".
 */
import type { Decoded, MemberListResponse } from '../messages.js';
import { endpointHealthRows, endpointStatusRows, memberListRows, UnsupportedPrinter, type EndpointHealth,
  type EndpointStatus, type Output } from './printer.js';

const width = (s: string): number => [...s].length;

/** Render a table as tablewriter does with ALIGN_RIGHT. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = header.map((h) => h.toUpperCase().replace(/_/g, ' '));
  const widths = head.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const border = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+\n';
  const center = (s: string, w: number): string => {
    const pad = w - width(s);
    const left = Math.floor(pad / 2);
    return ' '.repeat(left) + s + ' '.repeat(pad - left);
  };
  let out = border;
  out += '|' + head.map((h, i) => ` ${center(h, widths[i]!)} `).join('|') + '|\n';
  out += border;
  for (const r of rows) {
    out += '|' + widths.map((w, i) => ` ${(r[i] ?? '').padStart(w + (r[i] ?? '').length - width(r[i] ?? ''))} `).join('|') + '|\n';
  }
  out += border;
  return out;
}

export class TablePrinter extends UnsupportedPrinter {
  constructor(private readonly out: Output) {
    super('table');
  }

  override memberList(r: Decoded<MemberListResponse>): void {
    const t = memberListRows(r.msg);
    this.out.stdout(renderTable(t.header, t.rows));
  }

  override endpointStatus(list: readonly EndpointStatus[]): void {
    const t = endpointStatusRows(list);
    this.out.stdout(renderTable(t.header, t.rows));
  }

  override endpointHealth(list: readonly EndpointHealth[]): void {
    const t = endpointHealthRows(list);
    this.out.stdout(renderTable(t.header, t.rows));
  }
}
