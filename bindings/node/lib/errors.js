'use strict';

// The error class of the package: every failed call, bad argument, wait
// that ends without a decision, and failure to load the library is a
// LifesignError, so that `err instanceof LifesignError` and `err.code` work
// for all of them (the library's LIFESIGN_ERR_* names, and
// LIFESIGN_ERR_LIBRARY_NOT_FOUND / LIFESIGN_ERR_BACKEND_UNAVAILABLE when
// loading). An aborted wait is a LifesignError named 'AbortError'.

const { constants: C } = require('./abi');

class LifesignError extends Error {
  // details: { code, rc, report, cause, name }
  constructor(message, details = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = details.name || 'LifesignError';
    this.code = details.code;
    if (details.rc !== undefined) this.rc = details.rc;
    if (details.report !== undefined) this.report = details.report;
  }
}

// A bad argument, refused before the library is called.
function argumentError(message) {
  return new LifesignError(message, { code: 'LIFESIGN_ERR_INVALID_ARGUMENT', rc: C.LIFESIGN_ERR_INVALID_ARGUMENT });
}

module.exports = { LifesignError, argumentError };
