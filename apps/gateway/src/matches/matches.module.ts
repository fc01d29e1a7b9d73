import { Module } from '@nestjs/common';
import { MatchChatController } from './chat/match-chat.controller.js';
import { MatchChatService } from './chat/match-chat.service.js';
import { MatchesController } from './matches.controller.js';
import { MatchesService } from './matches.service.js';
import { OpenStreams } from './open-streams.js';
import { MatchUploadService } from './upload/match-upload.service.js';
import { LiveMatches } from './watch/live-matches.js';
import { MatchWatchService } from './watch/match-watch.service.js';
import { SharedWatches } from './watch/shared-watches.js';

/** `/v1/matches`: list, watch (SSE, MJPEG), upload and chat, over soccer-service. */
@Module({
  controllers: [MatchesController, MatchChatController],
  providers: [
    OpenStreams,
    MatchesService,
    LiveMatches,
    SharedWatches,
    MatchWatchService,
    MatchUploadService,
    MatchChatService,
  ],
  // One count of open streams per address, gRPC-Web/Connect streams included.
  exports: [OpenStreams],
})
export class MatchesModule {}
