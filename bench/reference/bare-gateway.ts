/**
 * The floor under the gateway bars: `POST /v1/cheese/orders` on bare Fastify
 * with a bare grpc-js client of cheese-service, and only what any gateway
 * must do per request: parse and check the JSON body (Fastify's compiled
 * schema), make the call, answer its JSON, and write the gateway's own
 * request line (installHttpRequestLog, the production logger at info). No
 * Nest, no guards, ids, metrics, security headers, CORS or retries.
 *
 * Env: PORT (required), CHEESE_GRPC_URL (required). Prints "listening <port>".
 */
import { fastify } from 'fastify';
import { createGrpcClient } from '#grpc';
import { createAppLogger, installHttpRequestLog } from '#observability';
import { cheesefarm } from '#proto';
import type { OrderClient } from '../support/grpc-clients.js';

const { CheeseType } = cheesefarm;
const cheese = createGrpcClient('cheese', process.env.CHEESE_GRPC_URL!) as OrderClient;
const typeNames = Object.keys(CheeseType).filter(
  (key) => Number.isNaN(Number(key)) && key !== 'UNRECOGNIZED',
) as (keyof typeof CheeseType)[];

const app = fastify();
installHttpRequestLog(app, createAppLogger('bare-gateway', 'info'));
app.post<{ Body: { type: keyof typeof CheeseType } }>(
  '/v1/cheese/orders',
  {
    schema: {
      body: {
        type: 'object',
        required: ['type'],
        properties: { type: { type: 'string', enum: typeNames } },
      },
    },
  },
  (request, reply) => {
    cheese.order({ type: CheeseType[request.body.type] }, (err, answer) => {
      if (err || !answer) void reply.code(502).send({ message: err?.message });
      else void reply.send({ type: CheeseType[answer.type], age: answer.age });
    });
  },
);
const port = Number(process.env.PORT);
await app.listen({ host: '127.0.0.1', port });
console.log(`listening ${port}`);
// Exit normally on SIGTERM, so that --cpu-prof (BENCH_PROFILE) writes its profile.
process.once('SIGTERM', () => {
  cheese.close();
  void app.close().then(() => process.exit(0));
});
