/**
 * A process holding many SSE viewers of one URL and counting their `frame`
 * events, so that hundreds of viewers do not share the runner's event loop.
 * Driven over IPC by sse-viewers.ts: {url, viewers} → 'ready'; 'go' starts
 * the window; 'stop' ends it → 'result' with each viewer's frames/s.
 */
import { Agent, get, type ClientRequest } from 'node:http';

const MARK = Buffer.from('event: frame\n');

interface Viewer {
  frames: number;
  atGo: number;
  status: number;
  request: ClientRequest;
}

function count(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(MARK); i >= 0; i = buf.indexOf(MARK, i + MARK.length)) n++;
  return n;
}

function open(url: string, agent: Agent): Viewer {
  const viewer: Viewer = { frames: 0, atGo: 0, status: 0, request: undefined! };
  viewer.request = get(url, { agent }, (res) => {
    viewer.status = res.statusCode ?? 0;
    let tail = Buffer.alloc(0);
    res.on('data', (chunk: Buffer) => {
      // A mark cut in two by chunk boundaries is counted once, from the seam.
      if (tail.length)
        viewer.frames += count(Buffer.concat([tail, chunk.subarray(0, MARK.length - 1)]));
      viewer.frames += count(chunk);
      tail = Buffer.from(chunk.subarray(Math.max(0, chunk.length - (MARK.length - 1))));
    });
    res.on('error', () => undefined);
  });
  viewer.request.on('error', () => undefined);
  return viewer;
}

let viewers: Viewer[] = [];
let goAt = 0;

process.on('message', (msg: { url: string; viewers: number } | 'go' | 'stop') => {
  if (msg === 'go') {
    goAt = performance.now();
    for (const v of viewers) v.atGo = v.frames;
  } else if (msg === 'stop') {
    const seconds = (performance.now() - goAt) / 1000;
    const fps = viewers.map((v) => (v.frames - v.atGo) / seconds);
    for (const v of viewers) v.request.destroy();
    process.send!({ type: 'result', fps, statuses: viewers.map((v) => v.status) }, () =>
      process.exit(0),
    );
  } else {
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
    viewers = Array.from({ length: msg.viewers }, () => open(msg.url, agent));
    // Ready once every viewer has its first frame (or after 30 s, whatever came).
    const started = performance.now();
    const poll = setInterval(() => {
      const withFrames = viewers.filter((v) => v.frames > 0).length;
      if (withFrames === viewers.length || performance.now() - started > 30_000) {
        clearInterval(poll);
        process.send!({ type: 'ready', withFrames });
      }
    }, 100);
  }
});
