// predict's output formats. Every photo gets its record, in input order, a failed one with its
// error: a reader of the stream sees each input accounted for.
import type { Prediction } from '../labels.js';

export type Row = { file: string; predictions: Prediction[]; error?: undefined } | { file: string; error: string };

export type FormatName = 'table' | 'jsonl' | 'csv';
export const FORMATS: readonly FormatName[] = ['table', 'jsonl', 'csv'];

/** Text for one photo (ending in a newline), and the text that comes before the first. */
export interface Format {
  header: string;
  row(row: Row): string;
}

export function format(name: FormatName, top: number): Format {
  switch (name) {
    case 'table':
      return { header: '', row: table };
    case 'jsonl':
      return { header: '', row: (row) => `${JSON.stringify(row)}\n` };
    case 'csv':
      return csv(top);
  }
}

/** The photo's name, then a line per class: label and probability, aligned. */
function table(row: Row): string {
  if (row.error !== undefined) return `${row.file}\n  error: ${row.error}\n`;
  const width = Math.max(...row.predictions.map((p) => p.label.length));
  return `${row.file}\n${row.predictions.map((p) => `  ${p.label.padEnd(width)}  ${(p.probability * 100).toFixed(1).padStart(5)}%\n`).join('')}`;
}

/** One line per photo (RFC 4180): file, then label, index and probability of each rank, then error. */
function csv(top: number): Format {
  const ranks = Array.from({ length: top }, (_, i) => i + 1);
  const header = ['file', ...ranks.flatMap((r) => [`label_${r}`, `index_${r}`, `probability_${r}`]), 'error'];
  return {
    header: `${header.join(',')}\r\n`,
    row(row) {
      const classes = ranks.flatMap((_, i) => {
        const p = row.error === undefined ? row.predictions[i] : undefined;
        return p ? [p.label, String(p.index), String(p.probability)] : ['', '', ''];
      });
      return `${[row.file, ...classes, row.error ?? ''].map(csvField).join(',')}\r\n`;
    },
  };
}

const csvField = (value: string) => (/[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);
