import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { status, type ServiceError } from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { statusFromTrailers, stream } from '#proto';
import { RedisServer } from '../../../test/support/redis-server.js';
import { ChatMember, expectConsecutive, expectOwnTokenOnly, say } from './support/chat-member.js';
import { startSoccerService, type SoccerService } from './support/soccer-service.js';

const { LEFT } = stream.ChatEvent;

/** Says `request` and expects it refused with `code`, the message matching `details`. */
async function expectRefused(
  replica: SoccerService,
  request: Partial<stream.SayRequest>,
  code: status,
  details: RegExp,
): Promise<ServiceError> {
  const answer = await say(replica.client, request);
  expect(answer).toBeInstanceOf(Error);
  const err = answer as ServiceError;
  expect({ code: err.code, details: err.details }).toEqual({
    code,
    details: expect.stringMatching(details),
  });
  return err;
}

const saidOk = (answer: stream.SayResponse | ServiceError) => {
  expect(answer).not.toBeInstanceOf(Error);
  return (answer as stream.SayResponse).seq;
};

/**
 * The Say checks that hold with and without Redis: `a` and `b` are replicas
 * that share rooms (with Redis), or one and the same replica (without).
 */
function sayChecks(replicas: () => { a: SoccerService; b: SoccerService }) {
  it('says in the name of the member whose token it is, on every member stream, once', async () => {
    const { a, b } = replicas();
    const ann = await ChatMember.join(a.client, 'ann', 'say-1');
    const bob = await ChatMember.join(b.client, 'bob', 'say-1');
    expect(ann.token).not.toBe(bob.token);

    // Each says through the other replica: who speaks is the token's member.
    const annSeq = saidOk(await say(b.client, { matchId: 'say-1', sessionToken: ann.token, text: 'hi from ann' }));
    const bobSeq = saidOk(await say(a.client, { matchId: 'say-1', sessionToken: bob.token, text: 'hi from bob' }));
    for (const m of [ann, bob]) {
      await m.waitFor((x) => x.text === 'hi from bob');
      expect(m.messages().map((x) => [x.seq, x.user, x.text])).toEqual([
        [annSeq, 'ann', 'hi from ann'],
        [bobSeq, 'bob', 'hi from bob'],
      ]);
      expectConsecutive(m.received);
      // Nobody ever saw another member's token: one member cannot speak as another.
      expectOwnTokenOnly(m);
    }
    for (const m of [ann, bob]) m.call.end();
    await Promise.all([ann.ended, bob.ended]);
  }); // prettier-ignore

  it('answers NOT_FOUND for a made-up token, one of another room, and one whose member left', async () => {
    const { a, b } = replicas();
    const cid = await ChatMember.join(a.client, 'cid', 'say-2');
    const dan = await ChatMember.join(a.client, 'dan', 'say-3');
    const eve = await ChatMember.join(b.client, 'eve', 'say-2');

    const madeUp = await expectRefused(b, { matchId: 'say-2', sessionToken: 'A'.repeat(43), text: 'hi' }, status.NOT_FOUND, /^no chat session with this token in match say-2$/);
    // The reason, for programs (google.rpc.ErrorInfo).
    expect(JSON.stringify(statusFromTrailers(madeUp.metadata)?.details.map((d) => d.typeUrl))).toContain('ErrorInfo');
    // dan's token is for say-3 only.
    await expectRefused(b, { matchId: 'say-2', sessionToken: dan.token, text: 'hi' }, status.NOT_FOUND, /no chat session/);
    // Text rules are Chat's, and a refused text ends nothing.
    await expectRefused(b, { matchId: 'say-2', sessionToken: cid.token, text: '' }, status.INVALID_ARGUMENT, /must carry text/);
    await expectRefused(b, { matchId: 'say-2', sessionToken: cid.token, text: 'x'.repeat(501) }, status.INVALID_ARGUMENT, /at most 500 characters/);
    await expectRefused(b, { matchId: '../etc', sessionToken: cid.token, text: 'hi' }, status.INVALID_ARGUMENT, /invalid match id/);
    await expectRefused(b, { matchId: 'say-2', text: 'hi' }, status.INVALID_ARGUMENT, /session_token is required/);
    saidOk(await say(b.client, { matchId: 'say-2', sessionToken: cid.token, text: 'still here' }));
    await eve.waitFor((m) => m.text === 'still here');

    // cid leaves: its token is dead on every replica from its LEFT on.
    const token = cid.token;
    cid.call.end();
    await eve.waitFor((m) => m.event === LEFT && m.user === 'cid');
    for (const replica of [a, b]) {
      await expectRefused(replica, { matchId: 'say-2', sessionToken: token, text: 'ghost' }, status.NOT_FOUND, /no chat session/);
    }
    expect(eve.messages().map((m) => m.text)).toEqual(['still here']);
    expect(eve.received.at(-1)).toMatchObject({ event: LEFT, user: 'cid' });
    for (const m of [dan, eve]) m.call.end();
    await Promise.all([cid.ended, dan.ended, eve.ended]);
  }); // prettier-ignore

  it('keeps 200 sequential Says over both replicas in the order said, for every member', async () => {
    const { a, b } = replicas();
    const fay = await ChatMember.join(a.client, 'fay', 'say-4');
    const gus = await ChatMember.join(b.client, 'gus', 'say-4');
    const seqs: number[] = [];
    for (let i = 0; i < 200; i++) {
      const via = i % 2 ? a : b;
      const from = i % 3 ? fay : gus;
      seqs.push(saidOk(await say(via.client, { matchId: 'say-4', sessionToken: from.token, text: `m${i}` })));
    }
    for (const m of [fay, gus]) {
      await vi.waitFor(() => expect(m.messages()).toHaveLength(200), { timeout: 30_000 });
      expect(m.messages().map((x) => [x.seq, x.text])).toEqual(seqs.map((seq, i) => [seq, `m${i}`]));
      expectConsecutive(m.received);
    }
    for (const m of [fay, gus]) m.call.end();
    await Promise.all([fay.ended, gus.ended]);
  }, 60_000); // prettier-ignore
}

