import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { MethodDefinition } from '@grpc/grpc-js';
import { cheesefarm, grpcServiceName, loadServiceProto } from '#proto';
import { percentileSorted } from './stats.js';

const run = promisify(execFile);

/** The RPC all unary runs make: `Order(BRIE)`. */
export const ORDER_PATH = `/${grpcServiceName('cheese')}/Order`;
const ORDER_TYPE = cheesefarm.CheeseType.BRIE;

function orderMethod(): MethodDefinition<cheesefarm.CheeseRequest, cheesefarm.Cheese> {
  const service = loadServiceProto('cheese')[grpcServiceName('cheese')] as Record<
    string,
    MethodDefinition<cheesefarm.CheeseRequest, cheesefarm.Cheese>
  >;
  return service.Order;
}

/** gRPC's length-prefixed framing: flag 0 (not compressed), 4-byte big-endian length, message. */
function grpcFrame(message: Buffer): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  return frame;
}

/**
 * The request body h2load sends: `CheeseRequest{type: BRIE}` encoded with the
 * apps' own loader, and the exact size of every valid answer's DATA:
 * `Cheese{age, type: BRIE}` is 9 bytes framed for any age below 128 (BRIE
 * ages 28-70 days; the talk's server answers 1-100). A gRPC error is HTTP 200
 * with no DATA, so "data bytes = requests x 9" proves every call succeeded.
 */
export async function orderBody(dir: string): Promise<{ file: string; answerBytes: number }> {
  const method = orderMethod();
  const file = join(dir, 'order-brie.grpc');
  await writeFile(file, grpcFrame(method.requestSerialize({ type: ORDER_TYPE })));
  const answer = method.responseSerialize({ age: 70, type: ORDER_TYPE });
  return { file, answerBytes: 5 + answer.length };
}

export interface H2loadOptions {
  url: string;
  body: { file: string; answerBytes: number };
  connections: number;
  /** Concurrent streams per connection (-m). */
  streams: number;
  requests: number;
  /** Scratch directory for the per-request log. */
  dir: string;
}

export interface LoadResult {
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

/** One h2load run of unary gRPC calls; rejects unless every call answered a valid message. */
export async function h2load(h2loadPath: string, o: H2loadOptions): Promise<LoadResult> {
  const log = join(o.dir, `h2load-${process.pid}-${Date.now()}.log`);
  const { stdout } = await run(
    h2loadPath,
    [
      ...['-n', String(o.requests), '-c', String(o.connections), '-m', String(o.streams)],
      ...['-d', o.body.file, '-H', 'content-type: application/grpc', '-H', 'te: trailers'],
      `--log-file=${log}`,
      o.url,
    ],
    { maxBuffer: 16 * 1024 * 1024, timeout: 600_000 },
  );
  const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? NaN);
  const succeeded = num(/(\d+) succeeded/);
  const ok2xx = num(/status codes: (\d+) 2xx/);
  const data = num(/\((\d+)\) data/);
  if (
    succeeded !== o.requests ||
    ok2xx !== o.requests ||
    data !== o.requests * o.body.answerBytes
  ) {
    throw new Error(
      `h2load: ${succeeded}/${o.requests} succeeded, ${ok2xx} 2xx, ${data} data bytes ` +
        `(valid answers: ${o.requests * o.body.answerBytes}); gRPC errors or bad answers\n${stdout}`,
    );
  }
  const latencies = await readLatencies(log);
  await rm(log, { force: true });
  return {
    requests: o.requests,
    rps: num(/finished in [\d.]+m?s, ([\d.]+) req\/s/),
    p50Ms: percentileSorted(latencies, 50),
    p99Ms: percentileSorted(latencies, 99),
  };
}

/** Per-request durations (third column, µs) of an h2load --log-file, in ms, sorted. */
async function readLatencies(file: string): Promise<Float64Array> {
  const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
  const ms = Float64Array.from(lines, (line) => Number(line.split('\t')[2]) / 1000);
  return ms.sort();
}
