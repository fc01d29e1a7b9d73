import { Metadata, type Client, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { cheesefarm } from '#proto';

type OrderFn = (
  request: cheesefarm.CheeseRequest,
  metadata: Metadata,
  options: { deadline?: number },
  callback: (err: ServiceError | null, cheese?: cheesefarm.Cheese) => void,
) => ClientUnaryCall;

/** The deadline of a call whose test gives none: long enough for a loaded CI machine. */
const DEADLINE_MS = 30_000;

function orderFn(client: Client): OrderFn {
  return (client as unknown as { order: OrderFn }).order.bind(client);
}

/** One Order call on a plain grpc-js client, with a deadline. */
export function orderCheese(
  client: Client,
  type: number,
  deadlineMs = DEADLINE_MS,
): Promise<cheesefarm.Cheese> {
  const call = orderFn(client);
  return new Promise((resolve, reject) =>
    call({ type }, new Metadata(), { deadline: Date.now() + deadlineMs }, (err, cheese) =>
      err ? reject(err) : resolve(cheese!),
    ),
  );
}

/** One Order call (a BRIE) sending `metadata`; the response headers it got. */
export function orderHeaders(client: Client, metadata: Metadata): Promise<Metadata> {
  const call = orderFn(client);
  return new Promise((resolve, reject) => {
    let headers = new Metadata();
    const deadline = Date.now() + DEADLINE_MS;
    call({ type: cheesefarm.CheeseType.BRIE }, metadata, { deadline }, (err) =>
      err ? reject(err) : resolve(headers),
    ).on('metadata', (received: Metadata) => (headers = received));
  });
}
