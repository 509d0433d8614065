// The install round trip from an ES module: the package's named exports.
import { waitReady, check, load, version } from 'lifesign';
import helpers from './roundtrip.cjs';

helpers.run(helpers.roundTrip({ waitReady, check, load, version }, process.argv[2]));
