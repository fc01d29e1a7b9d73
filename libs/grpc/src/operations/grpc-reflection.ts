import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Server } from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import type { IDescriptorProto, IFileDescriptorProto } from 'protobufjs/ext/descriptor/index.js';

const require = createRequire(import.meta.url);

/**
 * The protos of the services every server adds beside its own: Health and
 * Reflection itself, so that a reflection client lists and describes them
 * too (as grpcurl expects of any server).
 */
function operationsPackages(): PackageDefinition {
  const reflectionProtos = join(dirname(require.resolve('@grpc/reflection')), '../proto');
  const load = (file: string, root: string) => loadSync(file, { includeDirs: [root] });
  return {
    ...load('health/v1/health.proto', join(dirname(healthProtoPath), '../..')),
    ...load('grpc/reflection/v1/reflection.proto', reflectionProtos),
    ...load('grpc/reflection/v1alpha/reflection.proto', reflectionProtos),
  };
}

/**
 * Adds gRPC server reflection (grpc.reflection.v1 and v1alpha) to `server`,
 * describing `served` (the package definition the server's own services were
 * loaded from) plus Health and Reflection.
 */
export function addReflection(server: Pick<Server, 'addService'>, served: PackageDefinition): void {
  const all = withStandardMapEntries({ ...served, ...operationsPackages() });
  new ReflectionService(all).addToServer(server);
}

/**
 * protobufjs describes a `map<K, V> statuses` field with a nested entry type
 * named `Statuses`; protoc (and every strict descriptor reader, such as Go's
 * protodesc inside `buf curl` and grpcurl) requires `StatusesEntry`, and
 * rejects the whole file otherwise. grpc.health.v1 has such a map
 * (HealthListResponse.statuses). Renames each map entry type to protoc's name,
 * in every file descriptor of `pkg`.
 */
export function withStandardMapEntries(pkg: PackageDefinition): PackageDefinition {
  const fixed = new Map<string, Buffer>(); // by encoded bytes, shared between entries
  const out: PackageDefinition = {};
  for (const [name, entry] of Object.entries(pkg)) {
    const files = (entry as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos;
    if (!Array.isArray(files)) {
      out[name] = entry;
      continue;
    }
    const fileDescriptorProtos = files.map((bytes) => {
      const key = Buffer.from(bytes).toString('base64');
      let result = fixed.get(key);
      if (!result) {
        result = fixFile(bytes);
        fixed.set(key, result);
      }
      return result;
    });
    out[name] = { ...entry, fileDescriptorProtos } as PackageDefinition[string];
  }
  return out;
}

function fixFile(bytes: Buffer): Buffer {
  const file = descriptor.FileDescriptorProto.toObject(
    descriptor.FileDescriptorProto.decode(bytes),
  ) as IFileDescriptorProto;
  let changed = false;
  const visit = (message: IDescriptorProto) => {
    for (const nested of message.nestedType ?? []) visit(nested);
    for (const field of message.field ?? []) {
      const entry = message.nestedType?.find(
        (t) => t.options?.mapEntry && field.typeName?.split('.').at(-1) === t.name,
      );
      const expected = `${camel(field.name ?? '')}Entry`;
      if (!entry || entry.name === expected) continue;
      const old = entry.name ?? '';
      entry.name = expected;
      field.typeName = `${field.typeName!.slice(0, -old.length)}${expected}`;
      changed = true;
    }
  };
  for (const message of file.messageType ?? []) visit(message);
  if (!changed) return Buffer.from(bytes);
  return Buffer.from(
    descriptor.FileDescriptorProto.encode(descriptor.FileDescriptorProto.fromObject(file)).finish(),
  );
}

/** protoc's map entry name stem: foo_bar -> FooBar. */
function camel(fieldName: string): string {
  return fieldName
    .split('_')
    .map((part) => (part ? part[0].toUpperCase() + part.slice(1) : ''))
    .join('');
}
