import { applyDecorators } from '@nestjs/common';
import { ApiHeader, ApiResponse } from '@nestjs/swagger';
import { API_KEY_SUBPROTOCOL_PREFIX } from '../security/api-keys.js';
import { CHAT_SUBPROTOCOL } from './chat-socket-protocol.js';

/**
 * The chat WebSocket, documented on the chat's SSE route, whose URL it
 * shares (OpenAPI has no WebSocket operations): a handshake there is
 * answered 101 and becomes one `Soccer.Chat` call (chat-socket.route.ts).
 */
export function ApiChatWebSocket(): MethodDecorator {
  return applyDecorators(
    ApiHeader({
      name: 'Sec-WebSocket-Protocol',
      required: false,
      description:
        `With \`Upgrade: websocket\`: offer \`${CHAT_SUBPROTOCOL}\` (the gateway selects it), and ` +
        `from a browser the API key as \`${API_KEY_SUBPROTOCOL_PREFIX}<base64url(key)>\` (clients ` +
        'that can set headers send `x-api-key` or `authorization: Bearer`)',
    }),
    ApiResponse({
      status: 101,
      description:
        'With `Upgrade: websocket`: the chat over WebSocket, one `Soccer.Chat` call. Each text ' +
        'frame the client sends is said in the room (at most GATEWAY_CHAT_MAX_TEXT characters, ' +
        "GATEWAY_CHAT_MESSAGES_PER_MINUTE a minute); each room message, the member's own JOINED " +
        "first, comes as a JSON text frame `ChatMessage`. The close code carries the call's " +
        'status: 1000 OK, else 4000 + the gRPC code (4003 INVALID_ARGUMENT, 4008 ' +
        'RESOURCE_EXHAUSTED for a client more than GATEWAY_CHAT_MAX_PENDING messages behind or ' +
        'over its rate, 4014 UNAVAILABLE when the gateway shuts down: connect again), reason ' +
        '`STATUS: message`. The handshake needs the API key when keys are set (401), an Origin ' +
        'of this site or GATEWAY_CORS_ORIGINS when one is sent (403), and counts against the ' +
        'rate limit and the stream cap (429).',
    }),
  );
}
