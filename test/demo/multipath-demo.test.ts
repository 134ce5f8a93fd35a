import assert from 'node:assert/strict';
import { test } from 'node:test';
import { output } from '../../src/terminal/output.js';
import { runMultipathDemo } from '../../src/demo/multipath-demo.js';

test('roam demo --multipath (in-process): paths come and go, the download is byte-exact', async () => {
  const json = output.json;
  output.json = true; // the result as JSON, no live screen
  try {
    const r = await runMultipathDemo({ network: 'inprocess' });
    assert.equal(r.outcome, 'done', JSON.stringify(r));
    assert.equal(r.shaOk, true, 'length and SHA-256 of the content');
    assert.equal(r.maxPaths, 2, 'Wi-Fi and cellular at once');
    assert.ok(r.pathsUsed.length >= 3, `flowpaths that carried data: ${r.pathsUsed.join(', ')}`);
  } finally {
    output.json = json;
  }
});
