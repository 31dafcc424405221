import { expect, test } from 'bun:test';
import { parseContentDisposition } from './content-disposition.ts';

test.each([
  ['attachment; filename="a \\"b\\".zip"', 'attachment', 'a "b".zip'],
  ["attachment; filename=plain.bin; filename*=UTF-8''%E2%82%AC%20rates.pdf", 'attachment', '€ rates.pdf'],
  ["ATTACHMENT; filename*=iso-8859-1'en'caf%E9.txt", 'attachment', 'café.txt'],
  ["attachment; filename*=UTF-8''%E0%A4%A; filename=fallback.zip", 'attachment', 'fallback.zip'],
  ['inline; filename=report.pdf', 'inline', 'report.pdf'],
  ['attachment', 'attachment', null],
])('%s', (value, type, fileName) => {
  expect(parseContentDisposition(value)).toEqual({ type, fileName });
});
