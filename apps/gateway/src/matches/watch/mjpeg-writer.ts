import type { ServerResponse } from 'node:http';
import { endStream } from '../../http-streaming/raw-response.js';

/** Part separator; every part also has a Content-Length, so JPEG bytes can never be mistaken for it. */
const BOUNDARY = 'soccer-frame';

/**
 * `multipart/x-mixed-replace` on a raw Node response, the stream an `<img>`
 * plays as video: one `image/jpeg` part per frame.
 */
export class MjpegWriter {
  constructor(readonly res: ServerResponse) {}

  open(): void {
    this.res.writeHead(200, {
      'content-type': `multipart/x-mixed-replace; boundary=${BOUNDARY}`,
      'cache-control': 'no-cache, no-store, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    this.res.flushHeaders();
  }

  get closed(): boolean {
    return this.res.writableEnded || this.res.destroyed;
  }

  /** Writes one frame as one part, in one `write`; false when the socket wants a 'drain'. */
  part(jpeg: Uint8Array): boolean {
    if (this.closed) return false;
    const head = `--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`;
    return this.res.write(Buffer.concat([Buffer.from(head), jpeg, Buffer.from('\r\n')]));
  }

  /** Ends the stream with the closing delimiter. */
  end(): void {
    endStream(this.res, `--${BOUNDARY}--\r\n`);
  }

  /**
   * Cuts the stream off: multipart has no way to say "error", and a
   * truncated body tells the client the stream did not end well.
   */
  destroy(): void {
    this.res.destroy();
  }
}
