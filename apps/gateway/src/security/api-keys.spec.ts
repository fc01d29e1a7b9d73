import { describe, expect, it } from 'vitest';
import { ApiKeys, presentedApiKey } from './api-keys.js';

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
