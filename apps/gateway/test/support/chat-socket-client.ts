import type { ClientRequestArgs } from 'node:http';
import { vi } from 'vitest';
import WebSocket, { type ClientOptions } from 'ws';

/** A room message as the chat socket's JSON frames carry it. */
export interface ChatFrame {
  seq: number;
  sentAtMs: number;
  user: string;
  text: string;
  event: 'MESSAGE' | 'JOINED' | 'LEFT';
}

/** An HTTP answer to a handshake that was not upgraded. */
export interface Refusal {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** How the socket closed, as the client saw it. */
export interface Closed {
  code: number;
  reason: string;
}

/** The chat WebSocket's URL on a gateway (or the load balancer in front of it). */
export function chatSocketUrl(base: string, matchId: string, user: string): string {
  const url = new URL(`/v1/matches/${matchId}/chat`, base);
  url.protocol = 'ws:';
  url.searchParams.set('user', user);
  return url.toString();
}

/** A subprotocol carrying `key`, as a browser sends it. */
export const apiKeyProtocol = (key: string) => `apikey.${Buffer.from(key).toString('base64url')}`;

/** A chat WebSocket client (the `ws` package) that keeps what it receives. */
export class ChatSocketClient {
  readonly frames: ChatFrame[] = [];
  readonly closed: Promise<Closed>;
  /** The `X-Upstream` header of the 101, when a test load balancer sets it. */
  upstream?: string;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) =>
      this.frames.push(JSON.parse(data.toString()) as ChatFrame),
    );
    socket.on('upgrade', (res) => {
      const upstream = res.headers['x-upstream'];
      this.upstream = Array.isArray(upstream) ? upstream[0] : upstream;
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    socket.on('error', () => undefined);
  }

  /**
   * Opens the socket: the client once upgraded, else the HTTP answer that
   * refused the handshake. `protocols` default to the chat's own.
   */
  static connect(
    url: string,
    options: { protocols?: string[] } & ClientOptions & ClientRequestArgs = {},
  ): Promise<ChatSocketClient | Refusal> {
    const { protocols = ['chat.v1'], ...rest } = options;
    const socket = new WebSocket(url, protocols, rest);
    const client = new ChatSocketClient(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client));
      socket.once('unexpected-response', (_req, res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      socket.once('error', reject);
    });
  }

  /** Connects and waits for its own JOINED: from then on it is in the room. */
  static async join(url: string, options: Parameters<typeof ChatSocketClient.connect>[1] = {}) {
    const client = await ChatSocketClient.connect(url, options);
    if (!(client instanceof ChatSocketClient)) {
      throw new Error(`handshake refused: ${client.status} ${client.body}`);
    }
    const user = new URL(url).searchParams.get('user');
    await client.waitFor((f) => f.event === 'JOINED' && f.user === user);
    return client;
  }

  say(text: string): void {
    this.socket.send(text);
  }

  messages(): ChatFrame[] {
    return this.frames.filter((f) => f.event === 'MESSAGE');
  }

  async waitFor(match: (f: ChatFrame) => boolean, timeout = 10_000): Promise<void> {
    await vi.waitFor(
      () => {
        if (!this.frames.some(match)) throw new Error('not yet');
      },
      { timeout, interval: 10 },
    );
  }

  /** Closes it (1000) and waits until it is closed. */
  async close(): Promise<Closed> {
    this.socket.close(1000);
    return this.closed;
  }
}

/** Whether `answer` is a refused handshake (not a client). */
export function isRefusal(answer: ChatSocketClient | Refusal): answer is Refusal {
  return !(answer instanceof ChatSocketClient);
}
