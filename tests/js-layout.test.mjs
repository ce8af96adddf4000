// The loader stays split into small modules: no file in js/ over 450 lines
// and no function or method over 80 lines (measured from its header to its
// closing brace by a brace-matching scan that skips strings, template
// literals, comments and regular expressions); and the state its modules
// share stays out of the public entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as entry from '../js/linalloc.js';
import { INTERNAL } from '../js/internal.js';

const JS = fileURLToPath(new URL('../js/', import.meta.url));
const MAX_FILE_LINES = 450;
const MAX_FUNCTION_LINES = 80;

/** Keywords whose `(…) {` opens a block, not a function body. */
const BLOCK_KEYWORDS = new Set(['if', 'for', 'while', 'switch', 'catch', 'with']);
/** Words after which a `/` starts a regular expression rather than a division. */
const REGEX_AFTER_WORDS = new Set(['return', 'typeof', 'case', 'do', 'else', 'in', 'of', 'new', 'delete', 'void', 'throw', 'instanceof', 'yield', 'await']);

/** Lines of a source text (a final newline does not start another line). */
function lineCount(src) {
  const n = src.split('\n').length;
  return src.endsWith('\n') ? n - 1 : n;
}

/**
 * The code tokens of `src` that matter for nesting: words, `(`, `)`, `{`,
 * `}`, `=>`, and other punctuation, each with its line. Strings, template
 * text, comments and regular expressions are skipped; a template's `${…}`
 * is scanned as code.
 */
