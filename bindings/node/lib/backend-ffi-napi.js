'use strict';

const { LifesignError } = require('./errors');

// The ffi-napi backend: ffi-napi takes [returnType, [argTypes]] lists and
// ref-struct-di types, translated here from the generated table (lib/abi.js).

const abi = require('./abi');
const { openFirst } = require('./locate');

const SCALARS = {
  void: 'void',
  char: 'char',
  bool: 'bool',
  int8_t: 'int8',
  uint8_t: 'uint8',
  int16_t: 'int16',
  uint16_t: 'uint16',
  int32_t: 'int32',
  uint32_t: 'uint32',
  int64_t: 'int64',
  uint64_t: 'uint64',
  int: 'int',
  'unsigned int': 'uint',
  size_t: 'size_t',
  ssize_t: 'int64',
  ptrdiff_t: 'int64',
  intptr_t: 'int64',
  uintptr_t: 'uint64',
  float: 'float',
  double: 'double',
};

function requireModules() {
  try {
    const ffi = require('ffi-napi');
    const ref = require('ref-napi');
    const StructType = require('ref-struct-di')(ref);
    const ArrayType = require('ref-array-di')(ref);
    return { ffi, ref, StructType, ArrayType };
  } catch (cause) {
    throw new LifesignError(
      'the ffi-napi backend needs the packages ffi-napi, ref-napi, ref-struct-di and ref-array-di ' +
        '(on Node 20 and later install them with FFI_NAPI=1 in the environment or with --ignore-scripts): ' +
        cause.message,
      { code: 'LIFESIGN_ERR_BACKEND_UNAVAILABLE', cause }
    );
  }
}

let mods = null;
let types = null;

// The ffi-napi name of a scalar, an argument or a result.
function scalar(t, where) {
  if (t.pointers === 1 && t.kind === 'scalar' && t.name === 'char') return 'string';
  if (t.pointers > 0 || t.kind === 'callback') return 'pointer';
  const s = t.kind === 'scalar' && SCALARS[t.name];
  if (!s) throw new Error(`no ffi-napi type for ${t.kind} ${t.name} in ${where}`);
  return s;
}

function declareTypes() {
  if (types) return types;
  const { ref, StructType, ArrayType } = mods;
  const structs = {};
  for (const [name, members] of Object.entries(abi.structs)) {
    const def = {};
    for (const { name: field, type: t } of members) {
      const where = `${name}.${field}`;
      if (t.length !== null) {
        if (t.pointers) throw new Error(`no ffi-napi type for an array of pointers in ${where}`);
        const elem = t.kind === 'struct' ? structs[t.name] : ref.types[scalar(t, where)];
        def[field] = ArrayType(elem, t.length);
      } else if (t.pointers > 0 || t.kind === 'callback') {
        def[field] = ref.refType(ref.types.void);
      } else if (t.kind === 'struct') {
        def[field] = structs[t.name];
      } else {
        def[field] = ref.types[scalar(t, where)];
      }
    }
    structs[name] = StructType(def);
  }
  const signatures = {};
  for (const [name, f] of Object.entries(abi.functions)) {
    signatures[name] = [scalar(f.result, name), f.params.map((p) => scalar(p.type, name))];
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
    // Writes a NUL-terminated copy of str at buf[offset] as a `const char *`;
    // the copy lives while the returned value does.
    writeCString(buf, offset, str) {
      const c = ref.allocCString(str);
      ref.writePointer(buf, offset, c);
      return c;
    },
  };
}

module.exports = { create };
