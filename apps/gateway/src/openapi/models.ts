import type { JsonObject } from '@bufbuild/protobuf';
import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import type { CheeseView } from '../cheese/cheese-orders.service.js';
import type { ApiErrorBody } from '../errors/api-error.js';
import type { ChatMessageView } from '../matches/chat/match-chat.service.js';
import type { MatchView } from '../matches/matches.service.js';
import type { UploadView } from '../matches/upload/match-upload.service.js';
import type { FrameEvent } from '../matches/watch/frame-sinks.js';

// Schemas of what the gateway answers, for the OpenAPI document only. Each
// implements the interface the code answers with, so the two cannot drift.

@ApiSchema({ name: 'ApiError', description: 'The one error body of the API.' })
export class ApiErrorSchema implements ApiErrorBody {
  @ApiProperty({ type: 'integer', description: 'gRPC status code', example: 3 })
  code: number;

  @ApiProperty({ description: 'gRPC status name', example: 'INVALID_ARGUMENT' })
  status: string;

  @ApiProperty({ example: 'unknown cheese type 42; valid types: EMMENTAL (0), BRIE (1), ...' })
  message: string;

  @ApiPropertyOptional({
    description:
      "the service's google.rpc.Status details (ErrorInfo, BadRequest, RetryInfo, " +
      'ResourceInfo, …) in the JSON form grpc-gateway and Envoy use; absent when none',
    type: 'array',
    items: {
      type: 'object',
      required: ['@type'],
      properties: { '@type': { type: 'string' } },
      additionalProperties: true,
    },
    example: [
      {
        '@type': 'type.googleapis.com/google.rpc.BadRequest',
        fieldViolations: [{ field: 'type', description: 'unknown cheese type 42; …' }],
      },
    ],
  })
  details?: JsonObject[];
}

@ApiSchema({ name: 'CheeseType' })
export class CheeseTypeSchema {
  @ApiProperty({ example: 'BRIE' })
  name: string;

  @ApiProperty({ type: 'integer', description: 'enum number', example: 1 })
  number: number;
}

@ApiSchema({ name: 'CheeseTypes' })
export class CheeseTypesSchema {
  @ApiProperty({ type: [CheeseTypeSchema] })
  types: CheeseTypeSchema[];
}

@ApiSchema({ name: 'Cheese', description: 'A cheese, its type by name.' })
export class CheeseSchema implements CheeseView {
  @ApiProperty({ description: 'type name (its number if this gateway does not know it)' })
  type: string;

  @ApiProperty({ type: 'integer', description: 'age in days', example: 43 })
  age: number;
}

@ApiSchema({ name: 'Match' })
export class MatchSchema implements MatchView {
  @ApiProperty({ example: 'demo' })
  id: string;

  @ApiProperty({ description: 'SYNTHETIC (built in) or FILE (an mp4)', example: 'SYNTHETIC' })
  source: string;

  @ApiProperty({ type: 'integer', description: 'file size; 0 for synthetic matches' })
  sizeBytes: number;

  @ApiProperty({ type: 'integer', description: '0 when endless or unknown', example: 10000 })
  durationMs: number;

  @ApiProperty({ type: 'integer', description: 'pixels; 0 when unknown', example: 640 })
  width: number;

  @ApiProperty({ type: 'integer', description: 'pixels; 0 when unknown', example: 360 })
  height: number;

  @ApiProperty({ description: 'native frame rate; 0 when unknown', example: 25 })
  fps: number;

  @ApiProperty({ description: 'an endless live match' })
  live: boolean;
}

@ApiSchema({ name: 'MatchList' })
export class MatchListSchema {
  @ApiProperty({ type: [MatchSchema] })
  matches: MatchSchema[];
}

@ApiSchema({ name: 'UploadResult', description: 'What an upload stored.' })
export class UploadResultSchema implements UploadView {
  @ApiProperty({ example: 'final' })
  id: string;

  @ApiProperty({ type: 'integer', example: 5242880 })
  bytes: number;

  @ApiProperty({ description: 'SHA-256 of the stored bytes, hex' })
  sha256: string;
}

@ApiSchema({ name: 'FrameEvent', description: 'Data of the SSE `frame` event.' })
export class FrameEventSchema implements FrameEvent {
  @ApiProperty({ type: 'integer' })
  seq: number;

  @ApiProperty({ type: 'integer', description: 'presentation time, ms' })
  ptsMs: number;

  @ApiProperty({ enum: ['JPEG', 'RAW'] })
  encoding: string;

  @ApiProperty({ description: 'H, W, channels, as numpy prints it', example: '(360, 640, 3)' })
  shape: string;

  @ApiProperty({ format: 'byte', description: 'JPEG image or raw BGR pixels, base64' })
  data: string;
}

@ApiSchema({ name: 'ChatJoined', description: 'Data of the SSE `joined` event.' })
export class ChatJoinedSchema {
  @ApiProperty({ description: 'for POST /v1/matches/{id}/chat; 128 random bits, base64url' })
  sessionId: string;
}

@ApiSchema({ name: 'ChatMessage', description: 'Data of the SSE `message` event.' })
export class ChatMessageSchema implements ChatMessageView {
  @ApiProperty({ type: 'integer', description: "the room's order" })
  seq: number;

  @ApiProperty({ type: 'integer', description: 'Unix time, ms' })
  sentAtMs: number;

  @ApiProperty()
  user: string;

  @ApiProperty()
  text: string;

  @ApiProperty({ enum: ['MESSAGE', 'JOINED', 'LEFT'] })
  event: string;
}
