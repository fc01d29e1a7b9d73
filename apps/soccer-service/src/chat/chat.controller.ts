import { Controller } from '@nestjs/common';
import { GrpcMethod, GrpcStreamMethod } from '@nestjs/microservices';
import type { Metadata, ServerDuplexStream } from '@grpc/grpc-js';
import type { Observable } from 'rxjs';
import { stream } from '#proto';
import { ChatSessionService } from './chat-session.service.js';

/** gRPC `stream.Soccer/Chat` and `Say`: wiring only, the work is in ChatSessionService. */
@Controller()
export class ChatController implements Pick<stream.SoccerController, 'say'> {
  constructor(private readonly sessions: ChatSessionService) {}

  /** The call itself goes along too: its write buffer tells a slow reader. */
  @GrpcStreamMethod(stream.SOCCER_SERVICE_NAME, 'Chat')
  chat(
    messages$: Observable<stream.ChatMessage>,
    _metadata: Metadata,
    call: ServerDuplexStream<stream.ChatMessage, stream.ChatMessage>,
  ): Observable<stream.ChatMessage> {
    return this.sessions.session(messages$, call);
  }

  @GrpcMethod(stream.SOCCER_SERVICE_NAME, 'Say')
  say(request: stream.SayRequest): Promise<stream.SayResponse> {
    return this.sessions.say(request);
  }
}
