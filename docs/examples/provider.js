#!/usr/bin/env node
// SPDX-License-Identifier: GPL-2.0-or-later
// A smswake provider in Node.js with its built-in modules alone (Node 18 or later): it receives
// webhooks and checks their signatures (Standard Webhooks), reads the event stream, and submits
// a message to a device.
//
//     node provider.js --url http://127.0.0.1:8080 --key swp_... --device 1 --listen 127.0.0.1:9000
//
// It prints one line per event it hears of ("webhook message.acked ..." and "stream
// message.acked ...") and exits 0 once the message is acknowledged on both, 1 after --timeout.
'use strict';
const crypto = require('crypto');
const http = require('http');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
for (const k of ['url', 'key', 'device']) if (!args[k]) { console.error(`--${k} is required`); process.exit(2); }
const listen = args.listen || '127.0.0.1:9000';
const timeout = Number(args.timeout || 60) * 1000;
const seen = { webhook: false, stream: false };
let messageId = null;
let secret = null;

function api(method, path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, args.url), {
      method, headers: { Authorization: `Bearer ${args.key}`, ...headers },
    }, (res) => {
      let data = '';
      res.on('data', (c) => { data += c; });
      res.on('end', () => resolve({ status: res.statusCode, json: data && /json/.test(res.headers['content-type'] || '') ? JSON.parse(data) : null }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

// Standard Webhooks: HMAC-SHA256 over "id.timestamp.body" keyed with the secret's base64 part.
function verify(headers, body) {
  const id = headers['webhook-id'], ts = headers['webhook-timestamp'], sigs = headers['webhook-signature'];
  if (!id || !ts || !sigs || Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const key = Buffer.from(secret.split('_')[1], 'base64');
  const want = crypto.createHmac('sha256', key).update(`${id}.${ts}.`).update(body).digest();
  return sigs.split(' ').some((s) => {
    if (!s.startsWith('v1,')) return false;
    const got = Buffer.from(s.slice(3), 'base64');
    return got.length === want.length && crypto.timingSafeEqual(got, want);
  });
}

function note(source, ev) {
  const d = ev.data;
  console.log(`${source} ${ev.type} message=${d.message_id} device=${d.device_id} state=${d.state}`);
  if (ev.type === 'message.acked' && d.message_id === messageId) seen[source] = true;
  if (seen.webhook && seen.stream) finish(0);
}

let hookId = null;
async function finish(code) {
  if (hookId) await api('DELETE', `/v1/webhooks/${hookId}`).catch(() => {});
  process.exit(code);
}

// GET /v1/events; reconnects with Last-Event-ID after a break.
function stream(lastId) {
  const headers = { Authorization: `Bearer ${args.key}`, Accept: 'text/event-stream' };
  if (lastId) headers['Last-Event-ID'] = lastId;
  const req = http.get(new URL('/v1/events', args.url), { headers }, (res) => {
    let buf = '';
    let ev = {};
    res.setEncoding('utf8');
    res.on('data', (chunk) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).replace(/\r$/, '');
        buf = buf.slice(i + 1);
        if (line.startsWith('id: ')) ev.id = line.slice(4);
        else if (line.startsWith('data: ')) ev.data = line.slice(6);
        else if (line === '' && ev.data) {
          lastId = ev.id || lastId;
          const obj = JSON.parse(ev.data);
          if (obj.type) note('stream', obj);
          ev = {};
        }
      }
    });
    res.on('end', () => setTimeout(() => stream(lastId), 1000));
  });
  req.on('error', () => setTimeout(() => stream(lastId), 1000));
}

async function main() {
  const [host, port] = [listen.slice(0, listen.lastIndexOf(':')), Number(listen.slice(listen.lastIndexOf(':') + 1))];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (!verify(req.headers, body)) {
        console.log('webhook with a bad signature refused');
        res.writeHead(401).end();
        return;
      }
      res.writeHead(204).end();
      note('webhook', JSON.parse(body));
    });
  });
  await new Promise((resolve) => server.listen(port, host, resolve));
  const hookUrl = `http://${host}:${server.address().port}/smswake`;
  const hook = await api('POST', '/v1/webhooks', JSON.stringify({ url: hookUrl, events: ['message.fetched', 'message.acked'] }),
    { 'Content-Type': 'application/json' });
  if (hook.status !== 201) { console.error(`POST /v1/webhooks: ${hook.status}`); process.exit(1); }
  secret = hook.json.secret;
  hookId = hook.json.id;
  stream(null);
  await new Promise((r) => setTimeout(r, 500)); // the stream starts with what happens from now on
  const msg = await api('POST', `/v1/devices/${args.device}/messages`, 'hello from node',
    { 'Content-Type': 'text/plain', Urgency: 'high', TTL: '3600' });
  if (msg.status !== 201) { console.error(`submit: ${msg.status}`); process.exit(1); }
  messageId = msg.json.id;
  console.log(`submitted message ${msg.json.id} (seq ${msg.json.seq})`);
  setTimeout(() => finish(1), timeout);
}

main().catch((e) => { console.error(e.message); process.exit(1); });
