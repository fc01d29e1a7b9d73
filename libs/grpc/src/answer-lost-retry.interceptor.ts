import {
  InterceptingCall,
  status as Status,
  type Interceptor,
  type NextCall,
  type StatusObject,
} from '@grpc/grpc-js';
import { nextCallAsIs } from './next-call-as-is.js';

/**
 * Repeats once, within the same deadline, a unary call of `methodPaths`
 * whose answer was cut off: the server had begun to answer (response
 * headers), then the connection broke before the status (a replica killed
 * mid-answer; grpc-js servers send the status a moment after the message).
 *
 * The service config's retry policy cannot: by the gRPC retry design a call
 * is committed to its attempt once response headers arrive. So this is only
 * for methods that are safe to repeat even after the server ran them
 * (CLIENT_RETRIED_METHODS). Calls that fail before any answer are left to
 * the retry policy; streams are never repeated (their messages were passed
 * on as they came).
 *
 * Place it after the deadline interceptor, so that the repeat gets the same
 * absolute deadline.
 */
export function answerLostRetryInterceptor(methodPaths: Iterable<string>): Interceptor {
  const repeatable = new Set(methodPaths);
  return (options, nextCall) => {
    const { path, requestStream, responseStream } = options.method_definition;
    if (requestStream || responseStream || !repeatable.has(path)) {
      return nextCallAsIs(nextCall(options));
    }
    let request: unknown;
    let repeat: ReturnType<NextCall> | undefined;
    let cancelled = false;
    return new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        let answered = false;
        // The one response message waits for the status: if the call is
        // repeated, the caller must get the repeat's message only.
        let held: { message: unknown; pass: (message: unknown) => void } | undefined;
        next(metadata, {
          onReceiveMetadata(received, pass) {
            answered = true;
            pass(received);
          },
          onReceiveMessage(message, pass) {
            held = { message, pass };
          },
          onReceiveStatus(status: StatusObject, pass) {
            if (!answerLost(status) || !answered || cancelled) {
              if (held) held.pass(held.message);
              pass(status);
              return;
            }
            let repeated: unknown;
            repeat = nextCall(options);
            // The same metadata, not a copy made in advance for every call:
            // grpc-js copies it before sending, and the layers below only
            // set headers (the bearer token), which the repeat sets again.
            repeat.start(metadata, {
              // The caller has the first attempt's response headers already.
              onReceiveMetadata: () => undefined,
              onReceiveMessage: (message: unknown) => (repeated = message),
              onReceiveStatus: (final: StatusObject) => {
                if (repeated !== undefined) listener.onReceiveMessage(repeated);
                listener.onReceiveStatus(final);
              },
            });
            repeat.sendMessage(request);
            repeat.halfClose();
          },
        });
      },
      sendMessage(message, next) {
        request = message;
        next(message);
      },
      cancel(next) {
        cancelled = true;
        repeat?.cancelWithStatus(Status.CANCELLED, 'Cancelled on client');
        next();
      },
    });
  };
}

/**
 * Whether a status says the answer was cut off rather than given: grpc-js
 * reports a connection that broke under a call as UNAVAILABLE, or, when the
 * stream closed cleanly (the peer's FIN) before any status came, as this
 * INTERNAL of its own making.
 */
function answerLost(status: StatusObject): boolean {
  return (
    status.code === Status.UNAVAILABLE ||
    (status.code === Status.INTERNAL && status.details.includes('Call ended without gRPC status'))
  );
}
