import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { SoccerServiceEnv } from '../config/soccer-service.env.js';
import { ChatController } from './chat.controller.js';
import { CHAT_ROOM_BUS, type ChatRoomBus } from './chat-room-bus.js';
import { CHAT_LIMITS, ChatSessionService, type ChatLimits } from './chat-session.service.js';
import { InProcessChatRoomBus } from './in-process-chat-room-bus.js';
import { RedisChatRoomBus } from './redis-chat-room-bus.js';

@Module({
  controllers: [ChatController],
  providers: [
    ChatSessionService,
    // Rooms shared by every replica through Redis when REDIS_URL is set; else in this process.
    {
      provide: CHAT_ROOM_BUS,
      inject: [ConfigService],
      useFactory: (config: ConfigService<SoccerServiceEnv, true>): ChatRoomBus => {
        const redisUrl = config.get('REDIS_URL', { infer: true });
        return redisUrl ? new RedisChatRoomBus(redisUrl) : new InProcessChatRoomBus();
      },
    },
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
