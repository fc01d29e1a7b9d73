/**
 * The request bodies of gRPC-Web (binary, base64 text, JSON) and of
 * Connect's streams and binary unary calls: read by connect itself, never by
 * Fastify. (Connect's JSON unary calls are `application/json`, which Fastify
 * parses with the same limits as every JSON body.)
 */
export const RPC_BODY_TYPES =
  /^application\/(grpc-web(-text)?(\+(proto|json))?|connect\+(proto|json)|proto)(;|$)/;

/** Route config (`@RouteConfig(RPC_BODY)`) of the route whose RPC_BODY_TYPES bodies connect reads. */
export const RPC_BODY = { rpcBody: true } as const;

/** Whether a request of `contentType` is a gRPC-Web or Connect call (rather than, say, REST). */
export function isRpcContentType(contentType: string | undefined): boolean {
  const type = contentType?.split(';')[0].trim().toLowerCase() ?? '';
  return type === 'application/json' || RPC_BODY_TYPES.test(type);
}

/** Connect's streaming content types: such a request streams, whatever it is sent to. */
export function isConnectStream(contentType: string | undefined): boolean {
  return /^application\/connect\+/i.test(contentType ?? '');
}

/** `/package.Service/Method`: the path of a method, as gRPC names it. */
export const RPC_PATH = /^\/[A-Za-z_][\w.]*\.[A-Za-z_]\w*\/[A-Za-z_]\w*$/;
