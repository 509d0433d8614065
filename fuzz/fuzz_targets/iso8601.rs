//! The ISO 8601 parser of the `timestamp` shape on any text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use lifesign::protocol::parse_iso8601_ms;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Some(ms) = parse_iso8601_ms(s) {
            // Years are four digits: nothing past 10000-01-01 plus a day.
            assert!(ms < 253_402_387_200_000, "{s:?} gave {ms}");
        }
    }
});
