import { create, createRegistry, fromBinary, toBinary, toJson } from '@bufbuild/protobuf';
import type { JsonObject } from '@bufbuild/protobuf';
import { anyPack, anyUnpack, AnySchema, type Any } from '@bufbuild/protobuf/wkt';
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import { RpcException } from '@nestjs/microservices';
import {
  BadRequestSchema,
  ErrorInfoSchema,
  file_google_rpc_error_details,
  ResourceInfoSchema,
  RetryInfoSchema,
} from './generated-es/google/rpc/error_details_pb.js';
import { StatusSchema, type Status } from './generated-es/google/rpc/status_pb.js';

/**
 * The trailer that carries a `google.rpc.Status` (code, message, details) in
 * its binary form: gRPC's rich error model, read by grpc-gateway, Envoy,
 * connect, `grpc_status.rpc_status` in Python and `status.FromError` in Go.
 */
export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';

/**
 * gRPC's server pushback (the retry design, gRFC A6): a client's retry
 * policy waits this many ms before its next attempt. Sent beside RetryInfo,
 * so grpc-js retries (the gateway's) honour the same delay.
 */
export const RETRY_PUSHBACK_KEY = 'grpc-retry-pushback-ms';

/** What an error says beyond its code and message, as google.rpc error details. */
export interface ErrorDetails {
  /** ErrorInfo.reason: UPPER_SNAKE_CASE, stable, for programs to switch on. */
  reason: string;
  /** ErrorInfo.domain: who defines `reason` (the gRPC service's full name). */
  domain: string;
  /** ErrorInfo.metadata: the values the message is made of, by name. */
  metadata?: Record<string, string>;
  /** BadRequest: which request fields are wrong, and why (INVALID_ARGUMENT). */
  fieldViolations?: ReadonlyArray<{ field: string; description: string }>;
  /** RetryInfo: how long to wait before trying again (RESOURCE_EXHAUSTED, UNAVAILABLE). */
  retryDelayMs?: number;
  /** ResourceInfo: what was not found (NOT_FOUND) or already exists. */
  resource?: { type: string; name: string; description?: string };
}

/** The google.rpc.Status of `code`, `message` and `details`, its details packed as Any. */
export function richStatus(code: number, message: string, details: ErrorDetails): Status {
  const packed: Any[] = [
    anyPack(
      ErrorInfoSchema,
      create(ErrorInfoSchema, {
        reason: details.reason,
        domain: details.domain,
        metadata: details.metadata ?? {},
      }),
    ),
  ];
  if (details.fieldViolations?.length) {
    packed.push(
      anyPack(
        BadRequestSchema,
        create(BadRequestSchema, { fieldViolations: [...details.fieldViolations] }),
      ),
    );
  }
  if (details.retryDelayMs !== undefined) {
    const ms = Math.max(0, Math.round(details.retryDelayMs));
    packed.push(
      anyPack(
        RetryInfoSchema,
        create(RetryInfoSchema, {
          retryDelay: { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 },
        }),
      ),
    );
  }
  if (details.resource) {
    const { type, name, description = '' } = details.resource;
    packed.push(
      anyPack(
        ResourceInfoSchema,
        create(ResourceInfoSchema, { resourceType: type, resourceName: name, description }),
      ),
    );
  }
  return create(StatusSchema, { code, message, details: packed });
}

/**
 * The trailers of a rich error: the binary Status in `grpc-status-details-bin`,
 * and the pushback of its RetryInfo, if any.
 */
export function richStatusTrailers(status: Status): Metadata {
  const trailers = new Metadata();
  trailers.set(STATUS_DETAILS_KEY, Buffer.from(toBinary(StatusSchema, status)));
  const delayMs = retryDelayMs(status);
  if (delayMs !== undefined) trailers.set(RETRY_PUSHBACK_KEY, String(delayMs));
  return trailers;
}

/**
 * An error for a Nest gRPC handler to throw (or a stream to fail with):
 * grpc-js sends `code` and `message` as always, so plain clients see what
 * they saw before, and the details in the trailers for those that read them.
 */
export function richRpcException(
  code: GrpcStatus,
  message: string,
  details: ErrorDetails,
): RpcException {
  const metadata = richStatusTrailers(richStatus(code, message, details));
  return new RpcException({ code, message, metadata });
}

/** The Status a call's trailers carry in `grpc-status-details-bin`, if any (and if it parses). */
export function statusFromTrailers(trailers: Metadata | undefined): Status | undefined {
  const [value] = trailers?.get(STATUS_DETAILS_KEY) ?? [];
  if (!(value instanceof Buffer)) return undefined;
  try {
    return fromBinary(StatusSchema, value);
  } catch {
    return undefined;
  }
}

/** The google.rpc error detail types, to read Any values by their type URL. */
const ERROR_DETAIL_TYPES = createRegistry(file_google_rpc_error_details);

/**
 * The details of `status` in the JSON form grpc-gateway and Envoy's
 * `convert_grpc_status` use: each Any as `{"@type": "type.googleapis.com/…",
 * …fields}` in proto3 JSON (lowerCamelCase, durations as "1.5s"). A detail
 * of a type not known here keeps its bytes, base64, under `value`.
 */
export function statusDetailsJson(status: Status): JsonObject[] {
  return status.details.map((detail): JsonObject => {
    try {
      const json = toJson(AnySchema, detail, { registry: ERROR_DETAIL_TYPES }) as JsonObject;
      const { '@type': type, ...fields } = json;
      return { '@type': type, ...fields }; // @type first, as grpc-gateway writes it
    } catch {
      return { '@type': detail.typeUrl, value: Buffer.from(detail.value).toString('base64') };
    }
  });
}

/** The RetryInfo delay of `status` in ms, if it has one. */
export function retryDelayMs(status: Status): number | undefined {
  for (const detail of status.details) {
    const info = anyUnpack(detail, RetryInfoSchema);
    if (info?.retryDelay) {
      return Number(info.retryDelay.seconds) * 1000 + Math.round(info.retryDelay.nanos / 1e6);
    }
  }
  return undefined;
}
