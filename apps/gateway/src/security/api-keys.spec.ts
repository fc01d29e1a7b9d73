import { describe, expect, it } from 'vitest';
import { ApiKeys, presentedApiKey, presentedWebSocketApiKey } from './api-keys.js';

const KEY_A = 'gw-key-a-3f9c1d7e5b2a8064';
const KEY_B = 'gw-key-b-8e2b6a0d4c7f1953';

describe('ApiKeys', () => {
  it('requires nothing without keys', () => {
    expect(new ApiKeys().required).toBe(false);
    expect(new ApiKeys([]).required).toBe(false);
  });

  it('accepts each configured key exactly', () => {
    const keys = new ApiKeys([KEY_A, KEY_B]);
    expect(keys.required).toBe(true);
    expect(keys.accepts(KEY_A)).toBe(true);
    expect(keys.accepts(KEY_B)).toBe(true);
    for (const wrong of ['', KEY_A.slice(0, -1), `${KEY_A}x`, KEY_A.toUpperCase(), ` ${KEY_A}`]) {
      expect(keys.accepts(wrong)).toBe(false);
    }
  });
});

describe('presentedApiKey', () => {
  it.each([
    [{ 'x-api-key': KEY_A }, KEY_A],
    [{ authorization: `Bearer ${KEY_A}` }, KEY_A],
    [{ authorization: `bearer  ${KEY_A} ` }, KEY_A],
    // x-api-key wins over authorization.
    [{ 'x-api-key': KEY_A, authorization: `Bearer ${KEY_B}` }, KEY_A],
    [{}, undefined],
    [{ 'x-api-key': '' }, undefined],
    [{ authorization: `Basic ${KEY_A}` }, undefined],
    [{ authorization: 'Bearer' }, undefined],
    [{ authorization: `Bearer ${KEY_A} extra` }, undefined],
  ])('%j -> %s', (headers, key) => {
    expect(presentedApiKey(headers)).toBe(key);
  });
});

describe('presentedWebSocketApiKey', () => {
  const asProtocol = (key: string) => `apikey.${Buffer.from(key).toString('base64url')}`;

  it.each([
    // Headers first, as for every write.
    [{ 'x-api-key': KEY_A, 'sec-websocket-protocol': `chat.v1, ${asProtocol(KEY_B)}` }, KEY_A],
    [{ authorization: `Bearer ${KEY_A}` }, KEY_A],
    // A browser can only send subprotocols: the key base64url-encoded in one.
    [{ 'sec-websocket-protocol': `chat.v1, ${asProtocol(KEY_B)}` }, KEY_B],
    [
      { 'sec-websocket-protocol': `${asProtocol('k/e+y=with:odd@chars')},chat.v1` },
      'k/e+y=with:odd@chars',
    ],
    [{ 'sec-websocket-protocol': 'chat.v1' }, undefined],
    [{}, undefined],
    // Not base64url: a wrong key, never taken as none.
    [{ 'sec-websocket-protocol': 'chat.v1, apikey.a+b/c=' }, ''],
    [{ 'sec-websocket-protocol': 'apikey.' }, ''],
  ])('%j -> %j', (headers, key) => {
    expect(presentedWebSocketApiKey(headers)).toBe(key);
  });
});
