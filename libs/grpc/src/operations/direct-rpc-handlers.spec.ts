import 'reflect-metadata';
import { afterAll, describe, expect, it } from 'vitest';
import {
  credentials,
  makeGenericClientConstructor,
  Metadata,
  status,
  type ServerUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  Controller,
  Module,
  UseGuards,
  UseInterceptors,
  type CallHandler,
  type CanActivate,
  type INestMicroservice,
  type NestInterceptor,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GrpcMethod, RpcException } from '@nestjs/microservices';
import { map, of, throwError, type Observable } from 'rxjs';
import { freePort } from '#launcher';
import { cheesefarm, grpcServiceName, loadServiceProto } from '#proto';
import { grpcServerOptions } from '../grpc-server-options.js';
import { directRpcHandlers } from './direct-rpc-handlers.js';
import { GrpcServer } from './grpc-server.js';

const { BRIE, PECORINO, ROQUEFORT, CANASTRA, EMMENTAL } = cheesefarm.CheeseType;

/** What the handler saw: whether Nest's pipeline called it (its stack), and its arguments. */
const seen: { viaNest: boolean; path: string; age: string }[] = [];

/** Every kind of answer a handler gives: a value, an Observable, errors thrown or emitted. */
function answer(
  request: cheesefarm.CheeseRequest,
  metadata: Metadata,
  call: ServerUnaryCall<unknown, unknown>,
): Promise<cheesefarm.Cheese> | Observable<cheesefarm.Cheese> | cheesefarm.Cheese {
  const age = String(metadata.get('age')[0]);
  seen.push({ viaNest: /rpc-context-creator/.test(new Error().stack!), path: call.getPath(), age });
  switch (request.type) {
    case PECORINO:
      throw new RpcException({ code: status.NOT_FOUND, message: 'no pecorino' });
    case ROQUEFORT:
      throw new Error('a bug');
    case CANASTRA:
      return of({ age: Number(age), type: request.type });
    case EMMENTAL:
      return throwError(() => new RpcException({ code: status.ABORTED, message: 'holes' }));
    default:
      return Promise.resolve({ age: Number(age), type: request.type });
  }
}

@Controller()
class PlainOrders {
  @GrpcMethod('CheeseService', 'Order')
  order(...args: Parameters<typeof answer>) {
    return answer(...args);
  }
}

class Refuse implements CanActivate {
  canActivate = () => false;
}

@Controller()
@UseGuards(Refuse)
class GuardedOrders {
  @GrpcMethod('CheeseService', 'Order')
  order(...args: Parameters<typeof answer>) {
    return answer(...args);
  }
}

class OlderByOne implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler<cheesefarm.Cheese>) {
    return next.handle().pipe(map((cheese) => ({ ...cheese, age: cheese.age + 1 })));
  }
}

@Controller()
class InterceptedOrders {
  @GrpcMethod('CheeseService', 'Order')
  @UseInterceptors(OlderByOne)
  order(...args: Parameters<typeof answer>) {
    return answer(...args);
  }
}

const apps: INestMicroservice[] = [];
afterAll(async () => {
  for (const app of apps) await app.close();
});

type Outcome = { code: number; details?: string; cheese?: cheesefarm.Cheese };

/** Serves `controller` (with or without direct handlers) and orders each cheese type once. */
async function outcomes(controller: Type, direct: boolean): Promise<Outcome[]> {
  @Module({ controllers: [controller] })
  class OrdersModule {}
  const port = await freePort();
  const app = await NestFactory.createMicroservice(OrdersModule, {
    logger: false,
    strategy: new GrpcServer(
      grpcServerOptions('cheese', { url: `127.0.0.1:${port}`, maxMessageBytes: 1 << 20 }).options,
    ),
  });
  apps.push(app);
  if (direct) expect(directRpcHandlers(app)).toBe(true);
  await app.listen();
  const service = loadServiceProto('cheese')[grpcServiceName('cheese')];
  const Client = makeGenericClientConstructor(service as never, 'CheeseService');
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as {
    Order(
      r: cheesefarm.CheeseRequest,
      m: Metadata,
      cb: (e: ServiceError | null, c?: cheesefarm.Cheese) => void,
    ): void;
    close(): void;
  };
  const results: Outcome[] = [];
  for (const type of [BRIE, PECORINO, ROQUEFORT, CANASTRA, EMMENTAL]) {
    const metadata = new Metadata();
    metadata.set('age', String(40 + type));
    results.push(
      await new Promise<Outcome>((resolve) =>
        client.Order({ type }, metadata, (err, cheese) =>
          resolve(err ? { code: err.code, details: err.details } : { code: status.OK, cheese }),
        ),
      ),
    );
  }
  client.close();
  return results;
}

describe('directRpcHandlers', () => {
  it('calls a bare handler directly, with the same arguments, answers and errors as Nest', async () => {
    seen.length = 0;
    const nest = await outcomes(PlainOrders, false);
    const viaNest = seen.splice(0);
    const direct = await outcomes(PlainOrders, true);
    expect(direct).toEqual(nest);
    expect(nest.map((o) => o.code)).toEqual([
      status.OK,
      status.NOT_FOUND,
      status.UNKNOWN,
      status.OK,
      status.ABORTED,
    ]);
    expect(nest[0]).toEqual({ code: status.OK, cheese: { age: 41, type: BRIE } });
    expect(viaNest.every((s) => s.viaNest)).toBe(true);
    expect(seen.every((s) => !s.viaNest)).toBe(true);
    expect(seen.map(({ path, age }) => ({ path, age }))).toEqual(
      viaNest.map(({ path, age }) => ({ path, age })),
    );
  });

  it("keeps Nest's pipeline for a handler with a guard or an interceptor", async () => {
    const guarded = await outcomes(GuardedOrders, true);
    expect(guarded).toEqual(await outcomes(GuardedOrders, false));
    expect(new Set(guarded.map((o) => o.code)).has(status.OK)).toBe(false);

    seen.length = 0;
    const intercepted = await outcomes(InterceptedOrders, true);
    expect(intercepted).toEqual(await outcomes(InterceptedOrders, false));
    expect(intercepted[0]).toEqual({ code: status.OK, cheese: { age: 42, type: BRIE } });
    expect(seen.every((s) => s.viaNest)).toBe(true);
  });
});
