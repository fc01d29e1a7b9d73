import type { JsonObject } from '@bufbuild/protobuf';
import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';

// What the gateway answers, defined once: each class is both the type the
// code answers with and, by its decorators, the OpenAPI schema (named by
// @ApiSchema) that the web page's types are generated from (openapi:gen).

@ApiSchema({ name: 'ApiError', description: 'The one error body of the API.' })
export class ApiErrorBody {
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
export class CheeseTypeView {
  @ApiProperty({ example: 'BRIE' })
  name: string;

  @ApiProperty({ type: 'integer', description: 'enum number', example: 1 })
  number: number;
}

@ApiSchema({ name: 'CheeseTypes' })
export class CheeseTypesView {
  @ApiProperty({ type: [CheeseTypeView] })
  types: CheeseTypeView[];
}

@ApiSchema({ name: 'Cheese', description: 'A cheese, its type by name.' })
export class CheeseView {
  @ApiProperty({ description: 'type name (its number if this gateway does not know it)' })
  type: string;

  @ApiProperty({ type: 'integer', description: 'age in days', example: 43 })
  age: number;
}

@ApiSchema({ name: 'Match' })
export class MatchView {
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
export class MatchListView {
  @ApiProperty({ type: [MatchView] })
  matches: MatchView[];
}

@ApiSchema({ name: 'UploadResult', description: 'What an upload stored.' })
export class UploadView {
  @ApiProperty({ example: 'final' })
  id: string;

  @ApiProperty({ type: 'integer', example: 5242880 })
  bytes: number;

  @ApiProperty({ description: 'SHA-256 of the stored bytes, hex' })
  sha256: string;
}

@ApiSchema({ name: 'FrameEvent', description: 'Data of the SSE `frame` event.' })
export class FrameEvent {
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
export class ChatJoinedView {
  @ApiProperty({ description: 'for POST /v1/matches/{id}/chat; 128 random bits, base64url' })
  sessionId: string;
}

@ApiSchema({ name: 'ChatMessage', description: 'Data of the SSE `message` event.' })
export class ChatMessageView {
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
