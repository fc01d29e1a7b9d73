import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

/** Query of `GET /v1/matches/:id/chat`: who joins. soccer-service judges the name itself. */
export class ChatJoinQuery {
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  user: string;
}

/** Body of `POST /v1/matches/:id/chat`. */
export class ChatPostBody {
  /** From the `joined` event of the poster's chat stream. */
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  sessionId: string;

  /** The message; its length limit (GATEWAY_CHAT_MAX_TEXT) is checked by the chat service. */
  @IsString()
  @IsNotEmpty()
  text: string;
}
