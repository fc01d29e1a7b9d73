import { Controller, Get, HttpCode, Param, Put, Query, Req, Res } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { STREAM_BODY } from '../http-platform.js';
import { MatchIdParams } from './dto/match-id.params.js';
import { UploadQuery } from './dto/upload.query.js';
import { MjpegQuery, WatchQuery } from './dto/watch.query.js';
import { MatchesService, type MatchView } from './matches.service.js';
import { MatchUploadService, type UploadView } from './upload/match-upload.service.js';
import { MatchWatchService } from './watch/match-watch.service.js';

/**
 * The soccer matches (stream.Soccer). The streaming routes take the raw
 * response (`@Res()`): they write it themselves, under back-pressure.
 */
@Controller('v1/matches')
export class MatchesController {
  constructor(
    private readonly matches: MatchesService,
    private readonly watching: MatchWatchService,
    private readonly uploads: MatchUploadService,
  ) {}

  /** The matches that can be watched (Soccer.ListMatches). */
  @Get()
  list(): Promise<{ matches: MatchView[] }> {
    return this.matches.list();
  }

  /** A match as Server-Sent Events, one `frame` event per frame (Soccer.Watch). */
  @Get(':id/watch')
  watch(
    @Param() { id }: MatchIdParams,
    @Query() query: WatchQuery,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    return this.watching.sse(id, query, reply);
  }

  /** A match as `multipart/x-mixed-replace` JPEGs, for an `<img>` (Soccer.Watch). */
  @Get(':id/stream.mjpeg')
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
  @HttpCode(201)
  upload(
    @Param() { id }: MatchIdParams,
    @Query() { overwrite }: UploadQuery,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<UploadView> {
    return this.uploads.upload(id, overwrite, req.raw, reply.raw);
  }
}
