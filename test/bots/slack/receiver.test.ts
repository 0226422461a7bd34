/**
 * The receiver answers a button click before Bolt runs any listener, and every other request when
 * a listener acks. Bolt is replaced by a stand-in whose processing we hold, so the order is visible.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import type { App, ReceiverEvent } from '@slack/bolt';
import { BatonSlackReceiver } from '../../../bots/slack/receiver.js';
import { signSlackRequest } from '../../../bots/slack/verify.js';
import { systemClock } from '../../../src/clock.js';
import { silentLog } from '../../helpers/baton.js';
import { form, FORM } from './helpers.js';

const SECRET = 'receiver-test-secret-0123456789';
let server: Server;
let url: string;
let release: () => void = () => undefined;
const seen: { type: unknown; acked: boolean }[] = [];

beforeAll(async () => {
  const receiver = new BatonSlackReceiver({ signingSecret: SECRET, clock: systemClock, log: silentLog });
  // Bolt's part, held until the test releases it; then the "listener" acks.
  const bolt = {
    async processEvent(event: ReceiverEvent) {
      const entry = { type: (event.body as { type?: unknown }).type ?? 'command', acked: false };
      seen.push(entry);
      await new Promise<void>((r) => (release = r));
      await event.ack();
      entry.acked = true;
    },
  };
  receiver.init(bolt as unknown as App);
  const app = express();
  receiver.mount(app);
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
});
afterAll(async () => {
  release();
  await new Promise((r) => server.close(r));
});

async function post(body: string): Promise<{ status: number; ms: number }> {
  const ts = Math.floor(Date.now() / 1000);
  const started = Date.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': FORM, 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signSlackRequest(SECRET, ts, body) }, body });
  await res.text();
  return { status: res.status, ms: Date.now() - started };
}

it('answers a button click at once, while its listener is still running', async () => {
  const click = await post(form({ payload: JSON.stringify({ type: 'block_actions', user: { id: 'U1' }, trigger_id: '1.2.3', actions: [] }) }));
  expect(click.status).toBe(200);
  // The listener has started and has not finished: the answer did not wait for it.
  expect(seen.at(-1)).toEqual({ type: 'block_actions', acked: false });
  release();
});

it('answers a slash command only when its listener acks (its answer may carry a reply)', async () => {
  let answered = false;
  const pending = post(form({ command: '/handoff', text: 'help', user_id: 'U1', trigger_id: '4.5.6' })).then((r) => {
    answered = true;
    return r;
  });
  await new Promise((r) => setTimeout(r, 200));
  expect(seen.at(-1)).toEqual({ type: 'command', acked: false });
  expect(answered).toBe(false);
  release();
  expect((await pending).status).toBe(200);
  expect(seen.at(-1)!.acked).toBe(true);
});
