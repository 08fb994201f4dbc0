import { describe, expect, it } from 'vitest';
import { swarmOrigin } from './index.js';

describe('swarmOrigin', () => {
  it.each([
    ['schedule:nightly', 'schedule', 'Schedule', 'nightly'],
    ['webhook:github-issues', 'webhook', 'Webhook', 'github-issues'],
    ['pubsub:ci', 'pubsub', 'Pub/Sub', 'ci'],
    ['alice#k-1a2b', 'api', 'API', 'alice'],
    ['ops#team#k-9', 'api', 'API', 'ops#team'],
    ['demo', 'other', 'Other', 'demo'],
    ['', 'other', 'Unknown', ''],
  ])('%s started by %s', (createdBy, kind, label, detail) => {
    expect(swarmOrigin(createdBy)).toEqual({ kind, label, detail });
  });

  it('takes no prefix it does not know, and no inherited name, as an origin', () => {
    expect(swarmOrigin('constructor:x').kind).toBe('other');
    expect(swarmOrigin('__proto__:x').kind).toBe('other');
    expect(swarmOrigin(':x').kind).toBe('other');
  });

  it('survives what a document may hold instead of a string', () => {
    expect(swarmOrigin(undefined).label).toBe('Unknown');
    expect(swarmOrigin({ toString: () => 'schedule:x' }).label).toBe('Unknown');
  });

  it('keeps hostile text as text for the view to render', () => {
    expect(swarmOrigin('schedule:<img src=x onerror=alert(1)>').detail).toBe('<img src=x onerror=alert(1)>');
  });
});
