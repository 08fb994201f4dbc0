// The workspace's files as the UI shows them: what kind each is, Markdown rendered with its raw
// HTML escaped, code highlighted, and the line diff between two versions. Pure functions: the
// views turn their results into elements.
import { diffLines } from 'diff';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import css from 'highlight.js/lib/languages/css';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import python from 'highlight.js/lib/languages/python';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import MarkdownIt from 'markdown-it';
import { plainText } from './format.js';

// A few languages agents write most, registered on the core build so the bundle stays small.
const LANGUAGES = { bash, css, javascript, json, python, sql, typescript, xml, yaml };
for (const [name, lang] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, lang);

const EXTENSION_LANGUAGE = {
  py: 'python', js: 'javascript', mjs: 'javascript', jsx: 'javascript', ts: 'typescript', tsx: 'typescript',
  json: 'json', sh: 'bash', bash: 'bash', css: 'css', sql: 'sql', yaml: 'yaml', yml: 'yaml',
  html: 'xml', xml: 'xml', svg: 'xml', toml: 'yaml',
};

function extension(path) {
  const name = String(path ?? '').split('/').pop();
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

/** The highlight.js language of a path, or null. */
export function languageOf(path) {
  return EXTENSION_LANGUAGE[extension(path)] ?? null;
}

/** How to show a file: 'markdown', 'code', 'text' or 'binary', from its path and the type the
 *  API answered it with (only text/plain and text/markdown are text). */
export function kindOf(path, contentType) {
  const type = String(contentType ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'text/markdown') return 'markdown';
  if (type !== 'text/plain') return 'binary';
  return languageOf(path) ? 'code' : 'text';
}

// html: false escapes every tag the text holds; markdown-it's own link check refuses
// javascript:, vbscript:, file: and data: URLs. Images are off: a remote image would be fetched
// (and a tracker told) just by opening the file.
const md = new MarkdownIt({ html: false, linkify: false, typographer: false });
md.disable('image');
// Entity references stay as typed ("&lt;" shows as "&lt;"): what an agent wrote is what a reader
// sees, as everywhere else in the UI.
md.disable('entity');
const defaultLink = md.renderer.rules.link_open ?? ((tokens, i, options, env, self) => self.renderToken(tokens, i, options));
md.renderer.rules.link_open = (tokens, i, options, env, self) => {
  tokens[i].attrSet('target', '_blank');
  tokens[i].attrSet('rel', 'noopener noreferrer nofollow');
  return defaultLink(tokens, i, options, env, self);
};

/** Markdown as HTML in which no tag, attribute or script of the source survives as markup. */
export function renderMarkdown(text) {
  return md.render(plainText(String(text ?? '')));
}

/** Code as highlighted HTML (highlight.js escapes the source); null for a language it lacks. */
export function highlight(text, language) {
  if (!language || !hljs.getLanguage(language)) return null;
  return hljs.highlight(plainText(String(text ?? '')), { language, ignoreIllegals: true }).value;
}

/** The line diff from `before` to `after`: [{kind: 'added'|'removed'|'same', text}], and counts. */
export function lineDiff(before, after) {
  const parts = diffLines(plainText(String(before ?? '')), plainText(String(after ?? '')));
  const lines = parts.map((p) => ({ kind: p.added ? 'added' : p.removed ? 'removed' : 'same', text: p.value }));
  const count = (kind) => parts.filter((p) => (kind === 'added' ? p.added : p.removed)).reduce((n, p) => n + p.count, 0);
  return { parts: lines, added: count('added'), removed: count('removed') };
}

/** "1.2 kB" */
export function bytes(n) {
  const v = Number(n ?? 0);
  if (v < 1000) return `${v} B`;
  if (v < 1e6) return `${(v / 1000).toFixed(1)} kB`;
  return `${(v / 1e6).toFixed(1)} MB`;
}
