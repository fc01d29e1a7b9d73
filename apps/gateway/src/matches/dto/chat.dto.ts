import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

/** Query of `GET /v1/matches/:id/chat`: who joins. soccer-service judges the name itself. */
export class ChatJoinQuery {
  @ApiProperty({ minLength: 1, maxLength: 256, description: 'name in the room', example: 'ana' })
  @MaxLength(256)
  @IsNotEmpty()
  @IsString() // checked first: see ChatPostBody
  user: string;
}

/** Body of `POST /v1/matches/:id/chat`. */
export class ChatPostBody {
  /** From the `joined` event of the poster's chat stream. */
  @ApiProperty({ minLength: 1, maxLength: 64, description: 'from the `joined` event' })
  @MaxLength(64)
  @IsNotEmpty()
  // class-validator runs a property's checks from the decorator nearest to it
  // upwards, and the pipe stops at the first failure (stopAtFirstError): the
  // type check goes last, or a missing id is "longer than 64 characters".
  @IsString()
  sessionId: string;

  /** The message; its length limit (GATEWAY_CHAT_MAX_TEXT) is checked by the chat service. */
  @ApiProperty({ minLength: 1, description: 'at most GATEWAY_CHAT_MAX_TEXT characters (500)' })
  @IsNotEmpty()
  @IsString()
  text: string;
}
