import type { ServerResponse } from 'node:http';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import fastifyWebsocket from '@fastify/websocket';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ConstraintStrategy, Handler, HTTPVersion } from 'find-my-way';
import { toApiError } from '../errors/api-error.js';
import { CHAT_SUBPROTOCOL } from './chat-socket-protocol.js';
import { ChatSocketAdmission, type ChatSocketTicket } from './chat-socket-admission.js';
import { ChatSocketService } from './chat-socket.service.js';

/** The chat's URL, as the SSE route has it: a WebSocket handshake there is the chat socket. */
export const CHAT_SOCKET_PATH = '/v1/matches/:id/chat';

/**
 * Routes requests by their `Upgrade` header: a WebSocket handshake to
 * CHAT_SOCKET_PATH goes to the chat socket, any other request to the same
 * path to the SSE route (a route without this constraint).
 */
const UPGRADE_CONSTRAINT: ConstraintStrategy<HTTPVersion.V1> = {
  name: 'upgrade',
  mustMatchWhenDerived: false,
  storage() {
    const handlers = new Map<string, Handler<HTTPVersion.V1>>();
    return {
      get: (value) => handlers.get(value) ?? null,
      set: (value, handler) => void handlers.set(value, handler),
    };
  },
  deriveConstraint: (req) => req.headers.upgrade?.toLowerCase() ?? '',
};

/** Handshakes let in, with their (never written) HTTP response. */
const admitted = new WeakMap<
  FastifyRequest,
  { ticket: ChatSocketTicket; response: ServerResponse }
>();

/**
 * Puts the chat WebSocket on the gateway's Fastify instance with
 * @fastify/websocket: `GET /v1/matches/{id}/chat?user=NAME` with
 * `Upgrade: websocket`. A handshake goes through Fastify's hooks (request id,
 * log line, metrics, span: the socket's whole life) and ChatSocketAdmission
 * before it is upgraded; a refused one gets an HTTP error with the API's
 * body. Of the subprotocols a client offers, `chat.v1` is chosen (a browser
 * must offer it alongside `apikey.<key>`, or it fails the handshake); a key
 * is never echoed. Frames over `maxPayload` bytes are refused by ws (close
 * 1009); a chat text is at most 4 bytes of UTF-8 per character.
 */
@Injectable()
export class ChatSocketRoute implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly admission: ChatSocketAdmission,
    private readonly chat: ChatSocketService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addConstraintStrategy(UPGRADE_CONSTRAINT);
    void fastify.register(fastifyWebsocket, {
      options: {
        maxPayload: 4 * this.chat.limits.maxText + 1024,
        handleProtocols: (offered) => (offered.has(CHAT_SUBPROTOCOL) ? CHAT_SUBPROTOCOL : false),
      },
      // Sockets still open once the server closes (ChatSocketService closed
      // each at shutdown, with a status): cut.
      preClose(done) {
        for (const client of this.websocketServer.clients) client.terminate();
        done();
      },
    });
    void fastify.register((scope: FastifyInstance, _options, done) => {
      scope.route({
        method: 'GET',
        url: CHAT_SOCKET_PATH,
        constraints: { upgrade: 'websocket' },
        exposeHeadRoute: false,
        preHandler: (request, reply) => this.admit(request, reply),
        // `Upgrade: websocket` without `Connection: upgrade`: Node saw no handshake.
        handler: (_request, reply) => {
          const { httpStatus, body } = toApiError(
            Object.assign(new Error('a WebSocket handshake needs Connection: Upgrade'), {
              statusCode: 400,
            }),
          );
          return reply.code(httpStatus).send(body);
        },
        wsHandler: (socket, request) => {
          const { ticket, response } = admitted.get(request)!;
          // ws wrote the 101 itself; the request's log line and metrics say so.
          response.statusCode = 101;
          this.chat.serve(socket, ticket.matchId, ticket.user);
        },
      });
      done();
    });
  }

  /** The handshake's checks; a refusal is answered here, which ends the request. */
  private async admit(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> {
    if (!request.ws) return;
    try {
      const ticket = await this.admission.admit(request, reply);
      // The connection's end, whether the upgrade happens or not, frees its slot.
      const socket = request.raw.socket;
      if (socket.destroyed) ticket.release();
      else socket.once('close', ticket.release);
      admitted.set(request, { ticket, response: reply.raw });
    } catch (err) {
      const { httpStatus, body } = toApiError(err);
      return reply.code(httpStatus).send(body);
    }
  }
}
