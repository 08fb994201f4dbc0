import { describe, expect, it } from 'vitest';
import { bytes, highlight, kindOf, languageOf, lineDiff, renderMarkdown } from './artifacts.js';

describe('workspace files', () => {
  it('tells Markdown, code, text and the rest apart by the answer type and the path', () => {
    expect(kindOf('docs/plan.md', 'text/markdown; charset=utf-8')).toBe('markdown');
    expect(kindOf('src/a.py', 'text/plain; charset=utf-8')).toBe('code');
    expect(kindOf('notes.txt', 'text/plain; charset=utf-8')).toBe('text');
    expect(kindOf('page.html', 'text/plain; charset=utf-8')).toBe('code'); // shown as source
    expect(kindOf('chart.png', 'image/png')).toBe('binary');
    expect(kindOf('a.md', '')).toBe('binary');
    expect(languageOf('Makefile')).toBe(null);
  });

  it('renders Markdown with every tag of the source escaped and unsafe links refused', () => {
    const html = renderMarkdown('# Plan <img src=x onerror=alert(1)>\n\n[a](javascript:alert(2)) [b](https://example.com) ![t](https://t.example/p.png) &lt;b&gt;');
    expect(html).toContain('<h1>Plan &lt;img src=x onerror=alert(1)&gt;</h1>');
    expect(html).not.toMatch(/<img|href="javascript/);
    expect(html).toContain('<a href="https://example.com" target="_blank" rel="noopener noreferrer nofollow">b</a>');
    expect(html).toContain('&amp;lt;b&amp;gt;'); // an entity shows as typed
  });

  it('highlights code with its text escaped', () => {
    const html = highlight('print("<b>")', 'python');
    expect(html).toContain('&lt;b&gt;');
    expect(html).not.toContain('<b>');
    expect(highlight('x', 'cobol')).toBe(null);
  });

  it('diffs two versions line by line', () => {
    const d = lineDiff('a\nb\nc\n', 'a\nB\nc\nd\n');
    expect(d.parts.map((p) => [p.kind, p.text])).toEqual([
      ['same', 'a\n'],
      ['removed', 'b\n'],
      ['added', 'B\n'],
      ['same', 'c\n'],
      ['added', 'd\n'],
    ]);
    expect([d.added, d.removed]).toEqual([2, 1]);
  });

  it('says sizes the way people read them', () => {
    expect([bytes(12), bytes(1234), bytes(2_500_000)]).toEqual(['12 B', '1.2 kB', '2.5 MB']);
  });
});
