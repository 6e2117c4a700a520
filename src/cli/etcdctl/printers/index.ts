/** Picks the printer for `-w`. */
import { FieldsPrinter } from './fields.js';
import { JsonPrinter } from './json.js';
import type { Output, Printer } from './printer.js';
import { ProtobufPrinter } from './protobuf.js';
import { SimplePrinter } from './simple.js';
import { TablePrinter } from './table.js';

export const OUTPUT_FORMATS = ['fields', 'json', 'protobuf', 'simple', 'table'] as const;

/** The printer for a format, or undefined if etcdctl has no such format. */
export function newPrinter(format: string, out: Output, opts: { isHex: boolean; valueOnly: boolean }): Printer | undefined {
  switch (format) {
    case 'simple':
      return new SimplePrinter(out, opts.isHex, opts.valueOnly);
    case 'json':
      return new JsonPrinter(out);
    case 'fields':
      return new FieldsPrinter(out);
    case 'table':
      return new TablePrinter(out);
    case 'protobuf':
      return new ProtobufPrinter(out);
    default:
      return undefined;
  }
}
