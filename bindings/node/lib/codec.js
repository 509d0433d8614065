'use strict';

// Reads and writes the structs of abi.js in a Buffer, at the offsets the
// backend computed from the same table (koffi.offsetof, ref-struct-di), with
// plain Buffer reads: the same code for both backends, and much cheaper per
// call than either backend's generic struct decoding.

const os = require('os');
const abi = require('./abi');
const { parseDecl } = require('./cdecl');

const LE = os.endianness() === 'LE';
const TWO32 = 4294967296;

// 64-bit integers as numbers: exact up to 2^53, correctly rounded past it.
function readU64(buf, off) {
  const lo = LE ? buf.readUInt32LE(off) : buf.readUInt32BE(off + 4);
  const hi = LE ? buf.readUInt32LE(off + 4) : buf.readUInt32BE(off);
  return hi * TWO32 + lo;
}
function readI64(buf, off) {
  const lo = LE ? buf.readUInt32LE(off) : buf.readUInt32BE(off + 4);
  const hi = LE ? buf.readInt32LE(off + 4) : buf.readInt32BE(off);
  return hi * TWO32 + lo;
}

const READ = {
  int32_t: (buf, off) => (LE ? buf.readInt32LE(off) : buf.readInt32BE(off)),
  uint32_t: (buf, off) => (LE ? buf.readUInt32LE(off) : buf.readUInt32BE(off)),
  int64_t: readI64,
  uint64_t: readU64,
};
const WRITE = {
  int32_t: (buf, v, off) => (LE ? buf.writeInt32LE(v, off) : buf.writeInt32BE(v, off)),
  uint32_t: (buf, v, off) => (LE ? buf.writeUInt32LE(v, off) : buf.writeUInt32BE(v, off)),
  int64_t: (buf, v, off) => (LE ? buf.writeBigInt64LE(BigInt(v), off) : buf.writeBigInt64BE(BigInt(v), off)),
  uint64_t: (buf, v, off) => (LE ? buf.writeBigUInt64LE(BigInt(v), off) : buf.writeBigUInt64BE(BigInt(v), off)),
};

function makeCodec(structName, layout) {
  const size = layout.sizeOf(structName);
  const fields = abi.structs[structName].map((text) => {
    const d = parseDecl(text);
    const offset = layout.offsetOf(structName, d.name);
    if (d.length !== null) {
      if (d.base !== 'char') throw new Error(`no codec for the array member ${text}`);
      return { name: d.name, kind: 'text', offset, length: d.length };
    }
    if (d.pointers > 0 || !READ[d.base]) return { name: d.name, kind: 'opaque', offset };
    return { name: d.name, kind: 'int', offset, read: READ[d.base], write: WRITE[d.base] };
  });

  return {
    size,
    // A zeroed struct; a growth-safe one (first member `uint32_t size`)
    // carries its size, as lifesign_report_init/lifesign_options_init set it.
    alloc() {
      const buf = Buffer.alloc(size);
      if (fields.length && fields[0].name === 'size' && fields[0].offset === 0) fields[0].write(buf, size, 0);
      return buf;
    },
    // A plain object with every integer and text member; pointer members
    // (callbacks, user data) are left out.
    decode(buf) {
      const o = {};
      for (const f of fields) {
        if (f.kind === 'int') {
          o[f.name] = f.read(buf, f.offset);
        } else if (f.kind === 'text') {
          let end = buf.indexOf(0, f.offset);
          if (end < 0 || end > f.offset + f.length) end = f.offset + f.length;
          o[f.name] = buf.toString('utf8', f.offset, end);
        }
      }
      return o;
    },
    // Writes the integer members present in obj; leaves the rest as they are.
    encode(buf, obj) {
      for (const f of fields) {
        if (f.kind === 'int' && obj[f.name] !== undefined) f.write(buf, obj[f.name], f.offset);
      }
    },
  };
}

module.exports = { makeCodec, readU64, readI64 };
