import { ValidateBy, type ValidationOptions } from 'class-validator';
import { GrpcTargetError, grpcTarget } from '#grpc';

/** Why `value` is not a backend address `grpcTarget` takes; undefined when it is one. */
function grpcTargetProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  try {
    grpcTarget(value);
    return undefined;
  } catch (err) {
    if (err instanceof GrpcTargetError) return err.message;
    throw err;
  }
}

/** A backend address: host:port, a list of IP:port, or a gRPC target URI (`grpcTarget`). */
export function IsGrpcTarget(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isGrpcTarget',
      validator: {
        validate: (value) => grpcTargetProblem(value) === undefined,
        defaultMessage: (args) => grpcTargetProblem(args?.value) ?? '',
      },
    },
    options,
  );
}
