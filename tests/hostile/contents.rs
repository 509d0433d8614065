//! Hostile contents: files no writer of ours produces are invalid through every entry point and never crash the checker.

use super::*;

fn nested(open: &str, close: &str, depth: usize, inner: &str) -> Vec<u8> {
    let mut s = open.repeat(depth);
    s.push_str(inner);
    s.push_str(&close.repeat(depth));
    s.into_bytes()
}

fn with_field(extra: &str) -> Vec<u8> {
    format!(
        r#"{{"v":1,"pid":4242,"state":"ready","seq":1,"updated_at_ms":{},"host":"elsewhere.invalid"{extra}}}"#,
        now()
    )
    .into_bytes()
}

/// Files that are invalid whatever the clock or the machine.
fn invalid_contents() -> Vec<(String, Vec<u8>)> {
    let good = encode(&foreign_record(4242));
    let mut v: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), vec![]),
        ("whitespace".into(), b" \n\t ".to_vec()),
        ("null".into(), b"null".to_vec()),
        ("number".into(), b"42".to_vec()),
        ("string".into(), b"\"ready\"".to_vec()),
        ("array".into(), b"[1,2]".to_vec()),
        ("empty_object".into(), b"{}".to_vec()),
        ("nul_bytes".into(), vec![0; 512]),
        ("nul_after_json".into(), [good.clone(), vec![0]].concat()),
        ("raw_nul_in_string".into(), with_field(",\"message\":\"a\0b\"")),
        ("invalid_utf8".into(), with_field(",\"message\":\"\u{1}\"").iter().map(|&b| if b == 1 { 0xff } else { b }).collect()),
        ("overlong_utf8".into(), [b"{\"v\":1,\"pid\":1,\"state\":\"ready\",\"seq\":1,\"updated_at_ms\":1,\"message\":\"".to_vec(), vec![0xc0, 0xaf], b"\"}".to_vec()].concat()),
        ("surrogate_utf8".into(), [b"{\"v\":1,\"pid\":1,\"state\":\"ready\",\"seq\":1,\"updated_at_ms\":1,\"message\":\"".to_vec(), vec![0xed, 0xa0, 0x80], b"\"}".to_vec()].concat()),
        ("lone_surrogate_escape".into(), with_field(",\"message\":\"\\ud800\"")),
        ("bom".into(), [vec![0xef, 0xbb, 0xbf], good.clone()].concat()),
        ("two_objects".into(), [good.clone(), good.clone()].concat()),
        ("trailing_comma".into(), with_field(",")),
        ("deep_arrays".into(), nested("[", "]", 1_000_000, "")),
        ("deep_objects".into(), nested("{\"a\":", "}", 200_000, "1")),
        ("deep_inside_a_record".into(), with_field(&format!(",\"x\":{}", String::from_utf8(nested("[", "]", 200, "")).unwrap()))),
        ("unclosed_deep".into(), "[".repeat(60_000).into_bytes()),
        ("deep_objects_under_the_size_limit".into(), nested("{\"a\":", "}", 12_000, "1")),
        ("duplicate_pid".into(), with_field(",\"pid\":1")),
        ("duplicate_in_meta".into(), with_field(",\"meta\":{\"a\":\"x\",\"a\":\"y\"}")),
        ("duplicate_deep_in_unknown".into(), with_field(",\"x\":{\"y\":{\"z\":1,\"z\":2}}")),
    ];
    for k in [1, 2, good.len() / 2, good.len() - 1] {
        v.push((format!("truncated_at_{k}"), good[..k].to_vec()));
    }
    for (name, field, value) in [
        ("pid_zero", "pid", "0"),
        ("pid_minus_one", "pid", "-1"),
        ("pid_i32_min", "pid", "-2147483648"),
        ("pid_2_pow_31", "pid", "2147483648"),
        ("pid_u32_max", "pid", "4294967295"),
        ("pid_2_pow_32", "pid", "4294967296"),
        ("pid_float", "pid", "4242.0"),
        ("pid_exponent", "pid", "4.242e3"),
        ("pid_huge_float", "pid", "1e400"),
        ("pid_minus_zero", "pid", "-0"),
        ("pid_string", "pid", "\"4242\""),
        ("pid_null", "pid", "null"),
        ("pid_array", "pid", "[4242]"),
        ("seq_zero", "seq", "0"),
        ("seq_negative", "seq", "-1"),
        ("seq_2_pow_64", "seq", "18446744073709551616"),
        ("seq_float", "seq", "1.5"),
        ("v_zero", "v", "0"),
        ("v_string", "v", "\"1\""),
        ("v_bool", "v", "true"),
        ("v_float", "v", "1.0"),
        ("state_number", "state", "1"),
        ("state_upper", "state", "\"READY\""),
        ("state_null", "state", "null"),
        ("state_unknown", "state", "\"asleep\""),
        ("updated_negative", "updated_at_ms", "-1"),
        ("updated_float", "updated_at_ms", "1.5"),
        (
            "updated_huge",
            "updated_at_ms",
            "340282366920938463463374607431768211456",
        ),
    ] {
        let mut m = serde_json::from_slice::<serde_json::Map<String, Value>>(&good).unwrap();
        m.remove(field);
        let rest = serde_json::to_string(&m).unwrap();
        let body = format!("{{\"{field}\":{value},{}", &rest[1..]);
        v.push((name.into(), body.into_bytes()));
    }
    for (name, extra) in [
        ("boot_id_number", ",\"boot_id\":5"),
        ("message_number", ",\"message\":5"),
        ("message_null", ",\"message\":null"),
        ("meta_array", ",\"meta\":[]"),
        ("meta_nested", ",\"meta\":{\"a\":{\"b\":\"c\"}}"),
        ("meta_number", ",\"meta\":{\"a\":1}"),
        ("interval_negative", ",\"interval_ms\":-5"),
        ("interval_float", ",\"interval_ms\":0.5"),
        ("pid_start_string", ",\"pid_start\":\"7\""),
        ("progress_negative", ",\"progress\":-1"),
    ] {
        v.push((name.into(), with_field(extra)));
    }
    v
}

