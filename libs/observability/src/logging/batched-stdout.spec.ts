import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { closeSync, createWriteStream, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchedStdout } from './batched-stdout.js';

type Reader = ChildProcessByStdio<Writable, Readable, null>;
const readers: Reader[] = [];
const files: { dir: string; fd: number; out: BatchedStdout }[] = [];
afterEach(() => {
  for (const reader of readers.splice(0)) reader.kill('SIGKILL');
  for (const { dir, fd, out } of files.splice(0)) {
    // Nothing left pending, to be written later to whatever reuses the fd.
    out.flush();
    closeSync(fd);
    rmSync(dir, { recursive: true });
  }
});

/**
 * A child reading its stdin (`cat` by default), and what it has printed;
 * `fd` and `reader.stdin` are our end, as an app's stdout is the end of a pipe its parent reads.
 */
function pipeReader(command = 'exec cat'): { reader: Reader; fd: number; read: () => string } {
  const reader = spawn('sh', ['-c', command], { stdio: ['pipe', 'pipe', 'ignore'] });
  readers.push(reader);
  const chunks: Buffer[] = [];
  reader.stdout.on('data', (d: Buffer) => chunks.push(d));
  const fd = (reader.stdin as unknown as { _handle: { fd: number } })._handle.fd;
  // Decoded whole: a chunk may end inside a character.
  return { reader, fd, read: () => Buffer.concat(chunks).toString() };
}

/** A file as stdout: what was written to it can be read back at any moment, synchronously. */
function fileOut(): { out: BatchedStdout; read: () => string } {
  const dir = mkdtempSync(join(tmpdir(), 'batched-stdout-'));
  const path = join(dir, 'stdout');
  const fd = openSync(path, 'w');
  const out = new BatchedStdout(fd, createWriteStream(path, { fd, autoClose: false }));
  files.push({ dir, fd, out });
  return { out, read: () => readFileSync(path, 'utf8') };
}

const line = (i: number) => `{"n":${i},"msg":"line ${i} ${'é'.repeat(i % 7)}"}\n`;
const lines = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => line(from + i)).join('');

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(10);
  }
}

describe("BatchedStdout (pino destination), writing a child's stdin or a file", () => {
  it('writes every line whole and in order, many lines a turn', async () => {
    const { reader, fd, read } = pipeReader();
    const out = new BatchedStdout(fd, reader.stdin);
    for (let turn = 0; turn < 50; turn++) {
      for (let i = 0; i < 20; i++) out.write(line(turn * 20 + i));
      await new Promise(setImmediate);
    }
    await until(() => read().endsWith(line(999)));
    expect(read()).toBe(lines(0, 1000));
  });

  it('writes more than its buffer holds whole and in order, a line longer than the buffer too', async () => {
    const { reader, fd, read } = pipeReader();
    const out = new BatchedStdout(fd, reader.stdin);
    // 80 KB of two-byte characters in one line, after 3 000 lines: 210 KB, where the buffer has 64 KiB.
    const long = `{"msg":"${'é'.repeat(40_000)}"}\n`;
    for (let i = 0; i < 3000; i++) out.write(line(i));
    out.write(long);
    await new Promise(setImmediate);
    for (let i = 3000; i < 3020; i++) out.write(line(i));
    await until(() => read().endsWith(line(3019)));
    expect(read()).toBe(lines(0, 3000) + long + lines(3000, 3020));
  });

  it('holds a line past the end of its turn, then writes it, the next line after it', async () => {
    const { out, read } = fileOut();
    out.write(line(0));
    await new Promise(setImmediate);
    // The turn has ended (its setImmediate callbacks have run): nothing written yet.
    expect(read()).toBe('');
    out.write(line(1));
    await until(() => read() === lines(0, 2));
  });

  it('writes at once when its buffer is full, without waiting for the interval', () => {
    const { out, read } = fileOut();
    // 5 000 lines, 178 KB, in one turn: the buffer (64 KiB) fills twice.
    for (let i = 0; i < 5000; i++) out.write(line(i));
    const written = read();
    expect(Buffer.byteLength(written)).toBeGreaterThan(120_000);
    expect(lines(0, 5000).startsWith(written)).toBe(true);
    out.flush();
    expect(read()).toBe(lines(0, 5000));
  });

  it('does not block the event loop on a full pipe, and writes everything once it drains', async () => {
    const { reader, fd, read } = pipeReader();
    const out = new BatchedStdout(fd, reader.stdin);
    reader.kill('SIGSTOP');
    // 1.7 MB, more than the pipe holds (64 KiB; a socket pair, as here, a few
    // hundred), while nothing reads it. Were the writes blocking, this loop
    // would wait for the reader for ever.
    for (let turn = 0; turn < 40; turn++) {
      for (let i = 0; i < 1000; i++) out.write(line(turn * 1000 + i));
      await new Promise(setImmediate);
    }
    expect(read().length).toBe(0);
    // What the pipe could not take is queued, to be written as it drains.
    expect(reader.stdin.writableLength).toBeGreaterThan(0);
    out.write(line(40_000));
    await new Promise(setImmediate);
    reader.kill('SIGCONT');
    const all = lines(0, 40_001);
    await until(() => read().endsWith(line(40_000)));
    expect(read()).toBe(all);
    // Drained: a later line follows them.
    out.write(line(40_001));
    await until(() => read().endsWith(line(40_001)));
    expect(read()).toBe(all + line(40_001));
  }, 30_000);

  it('stops writing, without an error, when the reader is gone (EPIPE)', async () => {
    // The reader closes its end and lives on (were it to exit, Node would close ours).
    const { reader, fd, read } = pipeReader('exec 0<&-; echo closed; exec sleep 60');
    const out = new BatchedStdout(fd, reader.stdin);
    await until(() => read() === 'closed\n');
    for (let turn = 0; turn < 5; turn++) {
      out.write(line(turn));
      out.flush();
      await new Promise(setImmediate);
    }
    // Nothing thrown (the test would fail), nothing kept for later.
    expect(reader.stdin.writableLength).toBe(0);
    expect(reader.exitCode).toBeNull();
  });
});
