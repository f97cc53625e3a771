// Drives the Node.js etcd3 client through one scenario against the endpoint
// given as argv[2] and prints one line per observation, with nothing that
// differs between two fresh clusters (no revisions, lease IDs or member IDs),
// so that tests/node_client_test.go can compare etcd direct with herald.
'use strict';
const { Etcd3 } = require('etcd3');

const endpoint = process.argv[2];
const client = new Etcd3({ hosts: endpoint });
const out = (...xs) => console.log(xs.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' '));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const errName = (e) => `${e.constructor.name}: ${e.message}`;

async function main() {
  await client.put('/n/a').value('1');
  out('get', await client.get('/n/a').string());
  await client.put('/n/b').value('2');
  out('prefix', await client.getAll().prefix('/n/').strings());
  out('count', await client.getAll().prefix('/n/').count());

  // A lease kept alive by the client past its TTL keeps its key.
  const lease = client.lease(2);
  await lease.put('/n/leased').value('x');
  await sleep(3500);
  out('leased after 3.5s', await client.get('/n/leased').string());
  const ka = await lease.keepaliveOnce();
  out('keepalive once ttl', ka.TTL);
  await lease.revoke();
  out('leased after revoke', await client.get('/n/leased').string());

  // A lease that is not kept alive loses its key.
  const short = client.lease(1, { autoKeepAlive: false });
  await short.put('/n/short').value('y');
  await sleep(3000);
  out('short after expiry', await client.get('/n/short').string());

  // Watch a prefix: puts and deletes, in order.
  const events = [];
  const watcher = await client.watch().prefix('/n/w/').create();
  watcher.on('put', (kv) => events.push(`put ${kv.key.toString()}=${kv.value.toString()}`));
  watcher.on('delete', (kv) => events.push(`delete ${kv.key.toString()}`));
  await client.put('/n/w/1').value('a');
  await client.put('/n/w/2').value('b');
  await client.delete().key('/n/w/1');
  for (let i = 0; i < 100 && events.length < 3; i++) await sleep(50);
  await watcher.cancel();
  out('watch', events);

  // A transaction.
  const res = await client.if('/n/a', 'Value', '==', '1').then(client.put('/n/a').value('3')).else(client.get('/n/a')).commit();
  out('txn succeeded', res.succeeded, await client.get('/n/a').string());

  // A lock, held and released.
  await client.lock('/n/lock').do(async () => out('lock held'));
  out('lock released');

  // Errors: a put with a lease that does not exist, an empty key.
  try { await client.put('/n/bad').value('v').lease('1234abcd'); out('bad lease: no error'); } catch (e) { out('bad lease', errName(e)); }
  try { await client.put('').value('v'); out('empty key: no error'); } catch (e) { out('empty key', errName(e)); }

  out('done');
}

// Leases keep timers alive; end the process when the scenario ends.
main().then(
  () => { client.close(); process.exit(0); },
  (e) => { out('FAILED', errName(e)); client.close(); process.exit(1); },
);