#[test]
fn hostile_contents_are_invalid_through_every_entry_point_and_never_crash() {
    let d = TempDir::new("contents");
    let cases = invalid_contents();
    for (name, bytes) in &cases {
        std::fs::write(d.path(name), bytes).unwrap();
    }
    #[allow(unused_mut)] // counted only with the C ABI (capi)
    let mut c_checked = 0;
    for (name, _) in &cases {
        let p = d.path(name);
        assert_invalid(&p, name);
        // The same through the C ABI: a verdict, not an error.
        {
            let cp = CString::new(p.as_os_str().as_bytes()).unwrap();
            let mut r = report();
            // SAFETY: a valid C string and a writable report.
            let rc = unsafe { ffi::lifesign_check(cp.as_ptr(), 0, 0, &mut r) };
            assert_eq!(
                (rc, r.verdict, r.state),
                (0, Verdict::Invalid.code(), -1),
                "{name}"
            );
            c_checked += 1;
        }
    }
    // And the reaper's view of the whole folder: one process, no crash.
    let out = Command::new(cli())
        .args(["scan", "--json"])
        .arg(d.dir())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Value = serde_json::from_slice(&out.stdout).expect("scan prints JSON");
    let text = listed.to_string();
    for (name, _) in &cases {
        assert!(text.contains(&format!("/{name}\"")), "scan skipped {name}");
    }
    assert!(
        !text.contains("\"alive\""),
        "scan called something alive: {text}"
    );
    figure(
        "hostile_contents",
        &[
            ("files", cases.len().to_string()),
            ("c_abi_checks", c_checked.to_string()),
            ("crashes", "0".into()),
        ],
    );
}

#[test]
fn odd_but_well_formed_contents_never_crash_the_checker() {
    // Valid or not by the rules, these must give a verdict and nothing else.
    let d = TempDir::new("odd");
    let long = "é".repeat(30_000); // 60,000 bytes: a foreign writer may exceed 4 KiB
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("nested_127_in_unknown", with_field(&format!(",\"x\":{}", String::from_utf8(nested("[", "]", 126, "")).unwrap()))),
        ("long_message", with_field(&format!(",\"message\":\"{long}\""))),
        ("escaped_nuls", with_field(&format!(",\"message\":\"{}\"", "\\u0000".repeat(5000)))),
        ("many_unknown_keys", with_field(&(0..3000).map(|i| format!(",\"k{i}\":{i}")).collect::<String>())),
        ("v_u64_max", format!(r#"{{"v":18446744073709551615,"pid":4242,"state":"ready","seq":1,"updated_at_ms":{}}}"#, now()).into_bytes()),
        ("max_everything", br#"{"v":1,"pid":2147483647,"state":"ready","seq":18446744073709551615,"updated_at_ms":18446744073709551615,"interval_ms":18446744073709551615,"stale_after_ms":18446744073709551615,"progress":18446744073709551615,"progress_at_ms":18446744073709551615,"pid_start":18446744073709551615,"pid_ns":18446744073709551615,"host":"elsewhere.invalid"}"#.to_vec()),
        ("zero_times", br#"{"v":1,"pid":4242,"state":"ready","seq":1,"updated_at_ms":0,"progress_at_ms":0,"host":"elsewhere.invalid"}"#.to_vec()),
        ("timestamp_far_future", br#"{"pid":4242,"timestamp":"9999-12-31T23:59:60.999999+23:59"}"#.to_vec()),
        ("timestamp_year_0", br#"{"pid":4242,"timestamp":"0000-01-01T00:00:00Z"}"#.to_vec()),
        ("camel_huge", br#"{"pid":4242,"status":"running","updatedAtMs":18446744073709551615}"#.to_vec()),
    ];
    for (name, bytes) in &cases {
        let p = d.path(name);
        std::fs::write(&p, bytes).unwrap();
        for stall in [None, Some(1), Some(u64::MAX)] {
            let opts = {
                let mut o = CheckOptions::default();
                o.max_age = Some(Duration::MAX);
                o.stall = stall.map(Duration::from_millis);
                o
            };
            let r = check(&p, &opts);
            assert!(r.message.len() <= MAX_FILE_BYTES as usize, "{name}");
            let _ = (r.verdict, r.age_ms, r.progress_age_ms);
        }
    }
}
