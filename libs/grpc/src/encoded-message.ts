import type { PackageDefinition } from '@grpc/proto-loader';

/**
 * A response message already in its protobuf wire form. Sent through a
 * server whose package definition went through `passEncodedMessages`, its
 * bytes are what grpc-js frames, with no encoding step (and no copy) of ours.
 * `sent` runs once grpc-js has copied them into its frame: the bytes may then
 * be written over (a recycled frame buffer).
 */
export class EncodedMessage {
  constructor(
    readonly bytes: Buffer,
    readonly sent?: () => void,
  ) {}
}

/**
 * Lets every response serializer of `pkg` pass an EncodedMessage through as
 * it is; any other value is encoded as before. For Nest's
 * `onLoadPackageDefinition`, which runs before the services are added.
 */
export function passEncodedMessages(pkg: PackageDefinition): void {
  for (const service of Object.values(pkg)) {
    if (!isServiceDefinition(service)) continue;
    for (const method of Object.values(service)) {
      const encode = method.responseSerialize;
      method.responseSerialize = (value: unknown) => {
        if (!(value instanceof EncodedMessage)) return encode(value);
        // grpc-js copies the returned bytes into its frame before it does anything else.
        if (value.sent) queueMicrotask(value.sent);
        return value.bytes;
      };
    }
  }
}

type MethodDefinition = { responseSerialize: (value: unknown) => Buffer };

function isServiceDefinition(value: unknown): value is Record<string, MethodDefinition> {
  if (typeof value !== 'object' || value === null || 'format' in value) return false;
  return Object.values(value).every(
    (m) => typeof (m as Partial<MethodDefinition>).responseSerialize === 'function',
  );
}
