import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatUrl, parseUrl, parseUrlList, urlHostname, urlPort } from '../../../src/util/urls.js';

test('parseUrlList sorts and de-duplicates like etcd 3.5 UniqueURLsFromFlag', () => {
  const l = parseUrlList('http://b:2379, http://a:2379,http://b:2379');
  assert.deepEqual(l.map(formatUrl), ['http://a:2379', 'http://b:2379']);
});

test('empty string is the empty list', () => {
  assert.deepEqual(parseUrlList(''), []);
});

test("etcd's URL errors", () => {
  assert.throws(() => parseUrl('notaurl'), { message: 'URL scheme must be http, https, unix, or unixs: notaurl' });
  assert.throws(() => parseUrl('ftp://a:1'), /URL scheme must be http, https, unix, or unixs/);
  assert.throws(() => parseUrl('http://127.0.0.1:2379/foo'), { message: 'URL must not contain a path: http://127.0.0.1:2379/foo' });
  assert.throws(() => parseUrl('http://127.0.0.1:2379/'), /must not contain a path/);
  assert.throws(() => parseUrl('http://localhost'), { message: 'URL address does not have the form "host:port": http://localhost' });
  assert.throws(() => parseUrl('http://::1:2379'), /host:port/);
});

test('IPv6, default ports and formatting', () => {
  const u = parseUrl('http://[::1]:2379');
  assert.equal(urlHostname(u), '::1');
  assert.equal(urlPort(u), 2379);
  assert.equal(formatUrl(u), 'http://[::1]:2379');
  // WHATWG drops ":80" on http; formatUrl puts it back.
  assert.equal(formatUrl(parseUrl('http://127.0.0.1:80')), 'http://127.0.0.1:80');
  assert.equal(formatUrl(parseUrl('unix://sock:0')), 'unix://sock:0');
});
