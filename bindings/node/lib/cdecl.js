'use strict';

// A parser for the small subset of C used by the declarations in abi.js:
// `[const] BASE [*...] NAME[[N]]`, function prototypes and function-pointer
// typedefs. It exists so that backends which do not read C themselves
// (ffi-napi) are generated from the same text as the ones that do (koffi).

const IDENT = '[A-Za-z_][A-Za-z0-9_]*';
const DECL_RE = new RegExp(
  `^(const\\s+)?(${IDENT})\\s*((?:\\*\\s*(?:const\\s*)?)*)(${IDENT})?\\s*(?:\\[\\s*(\\d+)\\s*\\])?$`
);

function squash(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\s+/g, ' ').trim();
}

// Parses "const char *message" or "char message[256]" or "uint64_t" (no name).
function parseDecl(text) {
  const src = squash(text);
  const m = DECL_RE.exec(src);
  if (!m) throw new Error(`cannot parse the C declaration "${src}"`);
  return {
    isConst: Boolean(m[1]),
    base: m[2],
    pointers: (m[3].match(/\*/g) || []).length,
    name: m[4] || null,
    length: m[5] === undefined ? null : Number(m[5]),
  };
}

function splitParams(text) {
  const inner = squash(text);
  if (inner === '' || inner === 'void') return [];
  return inner.split(',').map((p) => parseDecl(p));
}

// Parses "int32_t lifesign_beat(lifesign_emitter *e)".
function parsePrototype(text) {
  const src = squash(text).replace(/;$/, '');
  const open = src.indexOf('(');
  if (open < 0 || !src.endsWith(')')) throw new Error(`cannot parse the C prototype "${src}"`);
  const head = parseDecl(src.slice(0, open));
  if (!head.name) throw new Error(`the C prototype "${src}" has no name`);
  return {
    name: head.name,
    ret: { isConst: head.isConst, base: head.base, pointers: head.pointers },
    params: splitParams(src.slice(open + 1, -1)),
    text: src,
  };
}

// Parses "void (*lifesign_error_fn)(void *user_data, int32_t code, const char *message)".
function parseCallback(text) {
  const src = squash(text).replace(/;$/, '');
  const m = new RegExp(`^(.*?)\\(\\s*\\*\\s*(${IDENT})\\s*\\)\\s*\\((.*)\\)$`).exec(src);
  if (!m) throw new Error(`cannot parse the C function-pointer typedef "${src}"`);
  const ret = parseDecl(m[1]);
  return {
    name: m[2],
    ret: { isConst: ret.isConst, base: ret.base, pointers: ret.pointers },
    params: splitParams(m[3]),
    // The same function written as a prototype, for FFIs that take one.
    prototype: `${m[1].trim()} ${m[2]}(${m[3].trim()})`,
  };
}

module.exports = { squash, parseDecl, parsePrototype, parseCallback };
