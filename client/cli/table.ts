// Aligned text tables for the human output of inspect, status and queues: a header row, then one
// row per record, columns padded to their widest cell. Pure; the commands decide the columns.

/** One column: its header and whether its cells line up on the right (numbers). */
export interface Column {
  readonly header: string;
  readonly align?: 'left' | 'right';
}

/** Space between two columns. */
const GAP = '  ';

/**
 * Renders `rows` under `columns` as lines ending in '\n'. A missing cell is blank; a cell longer
 * than the others widens its whole column (never cut: an id or a queue name must be copyable).
 * The last column is not padded, so lines carry no trailing spaces.
 */
export function renderTable(columns: readonly Column[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => columns.map((c, i) => {
    const cell = cells[i] ?? '';
    if (c.align === 'right') return cell.padStart(widths[i]!);
    return i === columns.length - 1 ? cell : cell.padEnd(widths[i]!);
  }).join(GAP).trimEnd();
  return [columns.map((c) => c.header), ...rows].map((r) => `${line(r)}\n`).join('');
}

/** A count with thousands separators (12345 -> '12,345'), the same in every locale. */
export function formatCount(n: number): string {
  return Math.trunc(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Seconds as '45s', '12m 5s', '3h 20m', '2d 4h': an uptime or a running time at a glance. */
export function formatSeconds(total: number): string {
  const s = Math.max(0, Math.floor(total));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}
