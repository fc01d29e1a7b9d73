import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { SoccerServiceEnv } from '../config/soccer-service.env.js';
import { ChatController } from './chat.controller.js';
import { CHAT_ROOM_BUS } from './chat-room-bus.js';
import { CHAT_LIMITS, ChatSessionService, type ChatLimits } from './chat-session.service.js';
import { InProcessChatRoomBus } from './in-process-chat-room-bus.js';

@Module({
  controllers: [ChatController],
  providers: [
    ChatSessionService,
    // One process, one bus; a broker-backed ChatRoomBus goes here for replicas.
    { provide: CHAT_ROOM_BUS, useClass: InProcessChatRoomBus },
    {
      provide: CHAT_LIMITS,
      inject: [ConfigService],
      useFactory: (config: ConfigService<SoccerServiceEnv, true>): ChatLimits => ({
        maxText: config.get('CHAT_MAX_TEXT', { infer: true }),
        maxPending: config.get('CHAT_MAX_PENDING', { infer: true }),
      }),
    },
  ],
  // Its room and member counts are gauges (SoccerMetrics).
  exports: [CHAT_ROOM_BUS],
})
export class ChatModule {}
