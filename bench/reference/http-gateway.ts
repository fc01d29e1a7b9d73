/**
 * The least any Node HTTP → gRPC gateway can do, below the floor: node:http
 * and a bare grpc-js client of cheese-service, the JSON body parsed, the call
 * made, its answer written as JSON. No framework, no schema, no request line.
 * A row of the gateway bench without a bar: what its p99 reaches on this
 * machine bounds what any gateway written in Node can.
 *
 * Env: PORT (required), CHEESE_GRPC_URL (required). Prints "listening <port>".
 */
import { createServer, type ServerResponse } from 'node:http';
import { createGrpcClient } from '#grpc';
import { cheeseTypeName, cheeseTypeNumber } from '../../apps/gateway/src/cheese/cheese-types.js';
import type { OrderClient } from '../support/grpc-clients.js';

const cheese = createGrpcClient('cheese', process.env.CHEESE_GRPC_URL!) as OrderClient;

function answer(res: ServerResponse, status: number, body: object): void {
  const json = JSON.stringify(body);
  res
    .writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(json),
    })
    .end(json);
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let type: number | undefined;
    try {
      type = cheeseTypeNumber(
        (JSON.parse(Buffer.concat(chunks).toString()) as { type: string }).type,
      );
    } catch {
      // type stays undefined: a 400 below.
    }
    if (req.url !== '/v1/cheese/orders' || req.method !== 'POST' || type === undefined) {
      answer(res, 400, { message: 'POST /v1/cheese/orders {"type": <cheese type>}' });
      return;
    }
    cheese.order({ type }, (err, order) => {
      if (err || !order) answer(res, 502, { message: err?.message });
      else answer(res, 200, { type: cheeseTypeName(order.type), age: order.age });
    });
  });
});
const port = Number(process.env.PORT);
server.listen(port, '127.0.0.1', () => console.log(`listening ${port}`));
// Exit normally on SIGTERM, so that --cpu-prof (BENCH_PROFILE) writes its profile.
process.once('SIGTERM', () => {
  cheese.close();
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
