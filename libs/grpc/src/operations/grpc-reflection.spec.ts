import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSync } from '@grpc/proto-loader';
import { protoPath } from 'grpc-health-check';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import type { IFileDescriptorProto } from 'protobufjs/ext/descriptor/index.js';
import { withStandardMapEntries } from './grpc-reflection.js';

function healthFile(pkg: ReturnType<typeof loadSync>): IFileDescriptorProto {
  const bytes = (pkg['grpc.health.v1.HealthListResponse'] as { fileDescriptorProtos: Buffer[] })
    .fileDescriptorProtos[0];
  return descriptor.FileDescriptorProto.toObject(descriptor.FileDescriptorProto.decode(bytes));
}

describe('withStandardMapEntries', () => {
  const pkg = loadSync('health/v1/health.proto', {
    includeDirs: [join(dirname(protoPath), '../..')],
  });

  const statuses = (file: IFileDescriptorProto) => {
    const message = file.messageType!.find((m) => m.name === 'HealthListResponse')!;
    return { field: message.field![0].typeName, entry: message.nestedType![0].name };
  };

  it("renames protobufjs's map entry types to protoc's FieldNameEntry", () => {
    expect(statuses(healthFile(pkg))).toEqual({ field: 'Statuses', entry: 'Statuses' });
    expect(statuses(healthFile(withStandardMapEntries(pkg)))).toEqual({
      field: 'StatusesEntry',
      entry: 'StatusesEntry',
    });
  });

  it('leaves everything else as it was', () => {
    const fixed = healthFile(withStandardMapEntries(pkg));
    const original = healthFile(pkg);
    expect(fixed.service).toEqual(original.service);
    expect(fixed.messageType!.map((m) => m.name)).toEqual(original.messageType!.map((m) => m.name));
    expect(Object.keys(withStandardMapEntries(pkg))).toEqual(Object.keys(pkg));
  });
});
