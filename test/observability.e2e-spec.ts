import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, freePort } from '#launcher';

/** A span as OTLP/HTTP JSON carries it (ids in hex). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
}
interface ReceivedSpan extends OtlpSpan {
  service: string;
}

// OTLP SpanKind numbers.
const SERVER = 2;
const CLIENT = 3;

/**
 * The in-memory exporter's other end: an OTLP/HTTP collector that keeps every
 * span it receives, with the `service.name` of the process that sent it.
 */
async function startOtlpCollector(): Promise<{
  server: Server;
  url: string;
  spans: ReceivedSpan[];
}> {
  const spans: ReceivedSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as {
          resourceSpans: {
            resource: { attributes: { key: string; value: { stringValue?: string } }[] };
            scopeSpans: { spans: OtlpSpan[] }[];
          }[];
        };
        for (const rs of body.resourceSpans) {
          const service =
            rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
          for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, service });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, spans };
}

const attr = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value && Object.values(value)[0];
};

/** The JSON log lines of an app's output (pretty output only goes to terminals). */
const logLines = (app: AppProcess) =>
  app.logs
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('request ids and traces from the gateway into the services', () => {
  let collector: Awaited<ReturnType<typeof startOtlpCollector>>;
  let cheese: AppProcess;
  let soccer: AppProcess;
  let gateway: AppProcess;
  let base: string;

  beforeAll(async () => {
    collector = await startOtlpCollector();
    const otel = {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    };
    const [cheesePort, soccerPort, httpPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    [cheese, soccer] = await Promise.all([
      AppProcess.start('cheese-service', {
        port: cheesePort,
        env: { CHEESE_GRPC_HOST: '127.0.0.1', ...otel },
      }),
      AppProcess.start('soccer-service', {
        port: soccerPort,
        env: { SOCCER_GRPC_HOST: '127.0.0.1', ...otel },
      }),
    ]);
    gateway = await AppProcess.start('gateway', {
      port: httpPort,
      env: {
        GATEWAY_HTTP_HOST: '127.0.0.1',
        CHEESE_GRPC_URL: `127.0.0.1:${cheesePort}`,
        SOCCER_GRPC_URL: `127.0.0.1:${soccerPort}`,
        ...otel,
      },
    });
    base = `http://127.0.0.1:${httpPort}`;
  });

  afterAll(async () => {
    await Promise.all([gateway?.stop(), cheese?.stop(), soccer?.stop()]);
    collector?.server.close();
  });

  it('carries a request id from HTTP through gRPC metadata into the service logs', async () => {
    const res = await fetch(`${base}/v1/cheese/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'order-42.e2e' },
      body: '{"type":"BRIE"}',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('order-42.e2e');

    await expect
      .poll(() => logLines(cheese).find((l) => l.reqId === 'order-42.e2e'))
      .toMatchObject({
        app: 'cheese-service',
        grpc: { method: 'cheesefarm.CheeseService/Order', type: 'unary', code: 'OK' },
        durationMs: expect.any(Number),
      });
    await expect
      .poll(() => logLines(gateway).find((l) => l.reqId === 'order-42.e2e'))
      .toMatchObject({
        app: 'gateway',
        msg: 'POST /v1/cheese/orders 200',
        req: { method: 'POST', url: '/v1/cheese/orders' },
        res: { statusCode: 200 },
        durationMs: expect.any(Number),
      });
  });

  it('makes a request id when the caller sends none or an unfit one, and never logs headers', async () => {
    for (const sent of [undefined, 'no spaces allowed', 'x'.repeat(200)]) {
      const res = await fetch(`${base}/v1/cheese/orders`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: 'Bearer very-secret-token',
          ...(sent === undefined ? {} : { 'x-request-id': sent }),
        },
        body: '{"type":"PECORINO"}',
      });
      expect(res.status).toBe(200);
      const id = res.headers.get('x-request-id');
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      await expect.poll(() => logLines(cheese).some((l) => l.reqId === id)).toBe(true);
      // The gateway's own request line carries the same made-up id.
      await expect.poll(() => logLines(gateway).some((l) => l.reqId === id)).toBe(true);
    }
    expect(gateway.logs).not.toContain('very-secret-token');
  });

  it('records one trace holding the gateway HTTP span, its gRPC client span and the service span', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const res = await fetch(`${base}/v1/cheese/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        // A caller's W3C trace context: the whole chain joins its trace.
        traceparent: `00-${traceId}-b7ad6b7169203331-01`,
      },
      body: '{"type":"ROQUEFORT"}',
    });
    expect(res.status).toBe(200);
    const watch = await fetch(`${base}/v1/matches/demo/watch?maxFrames=2`, {
      headers: { traceparent: `00-${traceId}-c7ad6b7169203332-01` },
    });
    expect(watch.status).toBe(200);
    await watch.text();

    // Closing the apps flushes what their batch span processors still hold.
    expect(await gateway.stop()).toBe('0');
    expect(await cheese.stop()).toBe('0');
    expect(await soccer.stop()).toBe('0');

    const inTrace = collector.spans.filter((s) => s.traceId === traceId);
    const http = inTrace.find(
      (s) => s.service === 'gateway' && s.name === 'POST /v1/cheese/orders',
    );
    expect(http).toMatchObject({ kind: SERVER, parentSpanId: 'b7ad6b7169203331' });
    expect(attr(http!, 'http.response.status_code')).toBe(200);

    const client = inTrace.find(
      (s) => s.service === 'gateway' && s.name === 'cheesefarm.CheeseService/Order',
    );
    expect(client).toMatchObject({ kind: CLIENT, parentSpanId: http!.spanId });

    const server = inTrace.find(
      (s) => s.service === 'cheese-service' && s.name === 'cheesefarm.CheeseService/Order',
    );
    expect(server).toMatchObject({ kind: SERVER, parentSpanId: client!.spanId });
    expect(attr(server!, 'rpc.system')).toBe('grpc');
    expect(attr(server!, 'rpc.grpc.status_code')).toBe(0);

    // A server stream too: SSE watch -> stream.Soccer/Watch on soccer-service.
    const watchSpan = inTrace.find(
      (s) => s.service === 'soccer-service' && s.name === 'stream.Soccer/Watch',
    );
    expect(watchSpan).toMatchObject({ kind: SERVER });
    const watchClient = inTrace.find((s) => s.spanId === watchSpan!.parentSpanId);
    expect(watchClient).toMatchObject({ service: 'gateway', kind: CLIENT });
  });
});
