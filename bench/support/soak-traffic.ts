/**
 * The soak's mixed traffic through the gateway, as clients would make it:
 * cheese orders, SSE and MJPEG viewers joining and leaving, chat members
 * joining, talking and leaving, and uploads (some cancelled on purpose).
 * Each answer is counted by kind and status; what the load does on purpose
 * (a client leaving, an upload cancelled) is told apart from real errors.
 */
import { Agent, get, request, type ClientRequest, type IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** How many of the soak's clients do each thing at once. */
export interface SoakMix {
  orderWorkers: number;
  viewers: number;
  chatMembers: number;
  /** Ms between two uploads; every third one is cancelled half-way. */
  uploadEveryMs: number;
}

export const FULL_MIX: SoakMix = {
  orderWorkers: 4,
  viewers: 20,
  chatMembers: 10,
  uploadEveryMs: 20_000,
};

/** Answers by kind and status ("order 200", "upload 499 cancelled", "watch error ECONNRESET"). */
export class Tally {
  readonly counts = new Map<string, number>();

  add(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** The keys that are errors the load did not provoke (client side). */
  unprovoked(): Array<[string, number]> {
    return [...this.counts].filter(([key]) => / (error|[45]\d\d)$/.test(key));
  }
}

const random = (min: number, max: number) => min + Math.random() * (max - min);

/** The traffic of one soak: start(), then stop() resolves once every client is gone. */
export class SoakTraffic {
  readonly tally = new Tally();
  private running = true;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });
  private readonly open = new Set<ClientRequest>();
  private readonly loops: Promise<void>[] = [];
  private uploads = 0;

  constructor(
    private readonly base: string,
    private readonly video: Buffer,
    private readonly mix: SoakMix = FULL_MIX,
  ) {}

  start(): void {
    for (let i = 0; i < this.mix.orderWorkers; i++) this.loops.push(this.orders());
    for (let i = 0; i < this.mix.viewers; i++) this.loops.push(this.viewer(i));
    for (let i = 0; i < this.mix.chatMembers; i++) this.loops.push(this.chatMember(i));
    this.loops.push(this.uploader());
  }

  /**
   * Every client finishes the request it has in flight and leaves as it
   * would (closing its own streams); what is still open after `graceMs` is
   * cut. Cutting the streams first raced a chat member's Say with the end of
   * its own session: a 404 the soak then counted as an error.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.running = false;
    const left = Promise.all(this.loops).then(() => true);
    if (!(await Promise.race([left, sleep(graceMs, false, { ref: false })]))) {
      for (const req of this.open) req.destroy();
    }
    await left;
    this.agent.destroy();
  }

  private async pause(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (this.running && Date.now() < until)
      await sleep(Math.max(0, Math.min(250, until - Date.now())));
  }

  /** POST /v1/cheese/orders back to back, a short pause between (~50 per second each). */
  private async orders(): Promise<void> {
    const types = ['EMMENTAL', 'BRIE', 'PECORINO', 'ROQUEFORT', 'CANASTRA'];
    for (let n = 0; this.running; n++) {
      const body = JSON.stringify({ type: types[n % types.length] });
      const status = await this.send('POST', '/v1/cheese/orders', body, 'application/json');
      this.tally.add(`order ${status}`);
      await this.pause(20);
    }
  }

  /** Watches for 2-10 s, leaves, comes back: `live` (shared), `demo` (own Watch) or MJPEG. */
  private async viewer(i: number): Promise<void> {
    const paths = [
      '/v1/matches/live/watch',
      '/v1/matches/live/watch?fps=5',
      '/v1/matches/demo/watch?fps=5',
      '/v1/matches/live/stream.mjpeg?fps=5',
    ];
    await this.pause(random(0, 3000));
    for (let n = i; this.running; n++) {
      const path = paths[n % paths.length];
      const kind = path.includes('mjpeg') ? 'mjpeg' : 'watch';
      const res = await this.openStream(path);
      if (!res) continue;
      this.tally.add(`${kind} ${res.statusCode}`);
      res.resume();
      await this.pause(random(2000, 10_000));
      res.destroy(); // the viewer leaves: provoked
      await this.pause(random(200, 1000));
    }
  }

  /** Joins a room, says something every 1-3 s for 10-30 s, leaves, joins again. */
  private async chatMember(i: number): Promise<void> {
    await this.pause(random(0, 3000));
    for (let n = 0; this.running; n++) {
      const room = `soak-${i % 2}`;
      const res = await this.openStream(`/v1/matches/${room}/chat?user=m${i}n${n}`);
      if (!res) continue;
      this.tally.add(`chat ${res.statusCode}`);
      if (res.statusCode !== 200) {
        res.resume();
        continue;
      }
      const sessionId = await joinedSession(res);
      const leaveAt = Date.now() + random(10_000, 30_000);
      while (this.running && sessionId && Date.now() < leaveAt && !res.destroyed) {
        const status = await this.send(
          'POST',
          `/v1/matches/${room}/chat`,
          JSON.stringify({ sessionId, text: `hello ${n}` }),
          'application/json',
        );
        this.tally.add(`say ${status}`);
        await this.pause(random(1000, 3000));
      }
      res.destroy(); // the member leaves: provoked
    }
  }

  /** Every uploadEveryMs a PUT of the video; every third one is cut off half-way on purpose. */
  private async uploader(): Promise<void> {
    await this.pause(2000);
    while (this.running) {
      const n = this.uploads++;
      const cancel = n % 3 === 2;
      const status = await this.upload(`soak-${n % 2}`, cancel);
      this.tally.add(cancel ? `upload ${status} cancelled` : `upload ${status}`);
      await this.pause(this.mix.uploadEveryMs);
    }
  }

  private upload(id: string, cancel: boolean): Promise<string> {
    return new Promise((resolve) => {
      const req = request(`${this.base}/v1/matches/${id}/video?overwrite=true`, {
        method: 'PUT',
        agent: false,
        headers: { 'content-type': 'video/mp4', 'content-length': String(this.video.length) },
      });
      this.open.add(req);
      const done = (outcome: string) => {
        this.open.delete(req);
        resolve(outcome);
      };
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => done(String(res.statusCode)));
      });
      req.on('error', () => done(cancel ? 'client-cut' : 'error'));
      void (async () => {
        const chunk = 256 * 1024;
        for (let at = 0; at < this.video.length && !req.destroyed; at += chunk) {
          if (cancel && at >= this.video.length / 2) return void req.destroy();
          if (!req.write(this.video.subarray(at, at + chunk))) await drainedOrClosed(req);
        }
        req.end();
      })();
    });
  }

  /** A GET whose response is streamed (SSE, MJPEG); undefined when it failed to connect. */
  private openStream(path: string): Promise<IncomingMessage | undefined> {
    return new Promise((resolve) => {
      const req = get(`${this.base}${path}`, { agent: false }, (res) => {
        res.once('close', () => this.open.delete(req));
        resolve(res);
      });
      this.open.add(req);
      req.on('error', () => {
        this.open.delete(req);
        if (this.running) this.tally.add(`stream error`);
        resolve(undefined);
      });
    });
  }

  /** One request with a small body; resolves with the status (or "error"). */
  private send(method: string, path: string, body: string, type: string): Promise<string> {
    return new Promise((resolve) => {
      const req = request(`${this.base}${path}`, {
        method,
        agent: this.agent,
        headers: { 'content-type': type, 'content-length': String(Buffer.byteLength(body)) },
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(String(res.statusCode)));
      });
      req.on('error', () => resolve(this.running ? 'error' : 'stopped'));
      req.end(body);
    });
  }
}

/** Resolves on the request's next 'drain', or its 'close'. */
function drainedOrClosed(req: ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      req.off('drain', done);
      req.off('close', done);
      resolve();
    };
    req.once('drain', done);
    req.once('close', done);
  });
}

/** The session id of a chat stream's first event, `joined`. */
function joinedSession(res: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    let text = '';
    res.setEncoding('utf8');
    const onData = (chunk: string) => {
      text += chunk;
      const match = /event: joined\ndata: (\{.*\})\n\n/.exec(text);
      if (!match) return;
      res.off('data', onData);
      res.resume();
      resolve((JSON.parse(match[1]) as { sessionId: string }).sessionId);
    };
    res.on('data', onData);
    res.once('close', () => resolve(undefined));
  });
}
