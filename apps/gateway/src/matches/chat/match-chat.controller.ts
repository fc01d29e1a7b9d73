import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ChatJoinQuery, ChatPostBody } from '../dto/chat.dto.js';
import { MatchIdParams } from '../dto/match-id.params.js';
import { MatchChatService } from './match-chat.service.js';

/** A match's live chat (Soccer.Chat): read it as SSE, write to it with POST. */
@Controller('v1/matches/:id/chat')
export class MatchChatController {
  constructor(private readonly chat: MatchChatService) {}

  /** Joins the room as `user`: `joined` ({sessionId}), then one `message` event per message. */
  @Get()
  join(
    @Param() { id }: MatchIdParams,
    @Query() { user }: ChatJoinQuery,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    return this.chat.join(id, user, reply);
  }

  /** Says `text` in the session opened by the GET; it comes back on every member's stream. */
  @Post()
  @HttpCode(202)
  say(@Param() { id }: MatchIdParams, @Body() { sessionId, text }: ChatPostBody): void {
    this.chat.say(id, sessionId, text);
  }
}
