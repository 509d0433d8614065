'use strict';

// The koffi backend: koffi reads the C prototypes of abi.js as they are.

const abi = require('./abi');
const { parseDecl, parseCallback, parsePrototype } = require('./cdecl');
const { openFirst } = require('./locate');

let koffi = null;
let types = null;

// koffi keeps one process-wide registry of named types, so they are declared
// once however many times the library is loaded.
function declareTypes() {
  if (types) return types;
  const callbackTypes = new Map();
  for (const text of abi.callbacks) {
    const cb = parseCallback(text);
    callbackTypes.set(cb.name, koffi.pointer(koffi.proto(cb.prototype)));
  }
  for (const name of abi.opaque) koffi.opaque(name);
  const structs = {};
  for (const [name, members] of Object.entries(abi.structs)) {
    const def = {};
    for (const text of members) {
      const d = parseDecl(text);
      let type;
      if (d.length !== null) type = koffi.array(d.base, d.length, d.base === 'char' ? 'String' : undefined);
      else if (d.pointers === 0 && callbackTypes.has(d.base)) type = callbackTypes.get(d.base);
      else type = `${d.isConst ? 'const ' : ''}${d.base}${d.pointers ? ' ' + '*'.repeat(d.pointers) : ''}`;
      def[d.name] = type;
    }
    structs[name] = koffi.struct(name, def);
  }
  types = { structs };
  return types;
}

function create({ libPath } = {}) {
  if (!koffi) koffi = require('koffi');
  const t = declareTypes();
  const opened = openFirst(libPath, (p) => koffi.load(p));
  const lib = opened.handle;

  // A callback typedef names a function type in koffi: a parameter of that
  // type is a pointer to it.
  const callbackNames = abi.callbacks.map((c) => parseCallback(c).name);
  const fn = {};
  for (const text of abi.functions) {
    let decl = text;
    for (const n of callbackNames) decl = decl.replace(new RegExp(`\\b${n}\\b(?!\\s*\\*)`, 'g'), `${n} *`);
    fn[parsePrototype(text).name] = lib.func(decl);
  }

  return {
    name: 'koffi',
    libPath: opened.path,
    fn,
    callAsync(name, args, cb) {
      fn[name].async(...args, cb);
    },
    sizeOf(structName) {
      return koffi.sizeof(t.structs[structName]);
    },
    offsetOf(structName, field) {
      return koffi.offsetof(t.structs[structName], field);
    },
    newSlot() {
      return Buffer.alloc(8);
    },
    readPointer(buf) {
      const p = koffi.decode(buf, 'void *');
      return p === null || p === 0n || p === 0 ? null : p;
    },
  };
}

module.exports = { create };
