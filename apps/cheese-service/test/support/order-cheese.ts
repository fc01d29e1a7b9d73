import { Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import type { cheesefarm } from '#proto';

type OrderFn = (
  request: cheesefarm.CheeseRequest,
  metadata: Metadata,
  options: { deadline?: number },
  callback: (err: ServiceError | null, cheese?: cheesefarm.Cheese) => void,
) => void;

/** One Order call on a plain grpc-js client, with a deadline. */
export function orderCheese(
  client: Client,
  type: number,
  deadlineMs = 30_000,
): Promise<cheesefarm.Cheese> {
  const call = (client as unknown as { order: OrderFn }).order.bind(client);
  return new Promise((resolve, reject) =>
    call({ type }, new Metadata(), { deadline: Date.now() + deadlineMs }, (err, cheese) =>
      err ? reject(err) : resolve(cheese!),
    ),
  );
}
