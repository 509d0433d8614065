//! Reads abi/lifesign.map, the version script of liblifesign.so: shared by
//! capi/build.rs (which attaches each function to its node) and tests/exports.rs
//! (which checks the map against the header and the built library).

/// `(function, node)` for every name under `global:` in a version script,
/// in the order written.
pub fn symbol_nodes(script: &str) -> Vec<(String, String)> {
    let mut text = String::new();
    let mut rest = script;
    while let Some(start) = rest.find("/*") {
        text.push_str(&rest[..start]);
        let end = rest[start..]
            .find("*/")
            .expect("unterminated comment in abi/lifesign.map");
        rest = &rest[start + end + 2..];
    }
    text.push_str(rest);
    let text = text.replace('{', " { ").replace('}', " } ");
    let tokens: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ';')
        .filter(|t| !t.is_empty())
        .collect();
    let mut found = Vec::new();
    let (mut node, mut global) = (String::new(), false);
    for (i, &t) in tokens.iter().enumerate() {
        match t {
            "global:" => global = true,
            "local:" | "}" => global = false,
            "{" => {}
            _ if tokens.get(i + 1) == Some(&"{") => node = t.to_string(),
            _ if global => found.push((t.to_string(), node.clone())),
            _ => {}
        }
    }
    found
}
