/**
 * The gateway's HTTP API, as the page uses it. Its types and paths come from
 * the gateway's OpenAPI document (generated/openapi.ts, `npm run openapi:gen`),
 * so the page's build fails when it uses what the API does not have.
 */
import createClient, {
  createFinalURL,
  createQuerySerializer,
  defaultPathSerializer,
} from 'openapi-fetch';
import { GRPC_CLOSE_BASE } from '../src/chat-socket/chat-socket-protocol.js';
import type { components, paths } from './generated/openapi.js';

/** The API's schemas, by their OpenAPI names. */
type Schemas = components['schemas'];
export type Cheese = Schemas['Cheese'];
export type Match = Schemas['Match'];
/** A watch stream's `frame` event: the JPEG in base64. */
export type Frame = Schemas['FrameEvent'];
/** A chat message, as the chat WebSocket's JSON frames carry it. */
export type ChatMessage = Schemas['ChatMessage'];
type ApiErrorBody = Schemas['ApiError'];

/** The API on this page's own origin, typed by its paths. */
const client = createClient<paths>();

/** Match ids the gateway accepts (it answers 400 to anything else). */
export { MATCH_ID_PATTERN } from '../../../libs/proto/src/match-id.js';

/** The API's one error body, `{code, status, message}`, as an Error that reads well. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: string,
    readonly httpStatus: number,
  ) {
    super(message);
  }

  /** From a failed response's status and body (its text, or that parsed), whatever it is. */
  static from(httpStatus: number, body: unknown): ApiError {
    const parsed = (typeof body === 'string' ? parseJson(body) : body) as
      Partial<ApiErrorBody> | null | undefined;
    if (typeof parsed?.message === 'string') {
      return new ApiError(parsed.message, parsed.status ?? 'UNKNOWN', httpStatus);
    }
    // Not the API's JSON (a proxy's page, say).
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

/** JSON.parse, or undefined when `text` is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The data of an openapi-fetch answer; its error as an ApiError. */
function dataOf<T>(answer: { data?: T; error?: unknown; response: Response }): T {
  if (!answer.response.ok) throw ApiError.from(answer.response.status, answer.error);
  return answer.data as T;
}

export async function listCheeseTypes(): Promise<Schemas['CheeseType'][]> {
  return dataOf(await client.GET('/v1/cheeses')).types;
}

type OrderType = Schemas['CreateCheeseOrderDto']['type'];

/** Orders a cheese of `type`, a name from listCheeseTypes (the gateway judges it: 400 if unknown). */
export async function orderCheese(type: string): Promise<Cheese> {
  return dataOf(await client.POST('/v1/cheese/orders', { body: { type: type as OrderType } }));
}

export async function listMatches(): Promise<Match[]> {
  return dataOf(await client.GET('/v1/matches')).matches;
}

/** The query parameters of operation `method` of `path`. */
type QueryOf<P extends keyof paths, M extends 'get' | 'put'> =
  NonNullable<paths[P][M]> extends { parameters: { query?: infer Q } } ? Q : never;

/**
 * `path` of the API with its path and query parameters filled in as
 * openapi-fetch does, for what fetch cannot do (EventSource, WebSocket,
 * an upload's progress).
 */
function apiUrl<P extends keyof paths, M extends 'get' | 'put'>(
  path: P,
  _method: M,
  params: { path: { id: string }; query?: QueryOf<P, M> },
): string {
  return createFinalURL(path, {
    baseUrl: '',
    params: params as { path: Record<string, unknown>; query?: Record<string, unknown> },
    querySerializer: createQuerySerializer(),
    pathSerializer: defaultPathSerializer,
  });
}

type WatchQuery = NonNullable<QueryOf<'/v1/matches/{id}/watch', 'get'>>;

export function watchUrl(id: string, query: WatchQuery = {}): string {
  return apiUrl('/v1/matches/{id}/watch', 'get', { path: { id }, query });
}

/**
 * Why a watch stream could not be opened: EventSource hides the HTTP answer,
 * so ask again for one frame with fetch, which shows it. Undefined when the
 * match plays now (the failure was the connection's).
 */
export async function watchFailure(id: string): Promise<ApiError | undefined> {
  try {
    const { error, response } = await client.GET('/v1/matches/{id}/watch', {
      params: { path: { id }, query: { maxFrames: 1 } },
      parseAs: 'text',
    });
    return response.ok ? undefined : ApiError.from(response.status, error);
  } catch {
    return undefined;
  }
}

export { CHAT_SUBPROTOCOL } from '../src/chat-socket/chat-socket-protocol.js';
/** Close code 1000: the chat call ended normally. */
export { NORMAL_CLOSURE as CHAT_CLOSED_OK } from '../src/chat-socket/chat-socket-protocol.js';
/** gRPC UNAVAILABLE: the gateway (or the chat broker) went away; joining again works. */
const UNAVAILABLE = 14;

/**
 * The chat WebSocket of match `id`, joined as `user`: the chat's own URL on
 * this page's host, ws: or wss: as the page is http: or https:.
 */
export function chatSocketUrl(id: string, user: string): string {
  const path = apiUrl('/v1/matches/{id}/chat', 'get', { path: { id }, query: { user } });
  const url = new URL(path, location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
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
): Promise<Schemas['UploadResult']> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const query = options.overwrite ? { overwrite: true } : {};
    xhr.open('PUT', apiUrl('/v1/matches/{id}/video', 'put', { path: { id }, query }));
    xhr.setRequestHeader('content-type', 'video/mp4');
    xhr.upload.addEventListener('progress', (e) => options.onProgress(e.loaded));
    xhr.addEventListener('load', () => {
      if (xhr.status === 201) resolve(JSON.parse(xhr.responseText) as Schemas['UploadResult']);
      else reject(ApiError.from(xhr.status, xhr.responseText));
    });
    xhr.addEventListener('error', () => reject(new TypeError('network error')));
    xhr.addEventListener('abort', () => reject(new DOMException('upload cancelled', 'AbortError')));
    options.signal.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(file);
  });
}
