'use strict';

// The koffi backend: koffi types built from the generated table (lib/abi.js).

const abi = require('./abi');
const { openFirst } = require('./locate');

let koffi = null;
let types = null;

// koffi keeps one process-wide registry of named types, so they are declared
// once however many times the library is loaded.
function declareTypes() {
  if (types) return types;
  if (!koffi) koffi = require('koffi');
  const named = new Map();
  for (const name of abi.opaque) named.set(name, koffi.opaque(name));

  const typeOf = (t) => {
    let base;
    if (t.kind === 'scalar') {
      if (t.pointers === 1 && t.name === 'char') return t.const ? 'const char *' : 'char *';
      base = t.name;
    } else {
      base = named.get(t.name);
      // A pointer to a struct that koffi does not know yet (in a callback's
      // parameters, or a struct pointing to itself) is passed as void *.
      if (!base && t.kind === 'struct' && t.pointers > 0) base = 'void';
      if (!base) throw new Error(`lib/abi.js: ${t.kind} ${t.name} is used before it is declared`);
    }
    if (t.length !== null) return koffi.array(base, t.length, t.name === 'char' ? 'String' : undefined);
    return t.pointers ? koffi.pointer(base, t.pointers) : base;
  };
  const proto = (f) => koffi.proto(null, typeOf(f.result), f.params.map((p) => typeOf(p.type)));

  // A C function-pointer typedef is a pointer to a koffi prototype.
  for (const [name, f] of Object.entries(abi.callbacks)) named.set(name, koffi.pointer(name, proto(f)));
  const structs = {};
  for (const [name, members] of Object.entries(abi.structs)) {
    const def = {};
    for (const m of members) def[m.name] = typeOf(m.type);
    structs[name] = koffi.struct(name, def);
    named.set(name, structs[name]);
  }
  types = { structs, typeOf };
  return types;
}

function create({ libPath } = {}) {
  if (!koffi) koffi = require('koffi');
  const t = declareTypes();
  const opened = openFirst(libPath, (p) => koffi.load(p));
  const lib = opened.handle;

  const fn = {};
  for (const [name, f] of Object.entries(abi.functions)) {
    fn[name] = lib.func(name, t.typeOf(f.result), f.params.map((p) => t.typeOf(p.type)));
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
    // Writes a NUL-terminated copy of str at buf[offset] as a `const char *`;
    // the copy lives while the returned value does.
    writeCString(buf, offset, str) {
      koffi.encode(buf, offset, 'const char *', str);
      return buf;
    },
  };
}

module.exports = { create, declareTypes };
