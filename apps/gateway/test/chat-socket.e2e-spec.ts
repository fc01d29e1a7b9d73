import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { get } from 'node:http';
import { connect } from 'node:net';
import { AppProcess, freePort } from '#launcher';
import {
  apiKeyProtocol,
  ChatSocketClient,
  chatSocketUrl,
  isRefusal,
  type Refusal,
} from './support/chat-socket-client.js';

const KEY = 'chat-socket-key-4c1d9e7a2b5f0836';
const CORS_ORIGIN = 'https://app.example';
const MAX_TEXT = 100_000;
const MESSAGES_PER_MINUTE = 100;
const MAX_PENDING = 4;
const MAX_STREAMS = 3;
/** The machine may be busy: starting an app can take a while. */
const START_TIMEOUT_MS = 90_000;

function errorOf(refusal: Refusal): { code: number; status: string; message: string } {
  expect(refusal.headers['content-type']).toMatch(/^application\/json/);
  return JSON.parse(refusal.body) as { code: number; status: string; message: string };
}

describe('chat over WebSocket: one socket, one Soccer.Chat call (gateway + soccer-service)', () => {
  let soccer: AppProcess;
  let gateway: AppProcess;
  let base: string;
  const open: ChatSocketClient[] = [];
  let room = 0;

  /** A room no other test uses. */
  const newRoom = () => `ws-room-${++room}`;
  const url = (matchId: string, user: string) => chatSocketUrl(base, matchId, user);
  const join = async (matchId: string, user: string) => {
    const client = await ChatSocketClient.join(url(matchId, user), {
      headers: { 'x-api-key': KEY },
    });
    open.push(client);
    return client;
  };
  const refusal = async (...args: Parameters<typeof ChatSocketClient.connect>) => {
    const answer = await ChatSocketClient.connect(...args);
    if (!isRefusal(answer)) throw new Error('the handshake was accepted');
    return answer;
  };

  beforeAll(async () => {
    const [soccerPort, httpPort] = await Promise.all([freePort(), freePort()]);
    soccer = await AppProcess.start('soccer-service', {
      port: soccerPort,
      env: { SOCCER_GRPC_HOST: '127.0.0.1', CHAT_MAX_TEXT: String(MAX_TEXT) },
      readyTimeoutMs: START_TIMEOUT_MS,
    });
    gateway = await AppProcess.start('gateway', {
      port: httpPort,
      env: {
        GATEWAY_HTTP_HOST: '127.0.0.1',
        SOCCER_GRPC_URL: `127.0.0.1:${soccerPort}`,
        GATEWAY_API_KEYS: KEY,
        GATEWAY_CORS_ORIGINS: CORS_ORIGIN,
        GATEWAY_CHAT_MAX_TEXT: String(MAX_TEXT),
        GATEWAY_CHAT_MESSAGES_PER_MINUTE: String(MESSAGES_PER_MINUTE),
        GATEWAY_CHAT_MAX_PENDING: String(MAX_PENDING),
        GATEWAY_MAX_STREAMS_PER_IP: String(MAX_STREAMS),
      },
      readyTimeoutMs: START_TIMEOUT_MS,
    });
    base = `http://127.0.0.1:${httpPort}`;
  }, 3 * START_TIMEOUT_MS);

  afterEach(async () => {
    await Promise.all(open.splice(0).map((client) => client.close()));
  });

  afterAll(async () => {
    await gateway?.stop();
    await soccer?.stop();
  });

  it('each text frame is said in the room; each room message comes as a JSON frame, in order', async () => {
    const matchId = newRoom();
    const ana = await join(matchId, 'ana');
    // A browser's form: the key in a subprotocol next to chat.v1.
    const ben = await ChatSocketClient.join(url(matchId, 'ben'), {
      protocols: ['chat.v1', apiKeyProtocol(KEY)],
    });
    open.push(ben);
    expect(ana.socket.protocol).toBe('chat.v1');
    expect(ben.socket.protocol).toBe('chat.v1'); // never the key
    expect(ana.frames[0]).toMatchObject({ event: 'JOINED', user: 'ana', text: '' });
    await ana.waitFor((f) => f.event === 'JOINED' && f.user === 'ben');

    for (let i = 0; i < 10; i++) (i % 2 ? ben : ana).say(`m${i}`);
    for (const member of [ana, ben]) {
      await expect.poll(() => member.messages().length).toBe(10);
      const seqs = member.frames.map((f) => f.seq);
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0] + i));
      // Each message once; each member's own in the order it said them.
      const said = member.messages().map((f) => `${f.user}:${f.text}`);
      expect(new Set(said).size).toBe(10);
      expect(said.filter((m) => m.startsWith('ana:'))).toEqual(['ana:m0', 'ana:m2', 'ana:m4', 'ana:m6', 'ana:m8']);
      expect(said.filter((m) => m.startsWith('ben:'))).toEqual(['ben:m1', 'ben:m3', 'ben:m5', 'ben:m7', 'ben:m9']);
    }
    // One order for the room: both saw the same messages in the same order.
    const order = (member: ChatSocketClient) => member.messages().map((f) => [f.seq, f.text]);
    expect(order(ben)).toEqual(order(ana));
    await ben.close();
    await ana.waitFor((f) => f.event === 'LEFT' && f.user === 'ben');
  }); // prettier-ignore

  it('refuses a handshake with the HTTP error of the API, before any upgrade', async () => {
    const matchId = newRoom();
    let answer = await refusal(url(matchId, 'ana'));
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toBe('Bearer');
    expect(errorOf(answer)).toMatchObject({ status: 'UNAUTHENTICATED', message: expect.stringMatching(/missing API key/) });

    answer = await refusal(url(matchId, 'ana'), { protocols: ['chat.v1', apiKeyProtocol('wrong-key-0123456789')] });
    expect(answer.status).toBe(401);
    expect(errorOf(answer).message).toBe('invalid API key');

    const withKey = { headers: { 'x-api-key': KEY } };
    answer = await refusal(url('bad.id', 'ana'), withKey);
    expect(answer.status).toBe(400);
    expect(errorOf(answer).message).toMatch(/id must match/);

    answer = await refusal(`${url(matchId, 'ana')}&extra=1`, withKey);
    expect(answer.status).toBe(400);
    expect(errorOf(answer).message).toMatch(/property extra should not exist/);

    answer = await refusal(url(matchId, 'ana').replace(/\?.*/, ''), withKey);
    expect(answer.status).toBe(400);
    expect(errorOf(answer).message).toMatch(/user/);

    // Another site's page may not chat in its visitor's name.
    answer = await refusal(url(matchId, 'ana'), { ...withKey, origin: 'https://evil.example' });
    expect(answer.status).toBe(403);
    expect(errorOf(answer)).toMatchObject({ status: 'PERMISSION_DENIED', message: expect.stringMatching(/origin https:\/\/evil.example/) });
    answer = await refusal(url(matchId, 'ana'), { ...withKey, origin: 'null' });
    expect(answer.status).toBe(403);
  }); // prettier-ignore

  it("accepts this site's own pages and GATEWAY_CORS_ORIGINS as Origin", async () => {
    const matchId = newRoom();
    for (const origin of [base, CORS_ORIGIN]) {
      const client = await ChatSocketClient.join(url(matchId, 'ana'), {
        origin,
        headers: { 'x-api-key': KEY },
      });
      await client.close();
    }
  });

  it('closes with the call status: a text too long or a binary frame is INVALID_ARGUMENT (4003)', async () => {
    const matchId = newRoom();
    const ana = await join(matchId, 'ana');
    const ben = await join(matchId, 'ben');
    ana.say('x'.repeat(MAX_TEXT + 1));
    expect(await ana.closed).toEqual({
      code: 4003,
      reason: `INVALID_ARGUMENT: text is too long: at most ${MAX_TEXT} characters`,
    });
    await ben.waitFor((f) => f.event === 'LEFT' && f.user === 'ana');
    ben.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await ben.closed).toEqual({
      code: 4003,
      reason: 'INVALID_ARGUMENT: send each message as a text frame',
    });
  });

  it("closes with soccer-service's own status: a name it refuses (4003)", async () => {
    const client = await ChatSocketClient.connect(url(newRoom(), 'n'.repeat(41)), {
      headers: { 'x-api-key': KEY },
    });
    if (isRefusal(client)) throw new Error(client.body);
    const { code, reason } = await client.closed;
    expect(code).toBe(4003);
    expect(reason).toMatch(/^INVALID_ARGUMENT: the first chat message must carry user: 1-40/);
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
  });

  it('limits the rate: one message more than GATEWAY_CHAT_MESSAGES_PER_MINUTE is RESOURCE_EXHAUSTED (4008)', async () => {
    const ana = await join(newRoom(), 'ana');
    for (let i = 0; i <= MESSAGES_PER_MINUTE; i++) ana.say(`m${i}`);
    expect(await ana.closed).toEqual({
      code: 4008,
      reason: `RESOURCE_EXHAUSTED: too many messages: more than ${MESSAGES_PER_MINUTE} a minute`,
    });
    // All that was allowed was said.
    expect(ana.messages().length).toBeLessThanOrEqual(MESSAGES_PER_MINUTE);
  });

  it('refuses a frame over its maxPayload with 1009 (Message Too Big)', async () => {
    const ana = await join(newRoom(), 'ana');
    ana.say('x'.repeat(4 * MAX_TEXT + 2048));
    expect((await ana.closed).code).toBe(1009);
  });

  it('drops a client that does not read, as soccer-service drops a slow member', async () => {
    const matchId = newRoom();
    const talker = await join(matchId, 'talker');
    const slow = await join(matchId, 'slow');
    // It stops reading: its TCP buffers fill (~4 MB on loopback here), then the gateway's queue.
    slow.socket.pause();
    const slowLeft = () => talker.frames.some((f) => f.event === 'LEFT' && f.user === 'slow');
    const big = 'y'.repeat(MAX_TEXT);
    // One at a time, each after its echo: the room never waits for the slow one.
    for (let i = 1; i < MESSAGES_PER_MINUTE && !slowLeft(); i++) {
      talker.say(big);
      await expect.poll(() => talker.messages().length).toBe(i);
    }
    expect(slowLeft()).toBe(true);
    await expect
      .poll(() => gateway.logMessages)
      .toMatch(/dropped slow from chat ws-room-\d+: more than 4 messages/);
    slow.socket.resume();
    expect((await slow.closed).code).not.toBe(1000);
  }); // prettier-ignore

  it('answers a WebSocket handshake anywhere else as a plain request, and closes its connection', async () => {
    for (const [path, status] of [['/v1/cheeses', 200], ['/nope', 404], ['/v1/matches/demo/watch?fps=999', 400]] as const) {
      const socket = connect(Number(new URL(base).port), '127.0.0.1');
      let received = '';
      socket.setEncoding('utf8');
      socket.on('data', (text: string) => (received += text));
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
      await once(socket, 'close');
      expect(received).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
    }
  }); // prettier-ignore

  it('counts each socket against the stream cap of its address, with the SSE streams', async () => {
    const matchId = newRoom();
    const held = [await join(matchId, 'a'), await join(matchId, 'b'), await join(matchId, 'c')];
    const answer = await refusal(url(matchId, 'd'), { headers: { 'x-api-key': KEY } });
    expect(answer.status).toBe(429);
    expect(answer.headers['retry-after']).toBe('1');
    expect(errorOf(answer).message).toBe('too many open streams from this address');
    const sse = await new Promise<number>((resolve) =>
      get(`${base}/v1/matches/${matchId}/chat?user=e`, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }),
    );
    expect(sse).toBe(429);
    await held[0].close();
    open.splice(open.indexOf(held[0]), 1);
    // Counted until its connection closed: room again.
    const again = await ChatSocketClient.join(url(matchId, 'd'), { headers: { 'x-api-key': KEY } });
    open.push(again);
  });

  it('logs the handshake as 101 and counts it in the HTTP metrics', async () => {
    const ana = await join(newRoom(), 'logged');
    await ana.close();
    open.splice(open.indexOf(ana), 1);
    await expect.poll(() => gateway.logMessages).toMatch(/GET \/v1\/matches\/ws-room-\d+\/chat\?user=logged 101/);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/http_requests_total\{method="GET",route="\/v1\/matches\/:id\/chat",status_code="101"\} [1-9]/);
  }); // prettier-ignore

  it('on SIGTERM closes every socket with UNAVAILABLE (4014): connect again', async () => {
    const ana = await join(newRoom(), 'ana');
    const stopped = gateway.stop('SIGTERM', 15_000);
    expect(await ana.closed).toEqual({
      code: 4014,
      reason: 'UNAVAILABLE: the gateway is shutting down; connect again',
    });
    open.splice(open.indexOf(ana), 1);
    expect(await stopped).toBe('0');
  });
});
