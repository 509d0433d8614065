'use strict';

// The thread that receives the library's log messages for lib/log.js.
//
// koffi runs a JS callback called from a foreign thread on the event loop
// of the thread that registered it, and the calling thread waits until it
// has run. Registered on the main thread, a message logged by an emitter's
// background thread (which holds that emitter's lock meanwhile) would wait
// for the main thread, which may itself be waiting for that lock in a
// synchronous call such as beat(): a deadlock. This worker's event loop does
// nothing but take each message and post it to the main thread, so the
// library's thread waits only for that hop, and the main thread receives
// the messages as ordinary events. It changes the log settings with async
// calls, so that its loop stays free to run a handler the change waits for.

const path = require('node:path');
const { parentPort, workerData } = require('node:worker_threads');
const koffi = require('koffi');
const abi = require('./abi');
const { create, declareTypes } = require('./backend-koffi');

// The file the main thread loaded; a bare name (found on the system library
// path) is searched for again the same way, since an explicit libPath is
// taken as a file.
const b = create({ libPath: path.isAbsolute(workerData.libPath) ? workerData.libPath : undefined });
const setHandler = b.fn.lifesign_set_log_handler;
const handlerType = declareTypes().typeOf(abi.functions.lifesign_set_log_handler.params[0].type);
// Registered once and kept until the worker ends (lib/log.js puts the
// library back to its default before that).
const handler = koffi.register((_userData, level, message) => {
  parentPort.postMessage({ record: { level, message } });
}, handlerType);

parentPort.on('message', ({ id, level }) => {
  setHandler.async(handler, null, level, (err, rc) => {
    parentPort.postMessage({ id, rc, error: err ? String(err.message || err) : null });
  });
});
parentPort.postMessage({ ready: true });
