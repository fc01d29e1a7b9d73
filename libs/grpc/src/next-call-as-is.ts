import type { InterceptingCall, NextCall } from '@grpc/grpc-js';

/**
 * What an interceptor that only changes a call's options returns: the next
 * layer's call as it is, not wrapped in an InterceptingCall of its own,
 * which would add a layer of listeners and closures to every call. grpc-js
 * only uses the call's interface; its `Interceptor` type names the class.
 */
export function nextCallAsIs(call: ReturnType<NextCall>): InterceptingCall {
  return call as InterceptingCall;
}
