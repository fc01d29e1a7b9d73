import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { SoccerServiceEnv } from '../config/soccer-service.env.js';
import { ChatController } from './chat.controller.js';
import { CHAT_ROOM_BUS, type ChatRoomBus } from './chat-room-bus.js';
import { CHAT_LIMITS, ChatSessionService, type ChatLimits } from './chat-session.service.js';
import { InProcessChatRoomBus } from './in-process-chat-room-bus.js';

@Module({
  controllers: [ChatController],
  providers: [
    ChatSessionService,
    // Rooms shared by every replica through Redis when REDIS_URL is set; else in this process.
    {
      provide: CHAT_ROOM_BUS,
      inject: [ConfigService],
      useFactory: async (config: ConfigService<SoccerServiceEnv, true>): Promise<ChatRoomBus> => {
        const redisUrl = config.get('REDIS_URL', { infer: true });
        if (!redisUrl) return new InProcessChatRoomBus();
        // Loaded only then: without Redis the process does not carry ioredis (~5 MB at idle).
        const { RedisChatRoomBus } = await import('./redis-chat-room-bus.js');
        return new RedisChatRoomBus(redisUrl);
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
