import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiExtraModels, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiChatWebSocket } from '../../chat-socket/chat-socket.openapi.js';
import { ApiErrorBody, ChatJoinedView, ChatMessageView } from '../../openapi/models.js';
import { ApiErrors, ApiEventStream } from '../../openapi/responses.js';
import { CountsAsOpenStream } from '../../security/open-stream-limit.guard.js';
import { ApiRateLimited } from '../../security/rate-limit.js';
import { RequiresApiKey } from '../../security/requires-api-key.decorator.js';
import { ChatJoinQuery, ChatPostBody } from '../dto/chat.dto.js';
import { MatchIdParams } from '../dto/match-id.params.js';
import { MatchChatService } from './match-chat.service.js';

/** A match's live chat (Soccer.Chat): read it as SSE, write to it with POST. */
@ApiTags('chat')
@ApiExtraModels(ChatJoinedView, ChatMessageView, ApiErrorBody)
@ApiRateLimited()
@Controller('v1/matches/:id/chat')
export class MatchChatController {
  constructor(private readonly chat: MatchChatService) {}

  /** Joins the room as `user`: `joined` ({sessionId}), then one `message` event per message. */
  @Get()
  @ApiChatWebSocket()
  @CountsAsOpenStream()
  @ApiOperation({ summary: 'Joins the room as `user` and streams it as Server-Sent Events' })
  @ApiEventStream(
    'Events: `joined` first (data a `ChatJoined`, with the session id for POST), then one ' +
      "`message` per room message, one's own included (data a `ChatMessage`); `error` (data an " +
      '`ApiError`) ends it, e.g. `RESOURCE_EXHAUSTED` for a reader more than ' +
      'GATEWAY_CHAT_MAX_PENDING messages behind. Closing the connection leaves the room.',
    'event: joined\ndata: {"sessionId":"Qx3..."}\n\n' +
      'event: message\ndata: {"seq":1,"sentAtMs":1700000000000,"user":"ana","text":"What a goal!","event":"MESSAGE"}\n\n',
  )
  @ApiErrors({
    400: '`INVALID_ARGUMENT`: bad id, or a user name the service refuses',
    503: '`UNAVAILABLE`: soccer-service down',
    504: '`DEADLINE_EXCEEDED`: the join not confirmed within GATEWAY_DEADLINE_MS',
  })
  join(
    @Param() { id }: MatchIdParams,
    @Query() { user }: ChatJoinQuery,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    return this.chat.join(id, user, reply);
  }

  /**
   * Says `text` in the session opened by the GET, on whichever gateway
   * replica; it comes back on every member's stream.
   */
  @Post()
  @HttpCode(202)
  @RequiresApiKey()
  @ApiOperation({ summary: 'Says `text` in the session opened by the GET' })
  @ApiAcceptedResponse({ description: "sent; it comes back on every member's stream" })
  @ApiErrors({
    400: '`INVALID_ARGUMENT`: bad id, bad JSON, missing or unknown field, text too long',
    404: '`NOT_FOUND`: no such session in this match (made up, ended, or of another match)',
    413: '`RESOURCE_EXHAUSTED`: body over GATEWAY_BODY_LIMIT_BYTES',
    415: '`INVALID_ARGUMENT`: body not `application/json`',
  })
  say(@Param() { id }: MatchIdParams, @Body() { sessionId, text }: ChatPostBody): Promise<void> {
    return this.chat.say(id, sessionId, text);
  }
}
