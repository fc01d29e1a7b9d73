import type { INestMicroservice, PipeTransform } from '@nestjs/common';
import type { ApplicationConfig } from '@nestjs/core';
import { STATIC_CONTEXT } from '@nestjs/core/internal';
import type { RpcContextCreator } from '@nestjs/microservices/context/rpc-context-creator.js';
import { DEFAULT_CALLBACK_METADATA } from '@nestjs/microservices/context/rpc-metadata-constants.js';
import type { RpcProxy } from '@nestjs/microservices/context/rpc-proxy.js';
import { isObservable, type Observable } from 'rxjs';
import { catchError } from 'rxjs/operators';

type Create = RpcContextCreator['create'];
type Handler = (...args: unknown[]) => unknown;

/** The parts of Nest's RpcContextCreator (private in its types) a direct handler is made of. */
interface ContextCreatorParts {
  create: Create;
  getMetadata: RpcContextCreator['getMetadata'];
  rpcProxy: RpcProxy;
  exceptionFiltersContext: {
    create(
      instance: object,
      callback: Handler,
      module: string,
    ): Parameters<RpcProxy['handleError']>[0];
  };
  pipesContextCreator: EnhancerContext<PipeTransform>;
  guardsContextCreator: EnhancerContext<unknown>;
  interceptorsContextCreator: EnhancerContext<unknown>;
  applicationConfig?: ApplicationConfig;
}

interface EnhancerContext<T> {
  create(instance: object, callback: Handler, module: string): T[];
}

/** Where Nest keeps the context creator of an app's RPC handlers. */
interface MicroserviceInternals {
  microservicesModule?: { listenersController?: { contextCreator?: ContextCreatorParts } };
}

/**
 * Makes `app`'s RPC handlers call their controller method directly when
 * Nest would run nothing around it: no guards, interceptors or pipes (global,
 * controller's or method's, a parameter's pipes included), no pre-request
 * hooks, no custom parameter decorators, a controller that is not request-scoped.
 * Nest's handler then still runs 5 async layers and a pipe per
 * parameter with no pipe to apply (~15 promises and ~5 KB per call in
 * cheese-service); the direct one passes the same arguments, and gives the
 * method's answer, or its error through the same exception filters (Nest's
 * RpcProxy), as Nest's does. Every other handler keeps Nest's pipeline.
 * Call before `listen()`/`init()`, which create the handlers. Returns
 * whether it could (false if a Nest version keeps them elsewhere).
 */
export function directRpcHandlers(app: INestMicroservice): boolean {
  const creator = (app as unknown as MicroserviceInternals).microservicesModule?.listenersController
    ?.contextCreator;
  if (typeof creator?.create !== 'function' || typeof creator.getMetadata !== 'function')
    return false;
  const nestCreate = creator.create;
  creator.create = function create(this: ContextCreatorParts, ...args: Parameters<Create>) {
    return directHandler(creator, ...args) ?? nestCreate.apply(this, args);
  } as Create;
  return true;
}

/** The direct handler of `callback`, or undefined when Nest has work to do around it. */
function directHandler(
  creator: ContextCreatorParts,
  ...[
    instance,
    callback,
    moduleKey,
    methodName,
    contextId = STATIC_CONTEXT,
    inquirerId,
    defaultCallMetadata = DEFAULT_CALLBACK_METADATA,
    reportUnhandledErrors = false,
  ]: Parameters<Create>
): ReturnType<Create> | undefined {
  if (contextId !== STATIC_CONTEXT || inquirerId !== undefined) return undefined;
  const method = callback as Handler;
  const enhancers = [
    creator.guardsContextCreator,
    creator.interceptorsContextCreator,
    creator.pipesContextCreator,
  ];
  if (enhancers.some((context) => context.create(instance, method, moduleKey).length > 0))
    return undefined;
  if ((creator.applicationConfig?.getGlobalPreRequestHooks() ?? []).length > 0) return undefined;
  const { argsLength, getParamsMetadata } = creator.getMetadata(
    instance,
    methodName,
    defaultCallMetadata,
    'rpc',
  );
  const params = getParamsMetadata(moduleKey);
  // A custom decorator's type is its metadata key (a string), Nest's own are numbers.
  if (params.some((p) => p.pipes.length > 0 || typeof p.type !== 'number')) return undefined;

  const exceptionHandler = creator.exceptionFiltersContext.create(instance, method, moduleKey);
  const fail = (args: unknown[], error: unknown) =>
    creator.rpcProxy.handleError(exceptionHandler, args, error, reportUnhandledErrors);
  // The arguments as Nest's param factory picks them (payload, gRPC metadata, call).
  const pickers = params.map((p) => ({
    index: p.index,
    pick: p.extractValue as (...args: unknown[]) => unknown,
  }));
  const argumentsOf = (args: unknown[]): unknown[] => {
    const picked = new Array<unknown>(argsLength).fill(undefined);
    for (const { index, pick } of pickers) picked[index] = pick(...args);
    return picked;
  };
  return async (...args: unknown[]) => {
    try {
      const result: unknown = await method.apply(instance, argumentsOf(args));
      return isObservable(result)
        ? result.pipe(catchError((error: unknown) => fail(args, error)))
        : (result as Observable<unknown>);
    } catch (error) {
      return fail(args, error);
    }
  };
}
