import { connect as connectTcp } from 'node:net';
import { connect, constants, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import { grpcServiceName, loadServiceProto, type GrpcServiceKey } from '#proto';

/**
 * gRPC spoken by hand over node:http2, so that a test can send what no gRPC
 * client ever would: a cut length prefix, a wrong flag, a bad header.
 */

export interface FrameOptions {
  /** The compressed-flag byte; 1 says "compressed with grpc-encoding". */
  flag?: number;
  /** The length the prefix declares, when it should lie. */
  declaredLength?: number;
}

/** One length-prefixed message: 1 flag byte, 4 bytes of big-endian length, the message. */
export function grpcFrame(message: Uint8Array, options: FrameOptions = {}): Buffer {
  const { flag = 0, declaredLength = message.length } = options;
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt8(flag, 0);
  frame.writeUInt32BE(declaredLength, 1);
  frame.set(message, 5);
  return frame;
}

type Serialize = (value: object) => Buffer;

/**
 * The request serializer of `service/method`, from the very proto and loader
 * options the apps use (ts-proto generates types only, no encoders, here):
 * good messages are encoded exactly as a grpc-js client would, so the only
 * bad bytes on the wire are the ones a test adds on purpose.
 */
export function requestEncoder(key: GrpcServiceKey, method: string): Serialize {
  const service = loadServiceProto(key)[grpcServiceName(key)] as Record<
    string,
    { requestSerialize: Serialize } | undefined
  >;
  const definition = service[method];
  if (!definition) throw new Error(`no method ${method} in ${grpcServiceName(key)}`);
  return definition.requestSerialize;
}

export interface RawGrpcRequest {
  /** `:path`, e.g. /cheesefarm.CheeseService/Order. */
  path: string;
  /** Headers over those of a well-formed call; `undefined` removes one. */
  headers?: Record<string, string | undefined>;
  /** The request body in order: bytes to write, a pause in ms, or a look at the server mid-call. */
  body?: Array<Uint8Array | number | (() => Promise<void>)>;
  /** After the body: half-close (default), reset the stream (a client gone away) or neither. */
  finish?: 'end' | 'reset' | 'none';
  /** Give up after this long (the test fails: the server never answered). */
  timeoutMs?: number;
}

export interface RawGrpcAnswer {
  /** HTTP `:status`; undefined when the stream was reset before any answer. */
  httpStatus?: number;
  /** `grpc-status`, from the trailers or from a trailers-only answer's headers. */
  grpcStatus?: number;
  /** `grpc-message`, percent-decoded. */
  grpcMessage?: string;
  contentType?: string;
  /** The answer's messages, without their prefix. */
  messages: Buffer[];
  /** RST_STREAM code of the stream's end (0: it ended normally). */
  rstCode: number;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** Splits a gRPC answer body into its messages. */
function splitFrames(body: Buffer): Buffer[] {
  const messages: Buffer[] = [];
  for (let at = 0; at + 5 <= body.length;) {
    const length = body.readUInt32BE(at + 1);
    messages.push(body.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  }
  return messages;
}

/** One call on its own HTTP/2 connection: whatever it does, it cannot disturb the next. */
export function rawGrpcCall(port: number, request: RawGrpcRequest): Promise<RawGrpcAnswer> {
  const { path, body = [], finish = 'end', timeoutMs = 60_000 } = request;
  const headers: OutgoingHttpHeaders = {
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/grpc',
    te: 'trailers',
  };
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    if (value === undefined) delete headers[name];
    else headers[name] = value;
  }
  return new Promise((resolve, reject) => {
    const session = connect(`http://127.0.0.1:${port}`);
    session.on('error', () => undefined); // the stream's close says how it ended
    // endStream false even for GET, which node:http2 would otherwise end at once.
    const stream = session.request(headers, { endStream: false });
    let responseHeaders: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const data: Buffer[] = [];
    stream.on('response', (h) => (responseHeaders = h));
    stream.on('trailers', (t: IncomingHttpHeaders) => (trailers = t));
    stream.on('data', (chunk: Buffer) => data.push(chunk));
    stream.on('error', () => undefined); // a reset: rstCode tells
    // The server has said all it will (trailers, or a trailers-only answer):
    // close our side too, or a call the client never half-closed stays open.
    stream.on('end', () => {
      if (!stream.closed) stream.close();
    });
    const timer = setTimeout(() => {
      stream.close();
      session.destroy();
      reject(new Error(`${path}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    stream.on('close', () => {
      clearTimeout(timer);
      session.close();
      const status = header(trailers, 'grpc-status') ?? header(responseHeaders, 'grpc-status');
      const message = header(trailers, 'grpc-message') ?? header(responseHeaders, 'grpc-message');
      const httpStatus = responseHeaders[':status'];
      resolve({
        httpStatus: httpStatus === undefined ? undefined : Number(httpStatus),
        grpcStatus: status === undefined ? undefined : Number(status),
        grpcMessage: message === undefined ? undefined : decodeURIComponent(message),
        contentType: header(responseHeaders, 'content-type'),
        messages: splitFrames(Buffer.concat(data)),
        rstCode: stream.rstCode ?? 0,
      });
    });
    void (async () => {
      for (const part of body) {
        if (stream.closed) return;
        if (typeof part === 'number') await sleep(part);
        else if (typeof part === 'function') await part();
        else stream.write(part);
      }
      if (finish === 'end') stream.end();
      else if (finish === 'reset') stream.close(constants.NGHTTP2_CANCEL);
    })();
  });
}

/** What the server sent back to raw bytes on a plain TCP connection, and whether it hung up. */
export interface TcpAnswer {
  bytes: Buffer;
  closedByServer: boolean;
}

/** Writes `bytes` on a fresh TCP connection and collects the answer for up to `waitMs`. */
export function tcpExchange(port: number, bytes: Uint8Array, waitMs = 3000): Promise<TcpAnswer> {
  return new Promise((resolve) => {
    const socket = connectTcp(port, '127.0.0.1');
    const received: Buffer[] = [];
    let closedByServer = false;
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => undefined);
    socket.on('end', () => (closedByServer = true));
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ bytes: Buffer.concat(received), closedByServer });
    });
    socket.write(bytes);
  });
}
