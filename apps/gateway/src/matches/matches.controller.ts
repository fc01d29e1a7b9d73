import { Controller, Get, HttpCode, Param, Put, Query, Req, Res } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import {
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { STREAM_BODY, STREAM_BODY_TYPES } from '../http-platform.js';
import { CountsAsOpenStream } from '../security/open-stream-limit.guard.js';
import { ApiRateLimited } from '../security/rate-limit.js';
import { RequiresApiKey } from '../security/requires-api-key.decorator.js';
import { ApiErrorBody, FrameEvent, MatchListView, UploadView } from '../openapi/models.js';
import {
  ApiDeadlineHeaders,
  ApiErrors,
  ApiEventStream,
  ApiMjpegStream,
} from '../openapi/responses.js';
import { MatchIdParams } from './dto/match-id.params.js';
import { UploadQuery } from './dto/upload.query.js';
import { MjpegQuery, WatchQuery } from './dto/watch.query.js';
import { MatchesService } from './matches.service.js';
import { MatchUploadService } from './upload/match-upload.service.js';
import { MatchWatchService } from './watch/match-watch.service.js';

const SOCCER_ERRORS = {
  503: '`UNAVAILABLE`: soccer-service down',
  504: '`DEADLINE_EXCEEDED`: soccer-service slower than GATEWAY_DEADLINE_MS',
};

const WATCH_ERRORS = {
  400: '`INVALID_ARGUMENT`: bad id or query; `FAILED_PRECONDITION`: no ffmpeg for a file match',
  404: '`NOT_FOUND`: no such match',
  ...SOCCER_ERRORS,
  504: '`DEADLINE_EXCEEDED`: no first frame within GATEWAY_DEADLINE_MS',
};

/**
 * The soccer matches (stream.Soccer). The streaming routes take the raw
 * response (`@Res()`): they write it themselves, under back-pressure.
 */
@ApiTags('matches')
@ApiExtraModels(FrameEvent, ApiErrorBody)
@ApiRateLimited()
@Controller('v1/matches')
export class MatchesController {
  constructor(
    private readonly matches: MatchesService,
    private readonly watching: MatchWatchService,
    private readonly uploads: MatchUploadService,
  ) {}

  /** The matches that can be watched (Soccer.ListMatches). */
  @Get()
  @ApiOperation({ summary: 'The matches that can be watched (Soccer.ListMatches)' })
  @ApiOkResponse({
    description: 'built-in matches and `{MEDIA_DIR}/{id}.mp4` files',
    type: MatchListView,
  })
  @ApiErrors(SOCCER_ERRORS)
  @ApiDeadlineHeaders()
  list(): Promise<MatchListView> {
    return this.matches.list();
  }

  /** A match as Server-Sent Events, one `frame` event per frame (Soccer.Watch). */
  @Get(':id/watch')
  @CountsAsOpenStream()
  @ApiOperation({ summary: 'A match as Server-Sent Events (Soccer.Watch)' })
  @ApiEventStream(
    'Events: `frame` per frame, data a `FrameEvent`; then `end` (data `{}`) when the match ' +
      'ends, or `error` (data an `ApiError`) when it fails after the first frame. A slow reader ' +
      'gets the latest frame, never a queue. An error before the first frame is an HTTP error. ' +
      'With `Accept: application/x-ndjson`, NDJSON instead: a `{"result": FrameEvent}` line ' +
      'per frame, a last `{"error": ApiError}` line on failure, the end of the body at the end.',
    'event: frame\ndata: {"seq":0,"ptsMs":0,"encoding":"JPEG","shape":"(360, 640, 3)","data":"/9j/4AAQ..."}\n\n',
    {
      example:
        '{"result":{"seq":0,"ptsMs":0,"encoding":"JPEG","shape":"(360, 640, 3)","data":"/9j/4AAQ..."}}\n',
    },
  )
  @ApiErrors(WATCH_ERRORS)
  watch(
    @Param() { id }: MatchIdParams,
    @Query() query: WatchQuery,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    return this.watching.sse(id, query, reply);
  }

  /** A match as `multipart/x-mixed-replace` JPEGs, for an `<img>` (Soccer.Watch). */
  @Get(':id/stream.mjpeg')
  @CountsAsOpenStream()
  @ApiOperation({ summary: 'A match as MJPEG, for an <img> (Soccer.Watch)' })
  @ApiMjpegStream(
    'One `image/jpeg` part per frame (boundary `soccer-frame`); cut off if the match fails.',
  )
  @ApiErrors(WATCH_ERRORS)
  mjpeg(
    @Param() { id }: MatchIdParams,
    @Query() query: MjpegQuery,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    return this.watching.mjpeg(id, query, reply);
  }

  /** Stores the request body as the match video `id` (Soccer.Upload), streamed through. */
  @Put(':id/video')
  @RouteConfig(STREAM_BODY)
  @CountsAsOpenStream()
  @RequiresApiKey() // nearest the method: its guard runs before the stream cap
  @HttpCode(201)
  @ApiOperation({ summary: 'Stores the body as the match video `id` (Soccer.Upload), streamed' })
  @ApiConsumes(...STREAM_BODY_TYPES)
  @ApiBody({
    description: 'the mp4, streamed through; at most GATEWAY_MAX_UPLOAD_BYTES',
    required: true,
    schema: { type: 'string', format: 'binary' },
  })
  @ApiCreatedResponse({ description: 'stored', type: UploadView })
  @ApiErrors({
    400: '`INVALID_ARGUMENT`: bad id or query, or the body is not a video',
    409: '`ALREADY_EXISTS`: the id exists and no `overwrite=true`, or a built-in match',
    413: "`RESOURCE_EXHAUSTED`: over GATEWAY_MAX_UPLOAD_BYTES, or the service's own limit",
    415: '`INVALID_ARGUMENT`: body not `application/octet-stream` or `video/mp4`',
    503: '`UNAVAILABLE`: soccer-service down',
    504: '`DEADLINE_EXCEEDED`: not done within GATEWAY_UPLOAD_TIMEOUT_MS',
  })
  upload(
    @Param() { id }: MatchIdParams,
    @Query() { overwrite }: UploadQuery,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<UploadView> {
    return this.uploads.upload(id, overwrite, req.raw, reply.raw);
  }
}
