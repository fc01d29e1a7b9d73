import { Controller } from '@nestjs/common';
import { GrpcStreamMethod } from '@nestjs/microservices';
import type { Metadata, ServerDuplexStream } from '@grpc/grpc-js';
import type { Observable } from 'rxjs';
import { stream } from '#proto';
import { ChatSessionService } from './chat-session.service.js';

/** gRPC `stream.Soccer/Chat`: wiring only, the work is in ChatSessionService. */
@Controller()
export class ChatController {
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
}
