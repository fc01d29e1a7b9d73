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
import {
  CHEESE_TYPES,
  cheeseTypeName,
  cheeseTypeNumber,
} from '../../apps/gateway/src/cheese/cheese-types.js';
import type { OrderClient } from '../support/grpc-clients.js';

const cheese = createGrpcClient('cheese', process.env.CHEESE_GRPC_URL!) as OrderClient;

const app = fastify();
installHttpRequestLog(app, createAppLogger('bare-gateway', 'info'));
app.post<{ Body: { type: string } }>(
  '/v1/cheese/orders',
  {
    schema: {
      body: {
        type: 'object',
        required: ['type'],
        properties: { type: { type: 'string', enum: CHEESE_TYPES.map((t) => t.name) } },
      },
    },
  },
  (request, reply) => {
    // The schema admits only known names.
    cheese.order({ type: cheeseTypeNumber(request.body.type)! }, (err, answer) => {
      if (err || !answer) void reply.code(502).send({ message: err?.message });
      else void reply.send({ type: cheeseTypeName(answer.type), age: answer.age });
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
