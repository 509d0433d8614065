'use strict';

// The ffi-napi backend: ffi-napi takes [returnType, [argTypes]] lists, so the
// C prototypes of abi.js are parsed (lib/cdecl.js) and translated here.

const abi = require('./abi');
const { parseDecl, parseCallback, parsePrototype } = require('./cdecl');
const { openFirst } = require('./locate');

const SCALARS = {
  void: 'void',
  char: 'char',
  int32_t: 'int32',
  uint32_t: 'uint32',
  int64_t: 'int64',
  uint64_t: 'uint64',
};

function requireModules() {
  try {
    const ffi = require('ffi-napi');
    const ref = require('ref-napi');
    const StructType = require('ref-struct-di')(ref);
    const ArrayType = require('ref-array-di')(ref);
    return { ffi, ref, StructType, ArrayType };
  } catch (cause) {
    const err = new Error(
      'the ffi-napi backend needs the packages ffi-napi, ref-napi, ref-struct-di and ref-array-di ' +
        '(on Node 20 and later install them with FFI_NAPI=1 in the environment or with --ignore-scripts): ' +
        cause.message
    );
    err.code = 'LIFESIGN_ERR_BACKEND_UNAVAILABLE';
    err.cause = cause;
    throw err;
  }
}

let mods = null;
let types = null;

function declareTypes() {
  if (types) return types;
  const { ref, StructType, ArrayType } = mods;
  const callbackNames = new Set(abi.callbacks.map((c) => parseCallback(c).name));
  const scalar = (d, where) => {
    if (d.pointers === 0 && callbackNames.has(d.base)) return 'pointer';
    if (d.pointers === 1 && d.base === 'char') return 'string';
    if (d.pointers > 0) return 'pointer';
    const s = SCALARS[d.base];
    if (!s) throw new Error(`no ffi-napi type for "${d.base}" in ${where}`);
    return s;
  };
  const structs = {};
  for (const [name, members] of Object.entries(abi.structs)) {
    const def = {};
    for (const text of members) {
      const d = parseDecl(text);
      if (d.length !== null) def[d.name] = ArrayType(ref.types[SCALARS[d.base]], d.length);
      else if (d.pointers > 0 || callbackNames.has(d.base)) def[d.name] = ref.refType(ref.types.void);
      else def[d.name] = ref.types[scalar(d, name)];
    }
    structs[name] = StructType(def);
  }
  const signatures = {};
  for (const text of abi.functions) {
    const p = parsePrototype(text);
    signatures[p.name] = [scalar(p.ret, p.name), p.params.map((d) => scalar(d, p.name))];
  }
  types = { structs, signatures };
  return types;
}

function create({ libPath } = {}) {
  if (!mods) mods = requireModules();
  const { ffi, ref } = mods;
  const t = declareTypes();
  const opened = openFirst(libPath, (p) => ffi.Library(p, t.signatures));
  const fn = opened.handle;

  return {
    name: 'ffi-napi',
    libPath: opened.path,
    fn,
    callAsync(name, args, cb) {
      fn[name].async(...args, cb);
    },
    sizeOf(structName) {
      return t.structs[structName].size;
    },
    offsetOf(structName, field) {
      return t.structs[structName].fields[field].offset;
    },
    newSlot() {
      return Buffer.alloc(8);
    },
    readPointer(buf) {
      const p = ref.readPointer(buf, 0, 0);
      return ref.isNull(p) ? null : p;
    },
  };
}

module.exports = { create };
