import { createRequire } from 'node:module';

/**
 * Works around grpc/grpc-node#3068 (open in @grpc/grpc-js 1.14.7): after a
 * server's graceful GOAWAY (its `grpc.max_connection_age_ms`, or a drain on
 * SIGTERM), the client's next keepalive PING fails on the closing HTTP/2
 * session, and grpc-js then drops the connection with every call still on
 * it: `14 UNAVAILABLE: Connection dropped`. With the services' 5-minute
 * connection age and the clients' 30 s keepalive, every live Watch, chat and
 * upload open at that moment failed within 30 s instead of running on, and
 * an upload could not outlast a rollout's first 30 s.
 *
 * The fix: no keepalive PING on a session that is closing (Node closes a
 * client session on a GOAWAY without error; its calls run to their end, and
 * the server still bounds them). grpc-js keeps its transport class private,
 * so its `canSendPing` is wrapped on the first transport the connector
 * makes. Should grpc-js change shape, nothing is wrapped, and
 * keepalive-after-goaway.spec.ts fails; it also says when grpc-js no longer
 * needs this.
 */
let installed = false;

interface Transport {
  session: { closed: boolean };
  canSendPing: (this: Transport) => boolean;
}

interface Connector {
  connect: (this: Connector, ...args: unknown[]) => Promise<Transport>;
}

export function keepCallsAliveAfterGoaway(): void {
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  const { Http2SubchannelConnector } = require('@grpc/grpc-js/build/src/transport.js') as {
    Http2SubchannelConnector?: { prototype: Connector };
  };
  const connector = Http2SubchannelConnector?.prototype;
  if (typeof connector?.connect !== 'function') return;
  const connect = connector.connect;
  let wrapped = false;
  connector.connect = async function (this: Connector, ...args: unknown[]) {
    const transport = await connect.apply(this, args);
    if (!wrapped) {
      wrapped = true;
      const proto = Object.getPrototypeOf(transport) as Transport;
      const canSendPing = proto.canSendPing;
      if (typeof canSendPing === 'function') {
        proto.canSendPing = function (this: Transport) {
          return !this.session.closed && canSendPing.call(this);
        };
      }
    }
    return transport;
  };
}
