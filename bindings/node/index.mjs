// ES module entry: the same objects as the CommonJS entry (index.js).
import lifesign from './index.js';

export const { load, start, startFromEnv, check, judge, isAlive, waitReady, version, onLog, constants, LifesignError, ENV_BACKEND, ENV_LIB } =
  lifesign;
export default lifesign;