function tokenize(src) {
  const out = [];
  const templates = []; // brace depth at which each open `${` returns to its template
  let depth = 0;
  let line = 1;
  let i = 0;
  const push = (t) => out.push({ t, line });
  const prev = () => out[out.length - 1]?.t;
  const countLines = (from, to) => {
    for (let k = from; k < to; k++) if (src[k] === '\n') line++;
  };
  // skips template text from i (just after ` or }); stops after the closing ` or at ${
  const templateText = () => {
    while (i < src.length) {
      const ch = src[i];
      if (ch === '\\') { countLines(i, i + 2); i += 2; continue; }
      if (ch === '`') { i++; push('`str`'); return; }
      if (ch === '$' && src[i + 1] === '{') { i += 2; templates.push(depth); depth++; push('${'); return; }
      if (ch === '\n') line++;
      i++;
    }
  };
  while (i < src.length) {
    const ch = src[i];
    if (ch === '\n') { line++; i++; continue; }
    if (/\s/.test(ch)) { i++; continue; }
    if (ch === '/' && src[i + 1] === '/') { while (i < src.length && src[i] !== '\n') i++; continue; }
    if (ch === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? src.length : end + 2;
      countLines(i, stop);
      i = stop;
      continue;
    }
    if (ch === "'" || ch === '"') {
      let k = i + 1;
      while (k < src.length && src[k] !== ch && src[k] !== '\n') k += src[k] === '\\' ? 2 : 1;
      i = k + 1;
      push('"str"');
      continue;
    }
    if (ch === '`') { i++; templateText(); continue; }
    if (ch === '/') {
      const p = prev();
      const division = p !== undefined && (/^[\w$#]/.test(p) && !REGEX_AFTER_WORDS.has(p) || p === ')' || p === ']' || p === '"str"' || p === '`str`');
      if (!division) {
        let k = i + 1;
        let inClass = false;
        while (k < src.length && src[k] !== '\n' && (inClass || src[k] !== '/')) {
          if (src[k] === '\\') k++;
          else if (src[k] === '[') inClass = true;
          else if (src[k] === ']') inClass = false;
          k++;
        }
        k++;
        while (/[a-z]/.test(src[k] ?? '')) k++;
        i = k;
        push('/re/');
        continue;
      }
    }
    const word = /^[A-Za-z_$#][\w$]*|^\d[\w.]*/.exec(src.slice(i, i + 100));
    if (word) { push(word[0]); i += word[0].length; continue; }
    if (ch === '=' && src[i + 1] === '>') { push('=>'); i += 2; continue; }
    if (ch === '{') depth++;
    if (ch === '}') {
      depth--;
      if (templates.length && templates[templates.length - 1] === depth) {
        templates.pop();
        i++;
        templateText();
        continue;
      }
    }
    push(ch);
    i++;
  }
  return out;
}

/**
 * Every function body in `src`: `{ name, start, end, lines }`, from the line
 * of its name (or of `=>`) to the line of its closing brace. Covers function
 * declarations and expressions, methods, getters, setters, constructors and
 * arrow functions with a block body.
 */
function functionSpans(src) {
  const tokens = tokenize(src);
  const parens = []; // indices of open `(`
  const openOf = new Map(); // index of `)` -> index of its `(`
  const braces = []; // { fn: { name, start } | null }
  const spans = [];
  tokens.forEach((tok, k) => {
    if (tok.t === '(') parens.push(k);
    else if (tok.t === ')') openOf.set(k, parens.pop());
    else if (tok.t === '{') braces.push({ fn: functionAt(tokens, openOf, k) });
    else if (tok.t === '}') {
      const b = braces.pop();
      if (b?.fn) spans.push({ ...b.fn, end: tok.line, lines: tok.line - b.fn.start + 1 });
    }
  });
  return spans;
}

/** `{ name, start }` when the `{` at token `k` opens a function body, else null. */
function functionAt(tokens, openOf, k) {
  const before = tokens[k - 1];
  if (!before) return null;
  if (before.t === '=>') return { name: '(arrow)', start: before.line };
  if (before.t !== ')') return null;
  const open = openOf.get(k - 1);
  const head = tokens[open - 1];
  if (!head) return null;
  if (BLOCK_KEYWORDS.has(head.t)) return null;
  if (head.t === 'await' && tokens[open - 2]?.t === 'for') return null;
  if (!/^[\w$#]/.test(head.t)) return { name: '(anonymous)', start: head.line };
  return { name: head.t === 'function' ? '(anonymous)' : head.t, start: head.line };
}

const files = readdirSync(JS).filter((f) => f.endsWith('.js')).sort();

test('the scanner measures: strings, templates, regexps and comments do not fool it', () => {
  const body = Array.from({ length: 79 }, (_, k) => `  x += ${k}; // }`).join('\n');
  const src = [
    'export function long(x) {', // 1
    body, // 2..80
    '  return x;', // 81
    '}', // 82
    "const s = '}{'; const t = `a ${'}'} ${`{${1}`} b`; const r = /[}{]\\//g; /* } */",
    'class A {',
    '  get y() { return 1; }',
    '  m(a) {',
    '    if (a) { return () => {',
    '      return a / 2 / 3;',
    '    }; }',
    '  }',
    '}',
  ].join('\n');
  const spans = functionSpans(src);
  assert.deepEqual(spans.map((s) => [s.name, s.start, s.lines]), [
    ['long', 1, 82],
    ['y', 85, 1],
    ['(arrow)', 87, 3],
    ['m', 86, 5],
  ]);
  assert.ok(spans[0].lines > MAX_FUNCTION_LINES, 'an 82-line function is over the limit');
  assert.equal(lineCount('a\nb\n'), 2);
  assert.equal(lineCount('a\nb'), 2);
});

test('an inner function declared after return counts towards its outer function', () => {
  const src = ['async function outer() {', '  return inner();', '  async function inner() {', '    return 1;', '  }', '}'].join('\n');
  assert.deepEqual(functionSpans(src).map((s) => [s.name, s.lines]), [['inner', 3], ['outer', 6]]);
});

test(`no file in js/ has more than ${MAX_FILE_LINES} lines`, (t) => {
  assert.ok(files.includes('linalloc.js') && files.length > 5, `js/ files: ${files.join(', ')}`);
  const counts = files.map((f) => [f, lineCount(readFileSync(JS + f, 'utf8'))]);
  t.diagnostic(counts.map(([f, n]) => `${f} ${n}`).join(', '));
  const over = counts.filter(([, n]) => n > MAX_FILE_LINES);
  assert.deepEqual(over, [], `files over ${MAX_FILE_LINES} lines`);
});

test(`no function or method in js/ has more than ${MAX_FUNCTION_LINES} lines`, (t) => {
  const all = files.flatMap((f) => functionSpans(readFileSync(JS + f, 'utf8')).map((s) => ({ file: f, ...s })));
  assert.ok(all.length > 100, `found only ${all.length} functions: the scan is broken`);
  const longest = all.reduce((a, b) => (b.lines > a.lines ? b : a));
  t.diagnostic(`${all.length} functions; longest: ${longest.file} ${longest.name} (line ${longest.start}), ${longest.lines} lines`);
  const over = all.filter((s) => s.lines > MAX_FUNCTION_LINES).map((s) => `${s.file}:${s.start} ${s.name} (${s.lines} lines)`);
  assert.deepEqual(over, [], `functions over ${MAX_FUNCTION_LINES} lines`);
});

test('the entry js/linalloc.js is short and only re-exports', () => {
  const src = readFileSync(JS + 'linalloc.js', 'utf8');
  assert.ok(lineCount(src) <= 200, `js/linalloc.js has ${lineCount(src)} lines`);
  assert.deepEqual(functionSpans(src), [], 'no code in the entry');
});

test('package-private state: INTERNAL is not exported by the entry, no underscore back doors', async () => {
  assert.ok(!Object.values(entry).includes(INTERNAL) && !('INTERNAL' in entry));
  const heap = await entry.load(fileURLToPath(new URL('../dist/linalloc.wasm', import.meta.url)));
  const record = heap.createRecord(1, 2, 3);
  const underscored = (o) => {
    const names = new Set();
    for (let p = o; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) for (const n of Object.getOwnPropertyNames(p)) if (n.startsWith('_')) names.add(n);
    return [...names].sort();
  };
  // _malloc/_free are the public emscripten-style aliases (declared in js/linalloc.d.ts)
  assert.deepEqual(underscored(heap), ['_free', '_malloc']);
  assert.deepEqual(underscored(record), []);
  assert.deepEqual(Object.keys(heap).sort(), ['_free', '_malloc'], 'the private state is not enumerable');
  for (const f of files) {
    const src = readFileSync(JS + f, 'utf8');
    assert.doesNotMatch(src, /\._(regions|table|oom|fault|forget|track)\b/, `${f} uses an underscore back door`);
    assert.doesNotMatch(src, /allocExports/, `${f}: allocExports is gone`);
  }
  record.free();
});
