/**
 * The chat WebSocket's contract, which OpenAPI cannot describe: its
 * subprotocol and what its close codes mean. No imports: the web page's
 * bundle takes this file as it is (as libs/proto's match-id.ts).
 */

/** The chat WebSocket's own subprotocol, which the gateway selects. */
export const CHAT_SUBPROTOCOL = 'chat.v1';
/** RFC 6455 "normal closure": the chat call ended with OK. */
export const NORMAL_CLOSURE = 1000;
/** Close codes 4000-4999 are the application's: 4000 + the gRPC status code. */
export const GRPC_CLOSE_BASE = 4000;
