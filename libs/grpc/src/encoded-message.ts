// Not in grpc-js's index: the call behind the interceptors, which frames and writes messages.
import { BaseServerInterceptingCall } from '@grpc/grpc-js/build/src/server-interceptors.js';
import type { PackageDefinition } from '@grpc/proto-loader';

/** The gRPC message prefix: a compressed flag and the length (uint32, big-endian). */
export const GRPC_PREFIX_BYTES = 5;

/**
 * A response message already in its protobuf wire form, in a buffer that
 * starts with room for the gRPC message prefix. Sent through a server whose
 * package definition went through `passEncodedMessages`, the buffer is what
 * grpc-js writes to the HTTP/2 stream: no encoding step and no copy. `sent`
 * runs once grpc-js is done with the buffer, which may then be written over
 * (a recycled frame buffer).
 */
export class EncodedMessage {
  /** The message with its prefix: `framed` as given, the prefix filled in. */
  readonly framed: Buffer;

  constructor(
    framed: Buffer,
    readonly sent?: () => void,
  ) {
    framed[0] = 0; // not compressed
    framed.writeUInt32BE(framed.length - GRPC_PREFIX_BYTES, 1);
    this.framed = framed;
  }

  /** The message alone (protobuf wire form). */
  get bytes(): Buffer {
    return this.framed.subarray(GRPC_PREFIX_BYTES);
  }
}

/**
 * Lets every response serializer of `pkg` pass an EncodedMessage through as
 * it is; any other value is encoded as before. For Nest's
 * `onLoadPackageDefinition`, which runs before the services are added.
 */
export function passEncodedMessages(pkg: PackageDefinition): void {
  const grpcWritesFramed = writeFramedMessagesAsIs();
  for (const service of Object.values(pkg)) {
    if (!isServiceDefinition(service)) continue;
    for (const method of Object.values(service)) {
      const encode = method.responseSerialize;
      method.responseSerialize = (value: unknown) => {
        if (!(value instanceof EncodedMessage)) return encode(value);
        // Only when grpc-js frames a copy: it copies the bytes first thing.
        if (value.sent && !grpcWritesFramed) queueMicrotask(value.sent);
        return value.bytes;
      };
    }
  }
}

interface FramingCall {
  serializeMessage(value: unknown): Buffer;
}

/** Per call, the EncodedMessage grpc-js was writing last. */
const lastWritten = new WeakMap<object, EncodedMessage>();
let framedAsIs: boolean | undefined;

/**
 * grpc-js frames each response into a new buffer (`serializeMessage`: the
 * serializer's bytes copied behind a prefix), 691 KB per raw 360p frame. For
 * an EncodedMessage that copy is skipped: its buffer already holds the
 * prefix. grpc-js writes a call's messages one at a time (the next only once
 * the HTTP/2 write of the last has completed), so the buffer it wrote last is
 * free when it asks for the next. Returns false when this grpc-js has no such
 * method (the serializer then hands over the bytes, and grpc-js copies them).
 */
function writeFramedMessagesAsIs(): boolean {
  if (framedAsIs !== undefined) return framedAsIs;
  const call = BaseServerInterceptingCall.prototype as unknown as Partial<FramingCall>;
  const serialize = call.serializeMessage;
  framedAsIs = typeof serialize === 'function';
  if (!serialize) return false;
  call.serializeMessage = function (this: object, value: unknown): Buffer {
    if (!(value instanceof EncodedMessage)) return serialize.call(this, value);
    lastWritten.get(this)?.sent?.();
    lastWritten.set(this, value);
    return value.framed;
  };
  return true;
}

type MethodDefinition = { responseSerialize: (value: unknown) => Buffer };

function isServiceDefinition(value: unknown): value is Record<string, MethodDefinition> {
  if (typeof value !== 'object' || value === null || 'format' in value) return false;
  return Object.values(value).every(
    (m) => typeof (m as Partial<MethodDefinition>).responseSerialize === 'function',
  );
}
