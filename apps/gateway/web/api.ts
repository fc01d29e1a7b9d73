/** The gateway's HTTP API, as the page uses it (docs/matches-api.md, README "HTTP API"). */

export interface CheeseType {
  name: string;
  number: number;
}

export interface Cheese {
  type: string;
  /** Days the cheese was aged. */
  age: number;
}

export interface Match {
  id: string;
  /** SYNTHETIC (rendered in code) or FILE (an mp4 in MEDIA_DIR). */
  source: string;
  sizeBytes: number;
  durationMs: number;
  width: number;
  height: number;
  fps: number;
  live: boolean;
}

export interface Frame {
  seq: number;
  ptsMs: number;
  encoding: string;
  shape: string;
  /** The JPEG, base64. */
  data: string;
}

export interface ChatMessage {
  seq: number;
  sentAtMs: number;
  user: string;
  text: string;
  /** MESSAGE, JOINED or LEFT. */
  event: string;
}

export interface Uploaded {
  id: string;
  bytes: number;
  sha256: string;
}

/** Match ids the gateway accepts (it answers 400 to anything else). */
export const MATCH_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** The API's one error body, `{code, status, message}`, as an Error that reads well. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: string,
    readonly httpStatus: number,
  ) {
    super(message);
  }

  /** From a failed response's status and body text, whatever the body is. */
  static from(httpStatus: number, body: string): ApiError {
    try {
      const parsed = JSON.parse(body) as Partial<{ status: string; message: string }>;
      if (typeof parsed.message === 'string') {
        return new ApiError(parsed.message, parsed.status ?? 'UNKNOWN', httpStatus);
      }
    } catch {
      // Not the API's JSON (a proxy's page, say): fall through.
    }
    const message = httpStatus
      ? `the gateway answered HTTP ${httpStatus}`
      : 'the gateway sent an error it did not explain';
    return new ApiError(message, 'UNKNOWN', httpStatus);
  }
}

/** "message (STATUS, HTTP 503)" for an ApiError; a plain sentence for anything else. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    return err.httpStatus
      ? `${err.message} (${err.status}, HTTP ${err.httpStatus})`
      : `${err.message} (${err.status})`;
  }
  if (err instanceof TypeError) return 'the gateway could not be reached';
  return err instanceof Error ? err.message : String(err);
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw ApiError.from(res.status, text);
  return (text ? JSON.parse(text) : undefined) as T;
}

export async function listCheeseTypes(): Promise<CheeseType[]> {
  return (await request<{ types: CheeseType[] }>('GET', '/v1/cheeses')).types;
}

export function orderCheese(type: string): Promise<Cheese> {
  return request('POST', '/v1/cheese/orders', { type });
}

export async function listMatches(): Promise<Match[]> {
  return (await request<{ matches: Match[] }>('GET', '/v1/matches')).matches;
}

const matchPath = (id: string) => `/v1/matches/${encodeURIComponent(id)}`;

export function watchUrl(id: string, query: Record<string, number> = {}): string {
  const params = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
  const search = params.size ? `?${params.toString()}` : '';
  return `${matchPath(id)}/watch${search}`;
}

/**
 * Why a watch stream could not be opened: EventSource hides the HTTP answer,
 * so ask again for one frame with fetch, which shows it. Undefined when the
 * match plays now (the failure was the connection's).
 */
export async function watchFailure(id: string): Promise<ApiError | undefined> {
  try {
    const res = await fetch(watchUrl(id, { maxFrames: 1 }));
    const text = await res.text();
    return res.ok ? undefined : ApiError.from(res.status, text);
  } catch {
    return undefined;
  }
}

/** The chat WebSocket's subprotocol, which the gateway selects. */
export const CHAT_SUBPROTOCOL = 'chat.v1';

/** Close code 1000: the chat call ended normally. */
export const CHAT_CLOSED_OK = 1000;
/** Close codes 4000 + a gRPC status code carry the status of the chat call. */
const GRPC_CLOSE_BASE = 4000;
/** gRPC UNAVAILABLE: the gateway (or the chat broker) went away; joining again works. */
const UNAVAILABLE = 14;

/**
 * The chat WebSocket of match `id`, joined as `user`: the chat's own URL on
 * this page's host, ws: or wss: as the page is http: or https:.
 */
export function chatSocketUrl(id: string, user: string): string {
  const url = new URL(`${matchPath(id)}/chat`, location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = new URLSearchParams({ user }).toString();
  return url.toString();
}

/** Why a chat socket closed: the call's status as the close code carries it. */
export function chatClosedError(code: number, reason: string): ApiError {
  const grpcCode = code - GRPC_CLOSE_BASE;
  const [status, ...message] = reason.split(': ');
  if (grpcCode >= 0 && grpcCode <= 16 && message.length > 0) {
    return new ApiError(message.join(': '), status, 0);
  }
  return new ApiError(`the connection closed (${code})`, 'UNAVAILABLE', 0);
}

/** Whether a chat socket closed so that joining again may well work. */
export function chatMayRejoin(code: number): boolean {
  // 1001 going away, 1006 dropped (no close frame), 1012 service restart, 4014 UNAVAILABLE.
  return [1001, 1006, 1012, GRPC_CLOSE_BASE + UNAVAILABLE].includes(code);
}

/**
 * PUTs `file` as the video of match `id` with XMLHttpRequest, the one
 * browser API that reports upload progress. `onProgress` gets the bytes
 * sent so far; `signal` aborts the upload (the gateway then cancels the
 * gRPC call and soccer-service drops the partial file).
 */
export function uploadVideo(
  id: string,
  file: Blob,
  options: { overwrite: boolean; onProgress: (sent: number) => void; signal: AbortSignal },
): Promise<Uploaded> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', `${matchPath(id)}/video${options.overwrite ? '?overwrite=true' : ''}`);
    xhr.setRequestHeader('content-type', 'video/mp4');
    xhr.upload.addEventListener('progress', (e) => options.onProgress(e.loaded));
    xhr.addEventListener('load', () => {
      if (xhr.status === 201) resolve(JSON.parse(xhr.responseText) as Uploaded);
      else reject(ApiError.from(xhr.status, xhr.responseText));
    });
    xhr.addEventListener('error', () => reject(new TypeError('network error')));
    xhr.addEventListener('abort', () => reject(new DOMException('upload cancelled', 'AbortError')));
    options.signal.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(file);
  });
}
