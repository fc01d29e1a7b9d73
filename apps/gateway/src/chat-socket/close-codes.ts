import { status } from '@grpc/grpc-js';
import type { ApiErrorBody } from '../openapi/models.js';
import { grpcStatusName } from '../errors/grpc-http-status.js';
import { GRPC_CLOSE_BASE, NORMAL_CLOSURE } from './chat-socket-protocol.js';

/** A close frame's reason is at most 123 bytes of UTF-8. */
const MAX_REASON_BYTES = 123;

/** How a chat WebSocket is closed: code and reason. */
export interface Closing {
  code: number;
  reason: string;
}

/**
 * The close of a chat WebSocket whose call ended with `error`: code 4000 +
 * its gRPC status code (4014 UNAVAILABLE, 4008 RESOURCE_EXHAUSTED, …), reason
 * `STATUS: message`, cut to fit a close frame.
 */
export function closingFor({ code, message }: Pick<ApiErrorBody, 'code' | 'message'>): Closing {
  if (code === Number(status.OK)) return { code: NORMAL_CLOSURE, reason: '' };
  return { code: GRPC_CLOSE_BASE + code, reason: fitReason(`${grpcStatusName(code)}: ${message}`) };
}

/** `reason` cut to MAX_REASON_BYTES of UTF-8, never inside a character. */
function fitReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_REASON_BYTES) return reason;
  let fitted = '';
  for (const char of reason) {
    if (Buffer.byteLength(fitted + char) > MAX_REASON_BYTES - 3) break;
    fitted += char;
  }
  return `${fitted}...`;
}