describe('Say on one soccer-service without Redis', () => {
  let a: SoccerService;
  let other: SoccerService;

  beforeAll(async () => {
    [a, other] = await Promise.all([startSoccerService(), startSoccerService()]);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), other?.stop()]);
  });

  sayChecks(() => ({ a, b: a }));

  it('knows only the sessions of its own process: another replica answers NOT_FOUND', async () => {
    const hal = await ChatMember.join(a.client, 'hal', 'say-5');
    await expectRefused(other, { matchId: 'say-5', sessionToken: hal.token, text: 'hi' }, status.NOT_FOUND, /no chat session/);
    hal.call.end();
    await hal.ended;
  }); // prettier-ignore
});

describe('Say across two soccer-service replicas sharing a real redis-server', () => {
  let redis: RedisServer;
  let a: SoccerService;
  let b: SoccerService;
  let inspect: Redis;

  beforeAll(async () => {
    redis = await RedisServer.start();
    inspect = new Redis(redis.url);
    [a, b] = await Promise.all([
      startSoccerService({ REDIS_URL: redis.url }),
      startSoccerService({ REDIS_URL: redis.url }),
    ]);
  });

  afterAll(async () => {
    inspect?.disconnect();
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  });

  sayChecks(() => ({ a, b }));

  it('keeps in Redis a hash of the token, never the token, with a TTL, deleted when the member leaves', async () => {
    const ida = await ChatMember.join(a.client, 'ida', 'say-6');
    const keys = await inspect.keys('soccer:chat:session:*');
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toContain(ida.token);
    expect(await inspect.get(keys[0])).toBe('{"room":"say-6","user":"ida"}');
    const ttl = await inspect.pttl(keys[0]);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30_000);
    ida.call.end();
    await ida.ended;
    await vi.waitFor(async () => expect(await inspect.keys('soccer:chat:session:*')).toEqual([]));
  }); // prettier-ignore

  it('says nothing after the LEFT, however close the Say comes to it', async () => {
    const jay = await ChatMember.join(a.client, 'jay', 'say-7');
    const kit = await ChatMember.join(b.client, 'kit', 'say-7');
    // jay's Says race its own leaving: each is either before its LEFT or refused.
    const answers: Promise<stream.SayResponse | ServiceError>[] = [];
    for (let i = 0; i < 20; i++) {
      answers.push(say(b.client, { matchId: 'say-7', sessionToken: jay.token, text: `j${i}` }));
      if (i === 10) jay.call.cancel();
    }
    const settled = await Promise.all(answers);
    await kit.waitFor((m) => m.event === LEFT && m.user === 'jay');
    const accepted = settled.filter((x) => !(x instanceof Error)).map((x) => (x as stream.SayResponse).seq);
    const left = kit.received.find((m) => m.event === LEFT && m.user === 'jay')!;
    const refused = settled.filter((x) => x instanceof Error);
    for (const err of refused) expect(err.code).toBe(status.NOT_FOUND);
    console.info(`Says racing the LEFT: ${accepted.length} said before it, ${refused.length} refused`);
    // Every accepted one is in the room before the LEFT, and nothing of jay's after it.
    expect(accepted.every((seq) => seq < left.seq)).toBe(true);
    expect(kit.messages().filter((m) => m.user === 'jay').map((m) => m.seq)).toEqual(accepted.sort((x, y) => x - y));
    kit.call.end();
    await Promise.all([jay.ended, kit.ended]);
  }); // prettier-ignore
});
