import { Module } from '@nestjs/common';
import { ChatSocketAdmission } from './chat-socket-admission.js';
import { ChatSocketRoute } from './chat-socket.route.js';
import { ChatSocketService } from './chat-socket.service.js';

/**
 * Chat over WebSocket (docs/matches-api.md): one socket is one
 * `Soccer.Chat` call, at the chat's URL with `Upgrade: websocket`.
 */
@Module({ providers: [ChatSocketAdmission, ChatSocketService, ChatSocketRoute] })
export class ChatSocketModule {}
