import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeFrame } from '../../src/wire/encode.js';
import { type Frame, type HelloFrame, MAX_PAYLOAD } from '../../src/wire/frame.js';
import { U48_MAX } from './arbitraries.js';

const hello: HelloFrame = {
  type: 'hello',
  mode: 'attach',
  pathId: 1,
  connId: Buffer.alloc(16),
  nonce: Buffer.alloc(16),
  keyShare: Buffer.alloc(32),
  counter: 1,
  received: 0,
  recvWindow: 0,
  controlAddr: null,
  proof: Buffer.alloc(32, 1),
};
const data = {
  type: 'data',
  seq: 0,
  ack: 0,
  window: 0,
  fin: false,
  payload: Buffer.alloc(0),
} as const;

function refused(name: string, frame: unknown): void {
  assert.throws(() => encodeFrame(frame as Frame), { code: 'ROAM_BAD_INPUT' }, name);
}

test('the encoder accepts the edges of every range', () => {
  encodeFrame({ ...hello, pathId: 0xffff, counter: 0xffff_ffff, received: U48_MAX });
  encodeFrame({ ...data, seq: U48_MAX, ack: U48_MAX, window: 0xffff_ffff, fin: true });
  encodeFrame({ ...data, seq: U48_MAX + 1 - MAX_PAYLOAD, payload: Buffer.alloc(MAX_PAYLOAD) });
  encodeFrame({ type: 'error', code: 0xffff, reason: 'x'.repeat(512) });
  encodeFrame({
    type: 'path-status',
    pathId: 0xffff,
    status: 'backup',
    seq: 255,
    cost: 0xffff_ffff,
  });
});

test('the encoder refuses fields out of range with ROAM_BAD_INPUT', () => {
  refused('pathId too big', { ...hello, pathId: 0x10000 });
  refused('pathId negative', { ...hello, pathId: -1 });
  refused('pathId fractional', { ...hello, pathId: 1.5 });
  refused('connId short', { ...hello, connId: Buffer.alloc(15) });
  refused('nonce not a Buffer', { ...hello, nonce: 'x'.repeat(16) });
  refused('keyShare long', { ...hello, keyShare: Buffer.alloc(33) });
  refused('proof short', { ...hello, proof: Buffer.alloc(31) });
  refused('counter u32', { ...hello, counter: 2 ** 32 });
  refused('received u48', { ...hello, received: U48_MAX + 1 });
  refused('recvWindow NaN', { ...hello, recvWindow: Number.NaN });
  refused('mode', { ...hello, mode: 'resume' });
  refused('mode from the prototype', { ...hello, mode: 'toString' });
  refused('attach with a keyShare', { ...hello, keyShare: Buffer.alloc(32, 1) });
  refused('new with a counter', { ...hello, mode: 'new', proof: Buffer.alloc(32) });
  refused('new with a proof', { ...hello, mode: 'new', counter: 0 });
  refused('control address name', { ...hello, controlAddr: { host: 'localhost', port: 1 } });
  refused('welcome received', { ...hello, type: 'welcome', received: 2 ** 48 });
  refused('seq u48', { ...data, seq: U48_MAX + 1 });
  refused('ack negative', { ...data, ack: -1 });
  refused('window u32', { ...data, window: 2 ** 32 });
  refused('fin not boolean', { ...data, fin: 1 });
  refused('payload too big', { ...data, payload: Buffer.alloc(MAX_PAYLOAD + 1) });
  refused('payload not a Buffer', { ...data, payload: 'abc' });
  refused('FIN past 2^48 - 1', {
    ...data,
    seq: U48_MAX + 1 - 3,
    payload: Buffer.alloc(3),
    fin: true,
  });
  refused('ack frame', { type: 'ack', ack: U48_MAX + 1, window: 0 });
  refused('ping id', { type: 'ping', id: -1 });
  refused('pong id', { type: 'pong', id: 2 ** 32 });
  refused('error code', { type: 'error', code: 0x10000, reason: '' });
  refused('error reason bytes', { type: 'error', code: 1, reason: 'é'.repeat(257) });
  const status = { type: 'path-status', pathId: 1, status: 'removed', seq: 0, cost: 0 } as const;
  refused('path-status seq u8', { ...status, seq: 256 });
  refused('path-status pathId', { ...status, pathId: 0x10000 });
  refused('path-status status', { ...status, status: 'gone' });
  refused('path-status status from the prototype', { ...status, status: 'toString' });
  refused('path-status cost negative', { ...status, cost: -1 });
  refused('path-status cost fractional', { ...status, cost: 0.5 });
  refused('path-status cost u32', { ...status, cost: 2 ** 32 });
  refused('unknown type', { type: 'nope' });
});
