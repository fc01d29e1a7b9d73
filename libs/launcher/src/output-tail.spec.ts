import { describe, expect, it } from 'vitest';
import { OutputTail } from './output-tail.js';

describe('OutputTail', () => {
  it('keeps everything under the limit, in order', () => {
    const tail = new OutputTail(100);
    tail.push(Buffer.from('one\n'));
    tail.push(Buffer.from('two\n'));
    expect(tail.text).toBe('one\ntwo\n');
    tail.push(Buffer.from('three\n'));
    expect(tail.text).toBe('one\ntwo\nthree\n');
  });

  it('keeps the last `limit` characters of a long output', () => {
    const tail = new OutputTail(10);
    for (let i = 0; i < 1000; i++) tail.push(Buffer.from(`line ${i}\n`));
    expect(tail.text).toBe('\nline 999\n');
  });

  it('joins a character split across chunks', () => {
    const tail = new OutputTail(100);
    const bytes = Buffer.from('fromage affiné\n');
    tail.push(bytes.subarray(0, 14));
    tail.push(bytes.subarray(14));
    expect(tail.text).toBe('fromage affiné\n');
  });
});
